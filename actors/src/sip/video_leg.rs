//! The video of a SIP call: its own RTP/RTCP socket pair carrying H.264 (RFC 6184, mode 1)
//! or VP8 (RFC 7741) both ways, no transcoding. The phone's packets become access units for the browser or the
//! call's stream; the browser's frames become packets for the phone. Whichever side needs a
//! picture to start from gets one asked for: the phone by RTCP PLI and FIR, the browser
//! through its peer.

use super::call_leg::{recv_or_wait, LegSockets, LegTarget};
use crate::media::{CodecName, MediaFrame, MediaKind};
use crate::rtp::{
    append_keyframe_request, append_rtcp_bye, is_keyframe_request, packetize_h264, packetize_vp8, parse_rtcp, write_receiver_report,
    H264Depacketizer, Picture, RtpHeader, RtpPacket, SentCounts, TimestampExtender, Vp8Depacketizer, MAX_VIDEO_PAYLOAD,
};
use crate::stream::RequestKeyframe;
use actix::{ArbiterHandle, Recipient};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// H.264's RTP clock.
const VIDEO_CLOCK: u32 = 90_000;
/// Between RTCP reports (RFC 3550's minimum for a two-party session).
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Keyframe requests to the phone at most this often: a keyframe takes a while to come.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

pub enum VideoCommand {
    /// Someone downstream needs a keyframe (a new viewer, a recorder starting).
    Keyframe,
    /// A re-INVITE changed where or whether video flows.
    Retarget(LegTarget),
}

/// The running leg; dropping it ends the task, which says RTCP BYE to the phone and frees its sockets.
pub struct VideoLeg {
    commands: mpsc::Sender<VideoCommand>,
}

/// Where the leg's video comes from and goes.
pub struct VideoEnds {
    /// The browser's H.264 frames; `None` for a call whose video only goes into a stream.
    pub from_browser: Option<mpsc::Receiver<MediaFrame>>,
    pub to_browser: mpsc::Sender<MediaFrame>,
    /// Asks the browser for a keyframe when the phone wants one.
    pub browser_keyframes: Option<Recipient<RequestKeyframe>>,
}

/// The codec's RTP payload format: the phone's packets put back together, the browser's pictures cut up.
enum VideoPayload {
    H264(H264Depacketizer),
    Vp8(Vp8Depacketizer),
}

impl VideoPayload {
    fn push(&mut self, header: &RtpHeader, payload: &[u8], complete: impl FnMut(Picture)) {
        let (sequence, timestamp, marker) = (header.sequence_number, header.timestamp, header.marker);
        match self {
            VideoPayload::H264(d) => d.push(sequence, timestamp, marker, payload, complete),
            VideoPayload::Vp8(d) => d.push(sequence, timestamp, marker, payload, complete),
        }
    }

    fn take_keyframe_wanted(&mut self) -> bool {
        match self {
            VideoPayload::H264(d) => d.take_keyframe_wanted(),
            VideoPayload::Vp8(d) => d.take_keyframe_wanted(),
        }
    }

    /// The RTP payloads of one of the browser's pictures, in the same codec.
    fn packetize(&self, picture: &[u8]) -> Vec<Vec<u8>> {
        match self {
            VideoPayload::H264(_) => packetize_h264(picture, MAX_VIDEO_PAYLOAD),
            VideoPayload::Vp8(_) => packetize_vp8(picture, MAX_VIDEO_PAYLOAD),
        }
    }
}

impl VideoLeg {
    /// `codec`: H.264 or VP8 (anything else is taken as H.264: the SDP allows nothing else).
    /// The leg runs on `thread`, the media thread of the call's browser peer and audio leg.
    pub fn start(thread: &ArbiterHandle, sockets: LegSockets, payload_type: u8, codec: CodecName, target: LegTarget, ends: VideoEnds) -> Result<Self, String> {
        let (commands, command_rx) = mpsc::channel(8);
        let started = thread.spawn(async move {
            match sockets.into_async() {
                Ok((rtp, rtcp)) => Leg::new(rtp, rtcp, payload_type, codec, target, ends.to_browser, ends.browser_keyframes).run(ends.from_browser, command_rx).await,
                Err(e) => tracing::warn!(error = %e, "the call's video sockets failed"),
            }
        });
        if !started {
            return Err("the media thread is gone".into());
        }
        Ok(VideoLeg { commands })
    }

