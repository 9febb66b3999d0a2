// A video phone's camera and screen for the browser tests, as the Rust test's
// (integration/common/video_pcap.rs) are: its camera is ffmpeg's H.264 test pattern as RTP
// in a pcap that sipp replays (`play_pcap_video`); its screen is ffmpeg receiving the RTP the
// server sends to the video port of the phone's SDP, until the server's RTCP BYE.
'use strict';
const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { stopper } = require('./harness.cjs');

const VIDEO_PT = 96;

/** `seconds` of width x height H.264 at 15 fps as RTP packets in a pcap at `file`. */
async function makeVideoPcap(file, { seconds, width, height }) {
  const socket = dgram.createSocket('udp4');
  await new Promise(r => socket.bind(0, '127.0.0.1', r));
  const packets = [];
  socket.on('message', m => packets.push(Buffer.from(m)));
  const ffmpeg = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=15:duration=${seconds}`,
    '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '15', '-bf', '0', '-pix_fmt', 'yuv420p',
    '-f', 'rtp', '-payload_type', String(VIDEO_PT), '-pkt_size', '1200', `rtp://127.0.0.1:${socket.address().port}`], { stdio: 'ignore' });
  const code = await new Promise(r => ffmpeg.once('exit', r));
  await new Promise(r => setTimeout(r, 300)); // the last datagrams
  socket.close();
  if (code !== 0 || packets.length === 0) throw new Error(`ffmpeg sent no test video (exit ${code})`);
  fs.writeFileSync(file, pcap(packets));
}

/** Ethernet/IPv4/UDP records stamped with each packet's RTP time (90 kHz) from the first. */
function pcap(packets) {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const first = packets[0].readUInt32BE(4);
  const records = packets.map(payload => {
    const micros = Math.floor(((payload.readUInt32BE(4) - first) >>> 0) * 1e6 / 90000);
    const frame = Buffer.alloc(14 + 20 + 8 + payload.length);
    frame.writeUInt16BE(0x0800, 12);
    const ip = frame.subarray(14, 34);
    Buffer.from([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]).copy(ip);
    ip.writeUInt16BE(20 + 8 + payload.length, 2);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    frame.writeUInt16BE(6000, 34);
    frame.writeUInt16BE(6002, 36);
    frame.writeUInt16BE(8 + payload.length, 38);
    payload.copy(frame, 42);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Math.floor(micros / 1e6), 0);
    record.writeUInt32LE(micros % 1e6, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}

/** ffmpeg keeping the H.264 sent to 127.0.0.1:`port` (and RTCP to the port above) as a raw file. */
function startVideoScreen(port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'screen-'));
  const sdp = path.join(dir, 'screen.sdp');
  fs.writeFileSync(sdp, ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=screen', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=video ${port} RTP/AVP ${VIDEO_PT}`, `a=rtpmap:${VIDEO_PT} H264/90000`, `a=fmtp:${VIDEO_PT} packetization-mode=1`, ''].join('\r\n'));
  const file = path.join(dir, 'screen.h264');
  const proc = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-analyzeduration', '0',
    '-i', sdp, '-c', 'copy', '-f', 'h264', '-y', file], { stdio: 'ignore' });
  const exited = new Promise(r => proc.once('exit', r));
  return {
    file,
    /** Resolves true once ffmpeg ended on its own (the RTCP BYE), false after `timeoutMs`. */
    ended: (timeoutMs) => Promise.race([exited.then(() => true), new Promise(r => setTimeout(() => r(false), timeoutMs).unref())]),
    stop: stopper(proc, dir),
  };
}

module.exports = { makeVideoPcap, startVideoScreen };
