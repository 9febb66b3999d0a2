// The browser as a SIP phone: the official WebSDK's phone demo page registers 1001 at Kamailio
// with a separate authentication name, calls a sipp phone registered as 1002, answers a call
// from it, and sees a caller give up.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, launchBrowser, REST } = require('./harness.cjs');
const { startKamailio, startSipp, countRtpTo } = require('./sip_peers.cjs');

const PHONE = `${REST}/client2/examples/demo/sip/phone/phone.html`;
const KAMAILIO = 5070;
const SECOND = 1000;

test('the phone demo page as a SIP phone', async (t) => {
  const server = await startServer();
  const kamailio = await startKamailio({ alice: 'alicepw', 1002: 'secret1002' }, KAMAILIO, 5060);
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await kamailio.stop(); await server.stop(); });

  const page = await browser.newPage();
  await page.goto(PHONE);
  await page.waitForSelector('#connectBtn:not([disabled])');
  // Every status the page shows for a call, in order.
  await page.evaluate(() => {
    window.callStatuses = [];
    new MutationObserver(() => window.callStatuses.push(document.querySelector('#callStatus').textContent))
      .observe(document.querySelector('#callStatus'), { childList: true, characterData: true, subtree: true });
  });
  const statuses = () => page.evaluate(() => window.callStatuses.filter(Boolean));
  const waitStatus = (status, timeout = 15 * SECOND) =>
    page.waitForFunction((s) => document.querySelector('#callStatus').textContent === s, status, { timeout });
  /** How wide the browser's Opus of the latest call reached the server, from the server's log. */
  const browserAudioArrives = () => {
    const lines = server.log().replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter(line => line.includes("the browser's audio arrives"));
    return lines[lines.length - 1] || '(not in the log)';
  };
  const assertNarrowband = () => {
    const arrives = browserAudioArrives();
    assert.match(arrives, /bandwidth="?narrowband/, `the browser's Opus is narrowband: ${arrives}`);
  };
  /** Inbound audio of the current call from the SDK's getStats. */
  const inboundAudio = () => page.evaluate(() => new Promise(resolve => currentCall.getStats(stats => {
    const audio = stats.inboundStream.audio || {};
    resolve({ packets: audio.packetsReceived || 0, level: audio.audioLevel || 0 });
  })));

  await t.test('registers 1001 with the authentication name alice', async () => {
    await page.fill('#sipLogin', '1001');
    await page.fill('#sipAuthenticationName', 'alice');
    await page.fill('#sipPassword', 'alicepw');
    await page.fill('#sipDomain', '127.0.0.1');
    await page.fill('#sipOutboundProxy', '127.0.0.1');
    await page.fill('#sipPort', String(KAMAILIO));
    await page.check('#sipRegisterRequired');
    await page.click('#connectBtn');
    await page.waitForFunction(() => document.querySelector('#regStatus').textContent === 'REGISTERED', null, { timeout: 10 * SECOND });
  });

  await t.test('calls 1002: ring, talk with PCMU reaching the phone and its echo heard, hangup sends BYE', async () => {
    const callee = startSipp('uas_answer.xml', { sipPort: 5080, mediaPort: 6000, args: ['-rtp_echo'] });
    const registering = startSipp('register.xml', { remote: `127.0.0.1:${KAMAILIO}`, sipPort: 5082, mediaPort: 6010,
      args: ['-s', '1002', '-au', '1002', '-ap', 'secret1002', '-key', 'expires', '600', '-key', 'contact_port', '5080'] });
    const rtp = countRtpTo(6000);
    t.after(async () => { await callee.stop(); await registering.stop(); await rtp.stop(); });
    assert.equal(await registering.result(), 0, registering.errors());
    await rtp.ready();

    await page.fill('#callee', '1002');
    await page.click('#callBtn');
    await waitStatus('ESTABLISHED');
    const before = await inboundAudio();
    await new Promise(r => setTimeout(r, 3 * SECOND));
    const after = await inboundAudio();
    assert.ok(after.packets - before.packets > 100, `the phone's echo arrives: ${JSON.stringify([before, after])}`);
    const sent = rtp.counts();
    assert.ok(sent['0'] > 100 && Object.keys(sent).every(pt => pt === '0' || pt === '101'), `the phone gets PCMU: ${JSON.stringify(sent)}`);
    // Our answer waited for the phone's, and told the browser its audio goes out at 8 kHz
    // (maxplaybackrate): its Opus is no wider.
    assertNarrowband();

    await page.click('#callBtn'); // now "Hangup"
    await waitStatus('FINISH');
    assert.equal(await callee.result(), 0, `the phone got its BYE: ${callee.errors()}`);
    const seen = await statuses();
    assert.ok(seen.indexOf('RING') >= 0 && seen.indexOf('RING') < seen.indexOf('ESTABLISHED'), `RING then ESTABLISHED: ${seen}`);
  });

  await t.test('1002 calls 1001 through Kamailio: the page answers, audio flows both ways, the caller hangs up', async () => {
    await page.evaluate(() => { window.callStatuses = []; });
    const caller = startSipp('uac_call_auth.xml', { remote: `127.0.0.1:${KAMAILIO}`, sipPort: 5084, mediaPort: 6020,
      args: ['-s', '1001', '-key', 'caller', '1002', '-au', '1002', '-ap', 'secret1002', '-d', '8000'] });
    const rtp = countRtpTo(6020);
    t.after(async () => { await caller.stop(); await rtp.stop(); });
    await rtp.ready();
    await page.waitForSelector('#incomingCallAlert:has-text("1002")', { timeout: 10 * SECOND });
    await page.click('#answerBtn');
    await waitStatus('ESTABLISHED');
    await new Promise(r => setTimeout(r, 1 * SECOND));
    const before = await inboundAudio();
    await new Promise(r => setTimeout(r, 2 * SECOND));
    const after = await inboundAudio();
    assert.ok(after.packets - before.packets > 50 && after.level > 0.01, `the caller's tone is heard: ${JSON.stringify([before, after])}`);
    assert.ok(rtp.counts()['0'] > 50, `the caller gets PCMU: ${JSON.stringify(rtp.counts())}`);
    // Our offer told the browser the call's audio is 8 kHz (maxplaybackrate): its Opus is no wider.
    assertNarrowband();
    await waitStatus('FINISH');
    assert.equal(await caller.result(), 0, caller.errors());
    assert.deepEqual((await statuses()).slice(0, 2), ['RING', 'ESTABLISHED']);
  });

  await t.test('a caller who cancels before the answer ends the call as FINISH', async () => {
    await page.evaluate(() => { window.callStatuses = []; });
    const caller = startSipp('uac_cancel.xml', { remote: '127.0.0.1:5060', sipPort: 5086, mediaPort: 6030, args: ['-s', '1001'] });
    t.after(() => caller.stop());
    await page.waitForSelector('#incomingCallAlert:has-text("2002")', { timeout: 10 * SECOND });
    await waitStatus('FINISH');
    assert.equal(await caller.result(), 0, caller.errors());
    assert.ok(await page.isVisible('#callBtn'), 'the page is back to placing calls');
  });

  assert.deepEqual(browser.errors, [], 'no uncaught page errors');
});
