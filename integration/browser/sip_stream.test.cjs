// SIP as stream (seed 001): REST /call/startup with toStream calls a sipp phone, and a page
// with the official WebSDK plays the call's stream: audio packets rise, the tone is heard, and
// /call/terminate stops the player.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startServer, launchBrowser, rest, waitFor, REST, WS } = require('./harness.cjs');
const { startSipp } = require('./sip_peers.cjs');

const PAGE = `${REST}/client2/examples/demo/streaming/two_way_streaming/two_way_streaming.html`;
const HELPERS = path.join(__dirname, 'sdk_helpers.js');

test('a SIP call captured as a stream plays in the browser', async (t) => {
  const server = await startServer();
  const phone = startSipp('uas_talks.xml', { sipPort: 5090, mediaPort: 6050 });
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await phone.stop(); await server.stop(); });

  const startup = await rest('/rest-api/call/startup', {
    callId: 'browser-call-1', callee: '10005', toStream: 'call_stream1', hasAudio: 'true', hasVideo: 'false',
    sipLogin: '10006', sipAuthenticationName: '10006', sipPassword: 'secret', sipDomain: '127.0.0.1',
    sipOutboundProxy: '127.0.0.1', sipPort: '5090', appKey: 'defaultApp', sipRegisterRequired: 'false',
  });
  assert.equal(startup.status, 200);
  await waitFor('the call to be established', async () => {
    const found = await rest('/rest-api/call/find', { callId: 'browser-call-1' });
    return found.status === 200 && found.body[0].status === 'ESTABLISHED';
  });

  const page = await browser.newPage();
  await page.goto(PAGE);
  await page.addScriptTag({ path: HELPERS });
  await page.evaluate(async (url) => {
    window.session = await fpTest.connect(url);
    window.played = await fpTest.play(window.session, 'call_stream1');
  }, WS);
  const inbound = () => page.evaluate(() => new Promise(resolve => window.played.getStats(stats => {
    const audio = stats.inboundStream.audio || {};
    resolve({ packets: audio.packetsReceived || 0, level: audio.audioLevel || 0 });
  })));
  await new Promise(r => setTimeout(r, 1000));
  const before = await inbound();
  await new Promise(r => setTimeout(r, 2000));
  const after = await inbound();
  assert.ok(after.packets - before.packets > 50, `audio packets rise: ${JSON.stringify([before, after])}`);
  assert.ok(after.level > 0.01, `and carry the phone's tone: ${JSON.stringify(after)}`);

  assert.equal((await rest('/rest-api/call/terminate', { callId: 'browser-call-1' })).status, 200);
  await page.waitForFunction(() => (fpTest.statuses['call_stream1:play'] || []).some(s => s.status === 'STOPPED'), null, { timeout: 10000 });
  assert.equal(await phone.result(), 0, `the phone got its BYE: ${phone.errors()}`);
  assert.deepEqual(browser.errors, [], 'no uncaught page errors');
});
