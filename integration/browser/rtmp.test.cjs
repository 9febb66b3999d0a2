// RTMP republishing of what a browser publishes through the official WebSDK: to nginx-rtmp
// by REST /push/startup and by the webrtc-as-rtmp-republishing demo page (rtmpUrl on publish).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, startNginx, launchBrowser, rest, waitFor, probe, packetSpans, decodeErrors, meanVolume, REST, WS } = require('./harness.cjs');

const DEMO = `${REST}/client2/examples/demo`;
const HELPERS = path.join(__dirname, 'sdk_helpers.js');

test('RTMP republishing of a browser stream', async (t) => {
  const nginx = await startNginx();
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); await nginx.stop(); });

  /** A page of its own publishing `name` through the SDK, with `stripCodecs`. */
  async function publishInPage(name, stripCodecs) {
    const page = await browser.newPage();
    await page.goto(`${DEMO}/streaming/two_way_streaming/two_way_streaming.html`);
    await page.addScriptTag({ path: HELPERS });
    await page.evaluate(async ([url, name, stripCodecs]) => {
      window.session = await fpTest.connect(url);
      window.published = await fpTest.publish(window.session, name, stripCodecs);
    }, [WS, name, stripCodecs]);
    return page;
  }

  /** Pushes `name` to nginx by REST; resolves with the push once nginx takes it. */
  async function pushToNginx(name) {
    const push = await rest('/rest-api/push/startup', { streamName: name, rtmpUrl: 'rtmp://127.0.0.1:1935/live' });
    assert.equal(push.status, 200);
    assert.equal(push.body.streamName, `rtmp_${name}`);
    const id = push.body.mediaSessionId;
    await waitFor('the push to publish', async () => {
      const found = await rest('/rest-api/push/find', { mediaSessionId: id });
      return found.status === 200 && found.body[0].status === 'PUBLISHING';
    }, 15000);
    return id;
  }

  /** The finished recording nginx made of `name`. */
  function recordingOf(name) {
    return waitFor('the recording', async () => {
      const files = nginx.recordings(name);
      return files.length && Number(probe(files[0]).format.duration) > 1 ? files[0] : null;
    }, 15000);
  }

  await t.test('an H.264 publish pushed by REST arrives as H.264 + AAC and records cleanly', async () => {
    const page = await publishInPage('chrome1', 'VP8,VP9,AV1');
    const id = await pushToNginx('chrome1');
    const started = Date.now();
    const live = probe('rtmp://127.0.0.1:1935/live/rtmp_chrome1');
    const codecs = live.streams.map(s => s.codec_name).sort();
    assert.deepEqual(codecs, ['aac', 'h264']);
    const aac = live.streams.find(s => s.codec_type === 'audio');
    assert.equal(aac.channels, 1, "Chromium's microphone is mono, so is the AAC");
    await new Promise(r => setTimeout(r, 10000 - (Date.now() - started)));
    assert.equal((await rest('/rest-api/push/terminate', { mediaSessionId: id })).status, 200);
    const pushedFor = (Date.now() - started) / 1000;
    const file = await recordingOf('rtmp_chrome1');
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

  await t.test('a G.711 publish (Opus stripped) is pushed as mono AAC that carries its sound', async () => {
    const page = await publishInPage('phone1', 'VP8,VP9,AV1,opus,red,G722,PCMA');
    const streams = await rest('/rest-api/stream/find', { name: 'phone1' });
    assert.equal(streams.body[0].audioCodec, 'PCMU/8000');
    const id = await pushToNginx('phone1');
    const started = Date.now();
    const aac = probe('rtmp://127.0.0.1:1935/live/rtmp_phone1').streams.find(s => s.codec_type === 'audio');
    assert.equal(aac && aac.codec_name, 'aac');
    assert.equal(aac.channels, 1);
    await new Promise(r => setTimeout(r, 6000 - (Date.now() - started)));
    assert.equal((await rest('/rest-api/push/terminate', { mediaSessionId: id })).status, 200);
    const file = await recordingOf('rtmp_phone1');
    assert.equal(decodeErrors(file), '', 'the recording decodes without errors');
    const { video, audio } = packetSpans(file);
    assert.ok(Math.abs(video[1] - audio[1]) < 0.3, `A/V in step: video ${video} audio ${audio}`);
    const volume = meanVolume(file);
    assert.ok(volume > -50, `Chromium's beeps are heard, mean volume ${volume} dB`);
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
