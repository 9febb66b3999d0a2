// SIP peers of the browser tests: Kamailio as registrar/proxy and sipp phones, on fixed ports
// (the tests run alone in their network namespace). Scenarios and the Kamailio config are the
// ones the Rust integration tests use, in integration/sip_scenarios/.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const dgram = require('node:dgram');
const { waitFor, stopper } = require('./harness.cjs');

const SCENARIOS = path.resolve(__dirname, '../sip_scenarios');

/** Answers true once something at 127.0.0.1:`port` answers an OPTIONS with 200. */
function answersOptions(port) {
  return new Promise(resolve => {
    const socket = dgram.createSocket('udp4');
    const done = (ok) => { clearTimeout(timer); socket.close(); resolve(ok); };
    const timer = setTimeout(() => done(false), 300);
    socket.on('message', m => done(m.toString().startsWith('SIP/2.0 200')));
    socket.bind(0, '127.0.0.1', () => {
      const local = `127.0.0.1:${socket.address().port}`;
      const n = Date.now();
      socket.send(`OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${local};branch=z9hG4bK${n}\r\n` +
        `From: <sip:probe@${local}>;tag=p\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: probe${n}@x\r\nCSeq: 1 OPTIONS\r\n` +
        'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n', port, '127.0.0.1');
    });
  });
}

/** Kamailio on `port`: `users` maps authentication names to passwords; unregistered callees go to `upstreamPort`. */
async function startKamailio(users, port, upstreamPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kamailio-'));
  const userLines = Object.entries(users).map(([name, pw]) => `\t$sht(users=>${name}) = "${pw}";\n`).join('');
  const config = fs.readFileSync(path.join(SCENARIOS, 'kamailio.cfg'), 'utf8')
    .replaceAll('@PORT@', String(port)).replaceAll('@UPSTREAM_PORT@', String(upstreamPort)).replaceAll('@USERS@', userLines);
  fs.writeFileSync(path.join(dir, 'kamailio.cfg'), config);
  const log = fs.openSync(path.join(dir, 'kamailio.log'), 'w');
  const proc = spawn('kamailio', ['-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-m', '64', '-M', '8', '-w', dir, '-P', path.join(dir, 'kamailio.pid')],
    { stdio: ['ignore', log, log] });
  await waitFor('kamailio to answer OPTIONS', () => answersOptions(port));
  return { port, log: () => fs.readFileSync(path.join(dir, 'kamailio.log'), 'utf8'), stop: stopper(proc, dir) };
}

/** sipp running `scenario` (a file of integration/sip_scenarios, with each `replace` key put in its value) with its SIP on `sipPort`, RTP on `mediaPort`. */
function startSipp(scenario, { remote, sipPort, mediaPort, args = [], replace = {} }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-'));
  let text = fs.readFileSync(path.join(SCENARIOS, scenario), 'utf8');
  for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
  fs.writeFileSync(path.join(dir, 'scenario.xml'), text);
  // The 440 Hz tone sipp's rtp_stream plays, as raw µ-law.
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000:duration=10',
    '-ac', '1', '-c:a', 'pcm_mulaw', '-f', 'mulaw', path.join(dir, 'tone440.ul')]);
  const all = [...(remote ? [remote] : []), '-sf', 'scenario.xml', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-m', '1',
    '-timeout', '60s', '-timeout_error', '-nostdin', '-p', String(sipPort), '-mp', String(mediaPort),
    '-trace_msg', '-message_file', 'messages.log', '-trace_err', '-error_file', 'errors.log', ...args];
  const out = fs.openSync(path.join(dir, 'sipp.out'), 'w');
  const proc = spawn('sipp', all, { cwd: dir, stdio: ['ignore', out, out] });
  const exited = new Promise(r => proc.once('exit', code => r(code)));
  const read = (name) => { try { return fs.readFileSync(path.join(dir, name), 'utf8'); } catch { return ''; } };
  return {
    /** sipp's exit code once its scenario ends (0: it went as scripted). */
    async result(timeoutMs = 30000) {
      // unref: a pending deadline must not keep the test process alive after the race.
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`sipp ${scenario} did not finish:\n${read('messages.log').slice(-3000)}`)), timeoutMs).unref());
      return Promise.race([exited, timeout]);
    },
    messages: () => read('messages.log'),
    errors: () => read('errors.log'),
    stop: stopper(proc, dir),
  };
}

/** tshark counting the RTP packets that reach 127.0.0.1:`port`, by payload type. */
function countRtpTo(port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tshark-'));
  const out = path.join(dir, 'rtp.txt');
  const err = path.join(dir, 'tshark.err');
  const proc = spawn('tshark', ['-i', 'lo', '-l', '-f', `udp dst port ${port}`, '-d', `udp.port==${port},rtp`, '-T', 'fields', '-e', 'rtp.p_type'],
    { stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')] });
  return {
    /** Resolves once tshark captures. */
    ready: () => waitFor('tshark to capture', () => fs.readFileSync(err, 'utf8').includes('Capturing on')),
    /** {payloadType: packets} so far. */
    counts() {
      const counts = {};
      for (const pt of fs.readFileSync(out, 'utf8').split('\n').filter(Boolean)) counts[pt] = (counts[pt] || 0) + 1;
      return counts;
    },
    stop: stopper(proc, dir),
  };
}

module.exports = { startKamailio, startSipp, countRtpTo };
