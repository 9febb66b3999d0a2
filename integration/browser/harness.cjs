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

/** A stop() for a process the tests started: SIGTERM, wait for it, remove its directory. */
function stopper(proc, dir) {
  return async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise(r => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

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
    stop: stopper(proc, dir),
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

/** nginx with the RTMP module on 127.0.0.1:1935 (application `live`, recording to FLV). */
async function startNginx() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-rtmp-'));
  for (const sub of ['logs', 'rec', 'tmp']) fs.mkdirSync(path.join(dir, sub));
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
user root;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log info;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:1935; chunk_size 4096;
  application live { live on; record all; record_path ${dir}/rec; record_unique on; } } }
`);
  const proc = spawn('nginx', ['-e', 'stderr', '-p', `${dir}/`, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await waitFor('nginx to listen on 1935', () => new Promise(resolve => {
    const socket = require('node:net').connect(1935, '127.0.0.1', () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
  }));
  return {
    recordings: (name) => fs.readdirSync(path.join(dir, 'rec')).filter(f => f.startsWith(name + '-')).map(f => path.join(dir, 'rec', f)),
    stop: stopper(proc, dir),
  };
}

/** ffprobe's view of a file or rtmp:// URL: [{codec_type, codec_name, duration, ...}]. */
function probe(input) {
  const { execFileSync } = require('node:child_process');
  const out = execFileSync('timeout', ['20', 'ffprobe', '-v', 'error', '-show_entries',
    'stream=codec_type,codec_name,width,height,channels,duration:format=duration', '-of', 'json', input]);
  return JSON.parse(out.toString());
}

/** First and last packet time (s) of the video and of the audio of a file. */
function packetSpans(file) {
  const { execFileSync } = require('node:child_process');
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time', '-of', 'csv=p=0', file]).toString();
  const spans = { video: [Infinity, -Infinity], audio: [Infinity, -Infinity] };
  for (const line of out.split('\n')) {
    const [kind, time] = line.split(',');
    const t = Number(time);
    if (spans[kind] && Number.isFinite(t)) spans[kind] = [Math.min(spans[kind][0], t), Math.max(spans[kind][1], t)];
  }
  return spans;
}

/**
 * Decoding errors of a whole file ('' when it decodes cleanly). The frames keep the file's own
 * time base: at ffmpeg's default (1/frame rate) two frames of a variable-rate browser stream
 * 20 ms apart round to one tick and the null muxer reports them as a timestamp error.
 */
function decodeErrors(file) {
  const { spawnSync } = require('node:child_process');
  return spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-']).stderr.toString();
}

/** Mean audio volume of a file in dB (ffmpeg volumedetect); -91 is digital silence. */
function meanVolume(file) {
  const { spawnSync } = require('node:child_process');
  const out = spawnSync('ffmpeg', ['-nostdin', '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-']).stderr.toString();
  const found = out.match(/mean_volume: (-?[0-9.]+) dB/);
  if (!found) throw new Error(`no volume measured: ${out.slice(-500)}`);
  return Number(found[1]);
}

module.exports = { stopper, startServer, startNginx, launchBrowser, rest, waitFor, probe, packetSpans, decodeErrors, meanVolume, REST, WS };
