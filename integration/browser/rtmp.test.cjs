// RTMP republishing of what a browser publishes through the official WebSDK: to nginx-rtmp
// by REST /push/startup and by the webrtc-as-rtmp-republishing demo page (rtmpUrl on publish).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, startNginx, launchBrowser, rest, waitFor, probe, packetSpans, decodeErrors, REST, WS } = require('./harness.cjs');

const DEMO = `${REST}/client2/examples/demo`;
const HELPERS = path.join(__dirname, 'sdk_helpers.js');

test('RTMP republishing of a browser stream', async (t) => {
  const nginx = await startNginx();
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); await nginx.stop(); });

  await t.test('an H.264 publish pushed by REST arrives as H.264 + AAC and records cleanly', async () => {
    const page = await browser.newPage();
    await page.goto(`${DEMO}/streaming/two_way_streaming/two_way_streaming.html`);
    await page.addScriptTag({ path: HELPERS });
    await page.evaluate(async (url) => {
      window.session = await fpTest.connect(url);
      window.published = await fpTest.publish(window.session, 'chrome1', 'VP8,VP9,AV1');
    }, WS);
    const push = await rest('/rest-api/push/startup', { streamName: 'chrome1', rtmpUrl: 'rtmp://127.0.0.1:1935/live' });
    assert.equal(push.status, 200);
    assert.equal(push.body.streamName, 'rtmp_chrome1');
    const id = push.body.mediaSessionId;
    await waitFor('the push to publish', async () => {
      const found = await rest('/rest-api/push/find', { mediaSessionId: id });
      return found.status === 200 && found.body[0].status === 'PUBLISHING';
    }, 15000);
    const started = Date.now();
    const live = probe('rtmp://127.0.0.1:1935/live/rtmp_chrome1');
    const codecs = live.streams.map(s => s.codec_name).sort();
    assert.deepEqual(codecs, ['aac', 'h264']);
    const aac = live.streams.find(s => s.codec_type === 'audio');
    assert.equal(aac.channels, 1, "Chromium's microphone is mono, so is the AAC");
    await new Promise(r => setTimeout(r, 10000 - (Date.now() - started)));
    assert.equal((await rest('/rest-api/push/terminate', { mediaSessionId: id })).status, 200);
    const pushedFor = (Date.now() - started) / 1000;
    const file = await waitFor('the recording', async () => {
      const files = nginx.recordings('rtmp_chrome1');
      if (!files.length) return null;
      const info = probe(files[0]);
      return Number(info.format && info.format.duration) > 1 ? files[0] : null;
    }, 15000);
    assert.equal(decodeErrors(file), '', 'the recording decodes without errors');
    const recorded = probe(file);
    const duration = Number(recorded.format.duration);
    assert.ok(Math.abs(duration - pushedFor) <= pushedFor * 0.1, `recorded ${duration} s of ${pushedFor} s`);
    const { video, audio } = packetSpans(file);
    assert.ok(video[1] > pushedFor - 1.5 && audio[1] > pushedFor - 1.5, `both tracks to the end: ${video} ${audio}`);
    assert.ok(Math.abs(video[1] - audio[1]) < 0.3 && Math.abs(video[0] - audio[0]) < 1, `A/V in step: video ${video} audio ${audio}`);
    await page.evaluate(() => window.published.stop());
    await page.close();
  });

  await t.test('the webrtc-as-rtmp-republishing demo page republishes what it publishes', async () => {
    const page = await browser.newPage();
    await page.goto(`${DEMO}/streaming/webrtc-as-rtmp-republishing/webrtc-as-rtmp-republishing.html`);
    assert.equal(await page.inputValue('#rtmpUrl'), 'rtmp://localhost:1935/live');
    await page.fill('#streamName', 'demo1');
    await page.click('#publishBtn');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'PUBLISHING', null, { timeout: 15000 });
    await waitFor('the push of the demo page', async () => {
      const all = await rest('/rest-api/push/find_all');
      return all.status === 200 && all.body.some(p => p.streamName === 'rtmp_demo1' && p.status === 'PUBLISHING');
    }, 15000);
    const live = probe('rtmp://127.0.0.1:1935/live/rtmp_demo1');
    assert.deepEqual(live.streams.map(s => s.codec_name).sort(), ['aac', 'h264']);
    assert.match(await page.textContent('#player'), /rtmp:\/\/127\.0\.0\.1:1935\/live\/rtmp_demo1/);
    await page.click('#publishBtn');
    await page.waitForFunction(() => document.querySelector('#status').textContent === 'UNPUBLISHED', null, { timeout: 10000 });
    await waitFor('the push to end with its stream', async () => (await rest('/rest-api/push/find_all')).status === 404);
    await page.close();
  });

  assert.deepEqual(browser.errors, [], 'no uncaught page errors');
});