    pub fn command(&self, command: VideoCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }
}

struct Leg {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    payload_type: u8,
    target: LegTarget,
    to_browser: mpsc::Sender<MediaFrame>,
    browser_keyframes: Option<Recipient<RequestKeyframe>>,
    payload: VideoPayload,
    timestamps: TimestampExtender,
    /// The phone's video SSRC, which keyframe requests name.
    phone_ssrc: Option<u32>,
    last_keyframe_request: Option<Instant>,
    fir_sequence: u8,
    ssrc: u32,
    sequence: u16,
    /// The browser's first frame time and the RTP timestamp it became.
    timestamp_base: Option<(u64, u32)>,
    last_timestamp: u32,
    /// Whether the source address of the phone's RTP has been taken as its target.
    latched: bool,
    packet: Vec<u8>,
    sent: SentCounts,
    cname: String,
}

impl Leg {
    fn new(
        rtp: UdpSocket,
        rtcp: UdpSocket,
        payload_type: u8,
        codec: CodecName,
        target: LegTarget,
        to_browser: mpsc::Sender<MediaFrame>,
        browser_keyframes: Option<Recipient<RequestKeyframe>>,
    ) -> Self {
        let payload = match codec {
            CodecName::Vp8 => VideoPayload::Vp8(Vp8Depacketizer::new()),
            _ => VideoPayload::H264(H264Depacketizer::new()),
        };
        Leg {
            rtp,
            rtcp,
            payload_type,
            target,
            to_browser,
            browser_keyframes,
            payload,
            timestamps: TimestampExtender::new(),
            phone_ssrc: None,
            last_keyframe_request: None,
            fir_sequence: 0,
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp_base: None,
            last_timestamp: 0,
            latched: false,
            packet: Vec::with_capacity(1500),
            sent: SentCounts::default(),
            cname: format!("ferrophone-{:08x}", rand::random::<u32>()),
        }
    }

