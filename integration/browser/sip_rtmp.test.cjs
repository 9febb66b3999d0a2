// SIP as RTMP through the official WebSDK's sip-as-rtmp-2 demo page: its REST `/call/startup`
// (toStream, hasVideo) calls a sipp video phone, its Start button pushes the call's stream to
// nginx-rtmp, and what arrives there is the phone's H.264 picture with its sound as AAC.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, startNginx, launchBrowser, waitFor, probe, decodeErrors, meanVolume, REST } = require('./harness.cjs');
const { startSipp } = require('./sip_peers.cjs');
const { makeVideoPcap } = require('./video_phone.cjs');

const PAGE = `${REST}/client2/examples/demo/sip/sip-as-rtmp-2/sip-as-rtmp-2.html`;
const SECOND = 1000;

test('the sip-as-rtmp-2 demo page pushes a video call to an RTMP server', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sip-rtmp-'));
  const camera = path.join(dir, 'camera.pcap');
  await makeVideoPcap(camera, { seconds: 15, width: 176, height: 144 });
  const nginx = await startNginx();
  const server = await startServer();
  const browser = await launchBrowser();
  const phone = startSipp('uas_video.xml', { sipPort: 5094, mediaPort: 6200, replace: { '@VIDEO_PCAP@': camera } });
  t.after(async () => {
    await browser.close(); await phone.stop(); await server.stop(); await nginx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const page = await browser.newPage();
  await page.goto(PAGE);
  for (const [field, value] of Object.entries({ sipLogin: '10006', sipAuthenticationName: '10006', sipPassword: 'secret',
    sipDomain: '127.0.0.1', sipOutboundProxy: '127.0.0.1', sipPort: '5094', callee: 'phone',
    rtmpUrl: 'rtmp://127.0.0.1:1935/live', rtmpStream: 'sip_cam' })) {
    await page.fill(`#${field}`, value);
  }
  await page.check('#hasAudio');
  await page.check('#hasVideo');
  await page.click('#callBtn');
  await page.waitForFunction(() => document.querySelector('#callStatus').textContent === 'ESTABLISHED', null, { timeout: 15 * SECOND });

  await page.click('#startRtmp:not([disabled])');
  await page.waitForFunction(() => document.querySelector('#startRtmp').textContent === 'Stop', null, { timeout: 10 * SECOND });
  const started = Date.now();
  const live = probe('rtmp://127.0.0.1:1935/live/rtmp_sip_cam');
  const video = live.streams.find(s => s.codec_type === 'video');
  const audio = live.streams.find(s => s.codec_type === 'audio');
  assert.deepEqual([video && video.codec_name, video && video.width, video && video.height], ['h264', 176, 144], JSON.stringify(live.streams));
  assert.equal(audio && audio.codec_name, 'aac', JSON.stringify(live.streams));

  await new Promise(r => setTimeout(r, Math.max(0, 6 * SECOND - (Date.now() - started))));
  await page.click('#startRtmp'); // now "Stop": /push/terminate
  await page.waitForFunction(() => document.querySelector('#startRtmp').textContent === 'Start', null, { timeout: 10 * SECOND });
  await page.click('#callBtn'); // now "Hangup": /call/terminate
  assert.equal(await phone.result(), 0, `the phone was offered H.264 and got its BYE: ${phone.errors()}`);

  const file = await waitFor('nginx to finish its recording', () => {
    const files = nginx.recordings('rtmp_sip_cam');
    return files.length && Number(probe(files[0]).format.duration) > 3 ? files[0] : null;
  }, 15 * SECOND);
  assert.equal(decodeErrors(file), '', 'the pushed call decodes cleanly');
  const volume = meanVolume(file);
  assert.ok(volume > -30, `the phone's tone is in the AAC: ${volume} dB`);
});
