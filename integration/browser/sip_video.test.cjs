// The browser as a video phone: the official WebSDK's phone-video demo page calls a sipp
// video phone straight (no registrar), and answers one that calls it. H.264 passes through
// both ways: the page shows the phone's camera, and the phone's screen (ffmpeg) decodes the
// page's fake camera.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, launchBrowser, decodeErrors, REST } = require('./harness.cjs');
const { startSipp } = require('./sip_peers.cjs');
const { makeVideoPcap, startVideoScreen } = require('./video_phone.cjs');

const PHONE_VIDEO = `${REST}/client2/examples/demo/sip/phone-video/phone-video.html`;
const SECOND = 1000;

/** Pictures ffprobe decodes from a raw H.264 file, and their size. */
function decodedPictures(file) {
  const out = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'json', file]).stdout.toString();
  const stream = (JSON.parse(out || '{}').streams || [])[0] || {};
  return { pictures: Number(stream.nb_read_frames || 0), width: stream.width || 0, height: stream.height || 0 };
}

test('the phone-video demo page talks H.264 with a video phone', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'video-phone-'));
  const camera = path.join(dir, 'camera.pcap');
  // 176x144, so that the phone's picture is told from the page's (320x240 asked).
  await makeVideoPcap(camera, { seconds: 10, width: 176, height: 144 });
  const server = await startServer();
  const browser = await launchBrowser();
  const screen = startVideoScreen(6104);
  const phone = startSipp('uas_video.xml', { sipPort: 5090, mediaPort: 6100, replace: { '@VIDEO_PCAP@': camera, '[media_port+2]': '6104' } });
  t.after(async () => {
    await browser.close(); await phone.stop(); await screen.stop(); await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const page = await browser.newPage();
  await page.goto(PHONE_VIDEO);
  await page.waitForSelector('#connectBtn:not([disabled])');
  await page.fill('#sipLogin', '1001');
  await page.fill('#sipAuthenticationName', '1001');
  await page.fill('#sipPassword', 'secret');
  await page.fill('#sipDomain', '127.0.0.1');
  await page.fill('#sipOutboundProxy', '127.0.0.1');
  await page.fill('#sipPort', '5090');
  await page.uncheck('#sipRegisterRequired');
  await page.click('#connectBtn');
  await page.fill('#callee', 'phone');
  await page.waitForSelector('#callBtn:not([disabled])');
  await page.click('#callBtn');
  await page.waitForFunction(() => document.querySelector('#callStatus').textContent === 'ESTABLISHED', null, { timeout: 15 * SECOND });

  // The page shows the phone's camera, and it moves.
  await page.waitForFunction(() => {
    const video = document.querySelector('#remoteVideo video');
    return video && video.videoWidth === 176 && video.currentTime > 0;
  }, null, { timeout: 10 * SECOND });
  const inbound = () => page.evaluate(() => new Promise(resolve => currentCall.getStats(stats => {
    resolve({ time: document.querySelector('#remoteVideo video').currentTime, packets: (stats.inboundStream.video || {}).packetsReceived || 0 });
  })));
  const before = await inbound();
  await new Promise(r => setTimeout(r, 3 * SECOND));
  const after = await inbound();
  assert.ok(after.time - before.time > 2, `the phone's picture plays: ${JSON.stringify([before, after])}`);
  assert.ok(after.packets > before.packets, `video packets keep coming: ${JSON.stringify([before, after])}`);

  await page.click('#callBtn'); // now "Hangup"
  await page.waitForFunction(() => document.querySelector('#callStatus').textContent === 'FINISH', null, { timeout: 5 * SECOND });
  assert.equal(await phone.result(), 0, `the phone was offered H.264 and got its BYE: ${phone.errors()}`);

  // The phone's screen got the page's camera until the server's RTCP BYE.
  assert.ok(await screen.ended(5 * SECOND), 'the phone is told the video ended');
  const seen = decodedPictures(screen.file);
  assert.ok(seen.width > 0 && seen.pictures >= 30, `the page's camera reached the phone: ${JSON.stringify(seen)}`);
  assert.equal(decodeErrors(screen.file), '', 'and decodes cleanly');
});

test('the phone-video demo page answers a video call', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'video-caller-'));
  const camera = path.join(dir, 'camera.pcap');
  await makeVideoPcap(camera, { seconds: 10, width: 176, height: 144 });
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

  const page = await browser.newPage();
  await page.goto(PHONE_VIDEO);
  await page.waitForSelector('#connectBtn:not([disabled])');
  for (const [field, value] of Object.entries({ sipLogin: '1001', sipAuthenticationName: '1001', sipPassword: 'secret',
    sipDomain: '127.0.0.1', sipOutboundProxy: '127.0.0.1', sipPort: '5060' })) {
    await page.fill(`#${field}`, value);
  }
  await page.uncheck('#sipRegisterRequired');
  await page.click('#connectBtn');
  await page.waitForFunction(() => document.querySelector('#regStatus').textContent === 'ESTABLISHED', null, { timeout: 10 * SECOND });

  const caller = startSipp('uac_video.xml', { remote: '127.0.0.1:5060', sipPort: 5096, mediaPort: 6300,
    args: ['-s', '1001', '-d', '8000'], replace: { '@VIDEO_PCAP@': camera } });
  t.after(() => caller.stop());
  await page.click('#answerBtn:not([disabled])', { timeout: 10 * SECOND });
  await page.waitForFunction(() => {
    const video = document.querySelector('#remoteVideo video');
    return video && video.videoWidth === 176 && video.currentTime > 1;
  }, null, { timeout: 10 * SECOND });
  // The caller hangs up after its 8 s; its 200 OK carried our video answer.
  assert.equal(await caller.result(), 0, `the caller's video was answered: ${caller.errors()}`);
});
