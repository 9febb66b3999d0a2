// The official WebSDK in Chromium against the real server: sessions reach ESTABLISHED,
// REST lists them, and disconnecting removes them.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, launchBrowser, rest, waitFor, REST, WS } = require('./harness.cjs');

const DEMO = `${REST}/client2/examples/demo/streaming/two_way_streaming/two_way_streaming.html`;

test('browser sessions through the official WebSDK', async (t) => {
  const server = await startServer();
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await server.stop(); });

  await t.test('the two-way streaming demo page connects and disconnects', async () => {
    const page = await browser.newPage();
    await page.goto(DEMO);
    assert.equal(await page.inputValue('#urlServer'), WS, 'the page defaults to ws://<host>:8080');
    await page.click('#connectBtn');
    await page.waitForFunction(() => document.querySelector('#connectStatus').textContent === 'ESTABLISHED', null, { timeout: 10000 });

    const listed = await rest('/rest-api/connection/find_all');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.length, 1);
    assert.equal(listed.body[0].clientVersion, '2.0');
    assert.equal(listed.body[0].status, 'ESTABLISHED');
    assert.match(listed.body[0].clientBrowserVersion, /Chrome/);
    assert.deepEqual(listed.body[0].mediaProviders.slice(0, 1), ['WebRTC']);

    await page.click('#connectBtn');
    await page.waitForFunction(() => document.querySelector('#connectStatus').textContent === 'DISCONNECTED', null, { timeout: 10000 });
    await waitFor('the session to leave the REST listing', async () => (await rest('/rest-api/connection/find_all')).body.length === 0);
    await page.close();
  });

  await t.test('createSession, sendData and disconnect through the API', async () => {
    const page = await browser.newPage();
    await page.goto(DEMO);
    const result = await page.evaluate(async (url) => {
      const S = Flashphoner.constants.SESSION_STATUS;
      const events = [];
      const session = await new Promise((resolve, reject) => {
        Flashphoner.createSession({ urlServer: url, custom: { who: 'browser-test' } })
          .on(S.ESTABLISHED, s => { events.push(S.ESTABLISHED); resolve(s); })
          .on(S.FAILED, () => reject(new Error('FAILED')))
          .on(S.WARN, w => events.push('WARN ' + JSON.stringify(w)));
      });
      window.testSession = session;
      const ack = await session.sendData({ hello: 'server' });
      return { events, ack };
    }, WS);
    assert.deepEqual(result.events, ['ESTABLISHED']);
    assert.equal(result.ack.status, 'ACCEPTED');

    const listed = await rest('/rest-api/connection/find', { clientVersion: '2.0' });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.map(s => s.custom), [{ who: 'browser-test' }]);

    const status = await page.evaluate(() => new Promise(resolve => {
      window.testSession.on(Flashphoner.constants.SESSION_STATUS.DISCONNECTED, () => resolve('DISCONNECTED'));
      window.testSession.disconnect();
    }));
    assert.equal(status, 'DISCONNECTED');
    await waitFor('the listing to drop the session', async () => (await rest('/rest-api/connection/find_all')).body.length === 0);
    await page.close();
  });

  assert.deepEqual(browser.errors, [], 'no uncaught page errors');
});
