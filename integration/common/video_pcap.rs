//! A video phone's camera and screen, in H.264 or VP8. Its camera is RTP as sipp replays it
//! (`play_pcap_video`): ffmpeg encodes a test pattern and sends it as RTP (its own RFC 6184 /
//! RFC 7741 packetizer, not ours) to a socket of the test, and the packets are written to a
//! pcap file with their RTP timing. Its screen is ffmpeg receiving the RTP the server sends it
//! (its own depacketizer) into a file (raw H.264, or IVF for VP8), until the server's RTCP BYE.

use super::sipp::free_udp_pair;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The RTP payload type the pcap's packets carry; the sipp scenario's SDP names it.
pub const VIDEO_PT: u8 = 96;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneVideo {
    H264,
    Vp8,
}

impl PhoneVideo {
    /// `a=rtpmap` and `a=fmtp` of the codec as [`VIDEO_PT`], CRLF-ended.
    pub fn sdp_lines(self) -> String {
        match self {
            PhoneVideo::H264 => format!("a=rtpmap:{VIDEO_PT} H264/90000\r\na=fmtp:{VIDEO_PT} packetization-mode=1;profile-level-id=42e01f\r\n"),
            PhoneVideo::Vp8 => format!("a=rtpmap:{VIDEO_PT} VP8/90000\r\n"),
        }
    }

    /// A video phone scenario (uas_video.xml, uac_video.xml: H.264 as [`VIDEO_PT`]) sending
    /// `pcap`, in this codec.
    pub fn scenario(self, scenario: &str, pcap: &Path) -> String {
        let scenario = scenario.replace("@VIDEO_PCAP@", pcap.to_str().unwrap());
        let h264 = format!("a=rtpmap:{VIDEO_PT} H264/90000\na=fmtp:{VIDEO_PT} packetization-mode=1;profile-level-id=42e01f\n");
        assert!(scenario.contains(&h264), "the scenario offers H.264 as {VIDEO_PT}");
        match self {
            PhoneVideo::H264 => scenario,
            PhoneVideo::Vp8 => scenario.replace(&h264, &format!("a=rtpmap:{VIDEO_PT} VP8/90000\n")),
        }
    }

    /// Pictures as a file ffmpeg reads: Annex B as it is, VP8 frames in IVF.
    pub fn write_pictures(self, file: &Path, pictures: &[Vec<u8>], (width, height): (u16, u16)) {
        let mut out = Vec::new();
        if self == PhoneVideo::Vp8 {
            out.extend_from_slice(b"DKIF");
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&32u16.to_le_bytes());
            out.extend_from_slice(b"VP80");
            out.extend_from_slice(&width.to_le_bytes());
            out.extend_from_slice(&height.to_le_bytes());
            out.extend_from_slice(&15u32.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&(pictures.len() as u32).to_le_bytes());
            out.extend_from_slice(&[0; 4]);
        }
        for (n, picture) in pictures.iter().enumerate() {
            if self == PhoneVideo::Vp8 {
                out.extend_from_slice(&(picture.len() as u32).to_le_bytes());
                out.extend_from_slice(&(n as u64).to_le_bytes());
            }
            out.extend_from_slice(picture);
        }
        std::fs::write(file, out).unwrap();
    }

    fn encoder(self) -> &'static [&'static str] {
        match self {
            PhoneVideo::H264 => &["-c:v", "libx264", "-profile:v", "baseline", "-g", "15", "-bf", "0", "-pix_fmt", "yuv420p"],
            PhoneVideo::Vp8 => &["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k", "-g", "15", "-pix_fmt", "yuv420p"],
        }
    }
}

/// `seconds` of `width`x`height` video in `codec` (H.264 baseline; a keyframe every second)
/// at 15 frames a second, as RTP packets in a pcap at `file`. Returns how many packets it holds.
pub fn video_rtp_pcap(file: &Path, codec: PhoneVideo, seconds: u32, width: u32, height: u32) -> usize {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let port = socket.local_addr().unwrap().port();
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={width}x{height}:rate=15:duration={seconds}"))
        .args(codec.encoder())
        .args(["-f", "rtp", "-payload_type", &VIDEO_PT.to_string(), "-pkt_size", "1200"])
        .arg(format!("rtp://127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null()) // the SDP it prints
        .spawn()
        .unwrap();
    let mut packets = Vec::new();
    let mut buf = [0u8; 2048];
    // ffmpeg encodes faster than real time and sends as it goes; silence means it is done.
    while let Ok(len) = socket.recv(&mut buf) {
        packets.push(buf[..len].to_vec());
        if let Ok(Some(_)) = ffmpeg.try_wait() {
            socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        }
    }
    assert!(ffmpeg.wait().unwrap().success(), "ffmpeg could not send the test video");
    std::fs::write(file, pcap(&packets)).unwrap();
    packets.len()
}

/// A pcap (Ethernet link type) of UDP datagrams from 127.0.0.1:6000 to 127.0.0.1:6002, each
/// stamped with its RTP timestamp (90 kHz) from the first.
fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [0xa1b2_c3d4u32.to_le_bytes().to_vec(), 2u16.to_le_bytes().to_vec(), 4u16.to_le_bytes().to_vec()] {
        out.extend_from_slice(&field);
    }
    out.extend_from_slice(&[0; 8]); // time zone, accuracy
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let rtp_time = |p: &[u8]| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
    let first = packets.first().map_or(0, |p| rtp_time(p));
    for payload in packets {
        let micros = u64::from(rtp_time(payload).wrapping_sub(first)) * 1_000_000 / 90_000;
        let frame = ethernet_ipv4_udp(payload);
        out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

fn ethernet_ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
    let checksum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&6000u16.to_be_bytes());
    frame.extend_from_slice(&6002u16.to_be_bytes());
    frame.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// ffmpeg keeping the H.264 sent to 127.0.0.1:`port` (RTCP on the port above) as a raw file.
pub struct VideoScreen {
    pub port: u16,
    file: PathBuf,
    log: PathBuf,
    ffmpeg: Child,
}

impl VideoScreen {
    /// Listens on a free port pair for `codec`; its file and log go into `dir`.
    pub fn start(dir: &Path, codec: PhoneVideo) -> VideoScreen {
        let port = free_udp_pair();
        let sdp = dir.join("phone-screen.sdp");
        let media = format!("m=video {port} RTP/AVP {VIDEO_PT}\r\n{}", codec.sdp_lines());
        std::fs::write(&sdp, format!("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=screen\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n{media}")).unwrap();
        let (format, file) = match codec {
            PhoneVideo::H264 => ("h264", dir.join("phone-saw.h264")),
            PhoneVideo::Vp8 => ("ivf", dir.join("phone-saw.ivf")),
        };
        let log = dir.join("screen.log");
        let ffmpeg = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp", "-analyzeduration", "0", "-i"])
            .arg(&sdp)
            .args(["-c", "copy", "-f", format, "-y"])
            .arg(&file)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        VideoScreen { port, file, log, ffmpeg }
    }

    /// Waits for ffmpeg to end on its own (the server's RTCP BYE) and returns its file.
    pub async fn ended(mut self, within: Duration) -> PathBuf {
        let deadline = Instant::now() + within;
        while self.ffmpeg.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the phone's screen got no RTCP BYE: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.file.clone()
    }
}

impl Drop for VideoScreen {
    fn drop(&mut self) {
        let _ = self.ffmpeg.kill();
        let _ = self.ffmpeg.wait();
    }
}