    async fn run(mut self, mut from_browser: Option<mpsc::Receiver<MediaFrame>>, mut commands: mpsc::Receiver<VideoCommand>) {
        let mut reports = tokio::time::interval(RTCP_INTERVAL);
        reports.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut rtp_buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 1500];
        loop {
            tokio::select! {
                received = self.rtp.recv_from(&mut rtp_buf) => {
                    if let Ok((len, source)) = received {
                        self.on_rtp(&rtp_buf[..len], source).await;
                    }
                }
                received = self.rtcp.recv_from(&mut rtcp_buf) => {
                    if let Ok((len, _)) = received {
                        self.on_rtcp(&rtcp_buf[..len]);
                    }
                }
                frame = recv_or_wait(&mut from_browser) => match frame {
                    Some(frame) => self.send_frame(&frame).await,
                    None => from_browser = None,
                },
                command = commands.recv() => match command {
                    Some(VideoCommand::Keyframe) => self.request_keyframe(true).await,
                    Some(VideoCommand::Retarget(target)) => {
                        self.target = target;
                        self.latched = false;
                    }
                    None => break,
                },
                _ = reports.tick() => self.send_report(false).await,
            }
        }
        self.say_bye().await;
    }

    /// The call is over: a last report with a BYE (RFC 3550 §6.6), on which receivers such as
    /// ffmpeg end the stream at once.
    async fn say_bye(&mut self) {
        let Some(target) = self.target.rtcp else { return };
        write_receiver_report(self.ssrc, &[], &self.cname, &mut self.packet);
        append_rtcp_bye(self.ssrc, Some("call ended"), &mut self.packet);
        let _ = self.rtcp.send_to(&self.packet, target).await;
    }

    async fn on_rtp(&mut self, datagram: &[u8], source: SocketAddr) {
        let Ok(packet) = RtpPacket::parse(datagram) else { return };
        let header = packet.header;
        if header.payload_type != self.payload_type {
            return;
        }
        self.phone_ssrc = Some(header.ssrc);
        // A phone whose video comes from another address than its SDP gives is behind NAT:
        // send where its packets come from. One on its own address is taken at its word, as
        // some send video from another port than they receive it on.
        if !self.latched && self.target.rtp.is_some_and(|sdp| sdp.ip() != source.ip()) {
            self.latched = true;
            self.target.rtp = Some(source);
        }
        let (to_browser, timestamps) = (&self.to_browser, &mut self.timestamps);
        self.payload.push(&header, packet.payload, |unit| {
            let frame = MediaFrame {
                kind: MediaKind::Video,
                time: timestamps.extend(unit.timestamp),
                clock_rate: VIDEO_CLOCK,
                received: Instant::now(),
                keyframe: unit.keyframe,
                data: Arc::from(unit.data),
                rtp_payloads: Default::default(),
            };
            // A full queue loses this picture; the stream restarts its viewers at a keyframe.
            let _ = to_browser.try_send(frame);
        });
        if self.payload.take_keyframe_wanted() {
            self.request_keyframe(false).await;
        }
    }

    /// The phone asks for a keyframe: the browser is asked in turn.
    fn on_rtcp(&mut self, datagram: &[u8]) {
        if parse_rtcp(datagram).flatten().any(|packet| is_keyframe_request(&packet)) {
            if let Some(browser) = &self.browser_keyframes {
                browser.do_send(RequestKeyframe);
            }
        }
    }

    /// A PLI and a FIR to the phone, unless one went out a moment ago (`always` for a
    /// downstream request, which must not be lost to the pacing of loss-driven ones).
    async fn request_keyframe(&mut self, always: bool) {
        let recent = self.last_keyframe_request.is_some_and(|at| at.elapsed() < KEYFRAME_REQUEST_INTERVAL);
        if recent && !always {
            return;
        }
        self.last_keyframe_request = Some(Instant::now());
        self.send_report(true).await;
    }

    async fn send_frame(&mut self, frame: &MediaFrame) {
        if frame.kind != MediaKind::Video {
            return;
        }
        let (Some(target), true) = (self.target.rtp, self.target.sending) else { return };
        // The browser's clock carries over, from a random start.
        let (first, base) = *self.timestamp_base.get_or_insert((frame.time, rand::random()));
        let timestamp = base.wrapping_add(frame.time.wrapping_sub(first) as u32);
        self.last_timestamp = timestamp;
        let payloads = self.payload.packetize(&frame.data);
        let count = payloads.len();
        for (i, payload) in payloads.iter().enumerate() {
            let header = RtpHeader { marker: i + 1 == count, payload_type: self.payload_type, sequence_number: self.sequence, timestamp, ssrc: self.ssrc };
            self.sequence = self.sequence.wrapping_add(1);
            header.write_packet(payload, &mut self.packet);
            if self.rtp.send_to(&self.packet, target).await.is_ok() {
                self.sent.count(payload.len());
            }
        }
    }

    /// A sender report while we send, a receiver report otherwise; with a keyframe request
    /// for the phone's video when `asking`.
    async fn send_report(&mut self, asking: bool) {
        let Some(target) = self.target.rtcp else { return };
        self.sent.write_report(self.ssrc, self.last_timestamp, self.target.sending, &self.cname, &mut self.packet);
        if asking {
            append_keyframe_request(self.ssrc, self.phone_ssrc.unwrap_or(0), self.fir_sequence, &mut self.packet);
            self.fir_sequence = self.fir_sequence.wrapping_add(1);
        }
        let _ = self.rtcp.send_to(&self.packet, target).await;
    }
}
