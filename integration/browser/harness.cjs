// Shared by the browser tests: start the real ferrophone binary and Debian's Chromium.
// Tests run inside a private network namespace (scripts/browser-tests.sh), so the server
// listens on its default ports and 127.0.0.1 is the only address there is.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '../..');
const BIN = process.env.FERROPHONE_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'debug/ferrophone');
const REST = 'http://127.0.0.1:8081';
const WS = 'ws://127.0.0.1:8080';

/** Starts ferrophone on its embedded default config (plus `--set` pairs); resolves once it listens. */
async function startServer(settings = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrophone-browser-'));
  const ready = path.join(dir, 'ready.json');
  const args = ['--ready-file', ready];
  for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`);
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const proc = spawn(BIN, args, { stdio: ['ignore', log, log] });
  const deadline = Date.now() + 20000;
  while (!fs.existsSync(ready)) {
    if (proc.exitCode !== null) throw new Error(`ferrophone exited: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
    if (Date.now() > deadline) throw new Error('ferrophone did not start in 20 s');
    await new Promise(r => setTimeout(r, 50));
  }
  return {
    proc,
    log: () => fs.readFileSync(path.join(dir, 'server.log'), 'utf8'),
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise(r => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium with a fake camera and microphone; never a downloaded browser. */
async function launchBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection'],
  });
  const errors = [];
  context.on('page', page => page.on('pageerror', e => errors.push(String(e))));
  return {
    context,
    errors,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', e => errors.push(String(e)));
      return page;
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function rest(pathname, body) {
  const response = await fetch(REST + pathname, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Polls `probe` until it returns a truthy value. */
async function waitFor(what, probe, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

module.exports = { startServer, launchBrowser, rest, waitFor, REST, WS };
