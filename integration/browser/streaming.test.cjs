// WebRTC publish and play through the official WebSDK in Chromium (fake camera and mic):
// a second page plays what the first publishes, for H.264 and for VP8, and stopping,
// name conflicts and the REST listing behave as the WebSDK documents.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, launchBrowser, rest, waitFor, REST, WS } = require('./harness.cjs');

const PAGE = `${REST}/client2/examples/demo/streaming/two_way_streaming/two_way_streaming.html`;
const HELPERS = path.join(__dirname, 'sdk_helpers.js');

async function sdkPage(browser) {
  const page = await browser.newPage();
  await page.goto(PAGE);
  await page.addScriptTag({ path: HELPERS });
  return page;
}

// Checks that the player's <video> shows frames and that audio and video packets keep coming.
async function assertPlaying(page, streamId, expectedCodec) {
  await page.waitForFunction((id) => { const v = document.getElementById(id); return v && v.videoWidth > 0; }, streamId, { timeout: 15000 });
  const first = await page.evaluate(async (id) => ({ t: document.getElementById(id).currentTime, s: await fpTest.inbound(window.streams[id]) }), streamId);
  await page.waitForTimeout(3500);
  const later = await page.evaluate(async (id) => {
    const v = document.getElementById(id);
    return { t: v.currentTime, w: v.videoWidth, h: v.videoHeight, s: await fpTest.inbound(window.streams[id]) };
  }, streamId);
  assert.ok(later.t - first.t >= 3, `currentTime advanced ${first.t} -> ${later.t}`);
  assert.ok(later.w > 0 && later.h > 0, `video size ${later.w}x${later.h}`);
  assert.ok(later.s.videoPackets > first.s.videoPackets, `video packets ${first.s.videoPackets} -> ${later.s.videoPackets}`);
  assert.ok(later.s.audioPackets > first.s.audioPackets, `audio packets ${first.s.audioPackets} -> ${later.s.audioPackets}`);
  assert.match(String(later.s.videoCodec), new RegExp(expectedCodec, 'i'));
  const reports = await page.evaluate((id) => fpTest.senderReports(window.streams[id]), streamId);
  assert.ok(reports.audio >= 1 && reports.video >= 1, `sender reports taken for lip sync: ${JSON.stringify(reports)}`);
}

test('WebRTC streaming through the official WebSDK', async (t) => {
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });

  for (const [codec, strip] of [['H264', 'VP8,VP9,AV1'], ['VP8', 'H264,VP9,AV1']]) {
    await t.test(`${codec}: a second page plays what the first publishes`, async () => {
      const name = `cam-${codec}`;
      const publisher = await sdkPage(browser);
      const player = await sdkPage(browser);
      await publisher.evaluate(async ({ url, name, strip }) => {
        window.session = await fpTest.connect(url);
        window.published = await fpTest.publish(window.session, name, strip);
      }, { url: WS, name, strip });

      const streamId = await player.evaluate(async ({ url, name }) => {
        window.session = await fpTest.connect(url);
        const stream = await fpTest.play(window.session, name);
        window.streams = { [stream.id()]: stream };
        return stream.id();
      }, { url: WS, name });
      await assertPlaying(player, streamId, codec);

      const listed = (await rest('/rest-api/stream/find_all')).body;
      const pub = listed.find((s) => s.published);
      assert.equal(pub.name, name);
      assert.equal(pub.viewers, 1);
      assert.match(pub.videoCodec, new RegExp(`^${codec}/90000`));
      assert.ok(pub.bitrate > 50, `publisher bitrate ${pub.bitrate} kbps`);

      // A second publisher of a live name is refused with the documented info.
      const intruder = await player.evaluate(async (name) => {
        try { await fpTest.publish(window.session, name); return 'published'; } catch (e) { return e.message; }
      }, name);
      assert.equal(intruder, 'Stream name is already in use');

      await publisher.evaluate(() => window.published.stop());
      await player.waitForFunction((n) => (fpTest.statuses[n + ':play'] || []).some((s) => s.status === 'STOPPED'), name, { timeout: 10000 });
      const playerLog = await player.evaluate((n) => fpTest.statuses[n + ':play'], name);
      assert.deepEqual(playerLog.map((s) => s.status), ['PLAYING', 'STOPPED']);
      assert.equal(playerLog[1].info, 'Stopped by publisher stop');
      const publisherLog = await publisher.evaluate((n) => fpTest.statuses[n + ':publish'], name);
      assert.deepEqual(publisherLog.map((s) => s.status), ['PUBLISHING', 'UNPUBLISHED']);
      await waitFor('REST to drop the streams', async () => (await rest('/rest-api/stream/find_all')).body.length === 0);
      await publisher.close();
      await player.close();
    });
  }

  await t.test('the two-way streaming demo page publishes and plays back', async () => {
    const page = await browser.newPage();
    await page.goto(PAGE);
    await page.click('#connectBtn');
    await page.waitForFunction(() => document.querySelector('#connectStatus').textContent === 'ESTABLISHED');
    await page.click('#publishBtn');
    await page.waitForFunction(() => document.querySelector('#publishStatus').textContent === 'PUBLISHING', null, { timeout: 10000 });
    await page.click('#playBtn');
    await page.waitForFunction(() => document.querySelector('#playStatus').textContent === 'PLAYING', null, { timeout: 10000 });
    await page.waitForFunction(() => { const v = document.querySelector('#remoteVideo video'); return v && v.videoWidth > 0 && v.currentTime > 1; }, null, { timeout: 15000 });
    await page.click('#publishBtn');
    await page.waitForFunction(() => document.querySelector('#publishStatus').textContent === 'UNPUBLISHED', null, { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector('#playStatus').textContent === 'STOPPED', null, { timeout: 10000 });
    await page.close();
  });

  assert.deepEqual(browser.errors, [], 'no uncaught page errors');
});
