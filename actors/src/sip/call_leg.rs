//! The phone side of a call's media: one RTP/RTCP socket pair and a task on the media thread
//! of the call's browser peer that receives (jitter buffer, telephone events, activity watch),
//! transcodes between the phone's codec and the browser's Opus, and sends (20 ms packets,
//! RFC 4733 digits). Phones that speak Opus get the browser's packets as they are.

use crate::media::{CodecName, MediaFrame, MediaKind};
use crate::metrics::{KindLabels, Metrics};
use crate::rtp::{
    DtmfReceiver, DtmfSchedule, DtmfSenderConfig, JitterBuffer, JitterBufferConfig, JitterOutput,
    RtpHeader, RtpPacket, SentCounts,
};
use crate::transcode::{opus_bandwidth, CallAudio};
use actix::prelude::*;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::Instrument;

/// How often the leg looks at its jitter buffer, digits and timers.
const TICK: Duration = Duration::from_millis(10);
/// RTP packets of 20 ms, as SIP phones expect by default.
const PACKET: Duration = Duration::from_millis(20);
/// Between RTCP reports (RFC 3550's minimum for a two-party session).
const RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// An RTP port and the RTCP port above it, bound and non-blocking, before the remote side is
/// known. The video leg makes them async sockets on the runtime of its task
/// ([`LegSockets::into_async`]); the audio leg reads them on its tick.
pub struct LegSockets {
    pub port: u16,
    rtp: std::net::UdpSocket,
    rtcp: std::net::UdpSocket,
}

impl LegSockets {
    /// Binds the first free even port of `candidates` and the port above it.
    pub fn bind(ip: IpAddr, candidates: impl IntoIterator<Item = u16>) -> Result<Self, String> {
        for port in candidates {
            let Ok(rtp) = std::net::UdpSocket::bind((ip, port)) else { continue };
            let Ok(rtcp) = std::net::UdpSocket::bind((ip, port + 1)) else { continue };
            rtp.set_nonblocking(true).and_then(|()| rtcp.set_nonblocking(true)).map_err(|e| format!("RTP socket: {e}"))?;
            return Ok(LegSockets { port, rtp, rtcp });
        }
        Err("no free RTP port in the configured range".into())
    }

    /// The RTP and RTCP sockets, registered with the current runtime (inside its task, so
    /// that their readiness wakes it there).
    pub fn into_async(self) -> std::io::Result<(UdpSocket, UdpSocket)> {
        Ok((UdpSocket::from_std(self.rtp)?, UdpSocket::from_std(self.rtcp)?))
    }
}

/// What the leg needs to know of the call once the phone's SDP is in.
#[derive(Debug, Clone)]
pub struct LegTarget {
    /// Where the phone takes RTP, None while it is on hold with `c=0.0.0.0`.
    pub rtp: Option<SocketAddr>,
    pub rtcp: Option<SocketAddr>,
    /// Whether we send to the phone (the direction agreed allows it).
    pub sending: bool,
    /// Whether the phone sends to us: when it does not (hold), its silence is no failure.
    pub receiving: bool,
}

#[derive(Debug, Clone)]
pub struct LegCodec {
    pub name: CodecName,
    pub pt: u8,
    pub clock_rate: u32,
    /// The negotiated telephone-event payload type and clock.
    pub telephone_event: Option<(u8, u32)>,
}

/// What the call's actor hears from its leg.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum LegEvent {
    /// No RTP from the phone for the activity timeout.
    RtpTimeout,
    /// A digit the phone sent as a telephone event.
    Dtmf(char),
}

pub enum LegCommand {
    /// Sends digits as RFC 4733 telephone events.
    Dtmf(String),
    /// A re-INVITE changed where or whether media flows.
    Retarget(LegTarget),
    /// The phone's audio is only worth transcoding while this is true (a call's stream has
    /// subscribers); meanwhile it is read and dropped.
    OnlyWhileListened(Arc<AtomicBool>),
    /// The browser's video frames go on to the call's video leg.
    ForwardVideo(mpsc::Sender<MediaFrame>),
}

/// The running leg; dropping it ends the task (its commands close) and frees its ports.
pub struct CallLeg {
    commands: mpsc::Sender<LegCommand>,
}

impl CallLeg {
    pub fn command(&self, command: LegCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }

    /// `thread`: the media thread of the call's browser peer.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        thread: &ArbiterHandle,
        call_id: &str,
        sockets: LegSockets,
        codec: LegCodec,
        target: LegTarget,
        activity_timeout: Option<Duration>,
        from_browser: mpsc::Receiver<MediaFrame>,
        to_browser: mpsc::Sender<MediaFrame>,
        events: Recipient<LegEvent>,
        metrics: Metrics,
    ) -> Result<Self, String> {
        // A phone with Opus takes the browser's packets as they are; others need transcoding.
        let transcoder = match codec.name {
            CodecName::Opus => None,
            other => Some(CallAudio::new(other).map_err(|e| e.0)?),
        };
        let (commands, command_rx) = mpsc::channel(8);
        let span = tracing::info_span!("call", id = %call_id);
        let started = thread.spawn(
            async move {
                let LegSockets { rtp, rtcp, .. } = sockets;
                Leg::new(rtp, rtcp, codec, target, activity_timeout, transcoder, to_browser, events, metrics).run(from_browser, command_rx).await;
            }
            .instrument(span),
        );
        if !started {
            return Err("the media thread is gone".into());
        }
        Ok(CallLeg { commands })
    }
}

struct Leg {
    /// Plain non-blocking sockets, read on the tick: not registered for readiness, so that a
    /// phone's packets never wake the thread by themselves (the jitter buffer waits for them
    /// anyway, and the legs of a thread tick together).
    rtp: std::net::UdpSocket,
    rtcp: std::net::UdpSocket,
    codec: LegCodec,
    target: LegTarget,
    activity_timeout: Option<Duration>,
    /// The codec work, when the phone does not speak Opus.
    transcoder: Option<CallAudio>,
    to_browser: mpsc::Sender<MediaFrame>,
    /// See `LegCommand::OnlyWhileListened`.
    listened: Option<Arc<AtomicBool>>,
    /// See `LegCommand::ForwardVideo`.
    video: Option<mpsc::Sender<MediaFrame>>,
    events: Recipient<LegEvent>,
    metrics: Metrics,
    jitter: JitterBuffer,
    dtmf_in: DtmfReceiver,
    /// Digits being sent: the schedule, when it started, and the RTP timestamp it started at.
    dtmf_out: Option<(DtmfSchedule, Instant, u32)>,
    ssrc: u32,
    sequence: u16,
    /// RTP timestamp of the next audio packet to the phone.
    timestamp: u32,
    /// Browser-clock time of the first passthrough frame, and the RTP timestamp it became.
    passthrough_base: Option<(u64, u32)>,
    first_packet: bool,
    /// Whether the browser's audio has been heard (and its bandwidth logged).
    heard_browser: bool,
    /// What the phone's datagrams are read into, made once: the legs read on every tick.
    receive_buffer: Vec<u8>,
    /// 48 kHz time of the next frame to the browser.
    browser_time: u64,
    last_rtp: Instant,
    timed_out: bool,
    /// Whether the source address of the phone's RTP has been taken as its target.
    latched: bool,
    packet: Vec<u8>,
    /// For RTCP sender reports: what we sent, and when the last report went.
    sent: SentCounts,
    last_report: Instant,
    cname: String,
}

impl Leg {
    #[allow(clippy::too_many_arguments)]
    fn new(
        rtp: std::net::UdpSocket,
        rtcp: std::net::UdpSocket,
        codec: LegCodec,
        target: LegTarget,
        activity_timeout: Option<Duration>,
        transcoder: Option<CallAudio>,
        to_browser: mpsc::Sender<MediaFrame>,
        events: Recipient<LegEvent>,
        metrics: Metrics,
    ) -> Self {
        let jitter = JitterBuffer::new(JitterBufferConfig::new(codec.clock_rate));
        Leg {
            rtp,
            rtcp,
            codec,
            target,
            activity_timeout,
            transcoder,
            to_browser,
            listened: None,
            video: None,
            events,
            metrics,
            jitter,
            dtmf_in: DtmfReceiver::new(),
            dtmf_out: None,
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
            passthrough_base: None,
            first_packet: true,
            heard_browser: false,
            receive_buffer: vec![0; 2048],
            browser_time: 0,
            last_rtp: Instant::now(),
            timed_out: false,
            latched: false,
            packet: Vec::with_capacity(1500),
            sent: SentCounts::default(),
            last_report: Instant::now(),
            cname: format!("ferrophone-{:08x}", rand::random::<u32>()),
        }
    }

    async fn run(mut self, mut from_browser: mpsc::Receiver<MediaFrame>, mut commands: mpsc::Receiver<LegCommand>) {
        let mut tick = tokio::time::interval_at(next_shared_tick(), TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                frame = from_browser.recv() => match frame {
                    Some(frame) => self.on_browser_frame(frame),
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(LegCommand::Dtmf(digits)) => self.start_dtmf(&digits),
                    Some(LegCommand::Retarget(target)) => {
                        self.target = target;
                        self.latched = false;
                        self.last_rtp = Instant::now();
                    }
                    Some(LegCommand::OnlyWhileListened(flag)) => self.listened = Some(flag),
                    Some(LegCommand::ForwardVideo(video)) => self.video = Some(video),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
        let heard = self.jitter.counters();
        for (kind, count) in [("received", heard.received), ("lost", heard.lost), ("concealed", heard.concealed)] {
            self.metrics.call_phone_audio.get_or_create(&KindLabels { kind }).inc_by(count);
        }
    }

    /// Everything the phone sent since the last tick; its RTCP is read and let go (reports only).
    fn read_phone(&mut self) {
        let mut buffer = std::mem::take(&mut self.receive_buffer);
        while let Ok((len, source)) = self.rtp.recv_from(&mut buffer) {
            self.on_rtp(&buffer[..len], source);
        }
        while self.rtcp.recv_from(&mut buffer).is_ok() {}
        self.receive_buffer = buffer;
    }

    fn on_rtp(&mut self, datagram: &[u8], source: SocketAddr) {
        let Ok(packet) = RtpPacket::parse(datagram) else { return };
        let header = packet.header;
        if Some(header.payload_type) == self.codec.telephone_event.map(|(pt, _)| pt) {
            if let Ok(Some(digit)) = self.dtmf_in.receive(&header, packet.payload) {
                let _ = self.events.try_send(LegEvent::Dtmf(digit.digit));
            }
        } else if header.payload_type != self.codec.pt {
            return;
        }
        // Digits go through the buffer too, so their sequence numbers are no loss to conceal.
        self.jitter.push(&header, packet.payload, Instant::now());
        self.last_rtp = Instant::now();
        self.timed_out = false;
        // Symmetric RTP: answer where the phone's packets come from (it may be behind NAT).
        if !self.latched && self.target.rtp.is_some() {
            self.latched = true;
            if self.target.rtp != Some(source) {
                tracing::debug!(from = %source, sdp = ?self.target.rtp, "RTP comes from elsewhere than the SDP said: answering there");
                self.target.rtp = Some(source);
            }
        }
    }

    fn on_browser_frame(&mut self, frame: MediaFrame) {
        if frame.kind != MediaKind::Audio {
            if let Some(video) = &self.video {
                let _ = video.try_send(frame);
            }
            return;
        }
        if !self.heard_browser {
            self.heard_browser = true;
            // How wide the browser's microphone is coded: narrower when our SDP asked for it.
            tracing::info!(bandwidth = opus_bandwidth(&frame.data).unwrap_or("none"), "the browser's audio arrives");
        }
        match &mut self.transcoder {
            Some(transcoder) => match transcoder.browser_to_phone(&frame.data) {
                Ok(payloads) => {
                    for payload in payloads {
                        self.send_audio(&payload, None);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "undecodable browser audio skipped"),
            },
            None => {
                // Opus both sides: the browser's clock carries over to the phone's.
                let (first, base) = *self.passthrough_base.get_or_insert((frame.time, self.timestamp));
                let timestamp = base.wrapping_add(frame.time.wrapping_sub(first) as u32);
                self.send_audio(&frame.data, Some(timestamp));
            }
        }
    }

    /// Audio to the phone; while digits are being sent the audio makes way for them (its
    /// clock keeps going).
    fn send_audio(&mut self, payload: &[u8], timestamp: Option<u32>) {
        let timestamp = timestamp.unwrap_or(self.timestamp);
        self.timestamp = timestamp.wrapping_add(self.codec.clock_rate * PACKET.as_millis() as u32 / 1000);
        if self.dtmf_out.is_some() {
            return;
        }
        let header = RtpHeader { marker: self.first_packet, payload_type: self.codec.pt, sequence_number: 0, timestamp, ssrc: self.ssrc };
        self.first_packet = false;
        self.send_rtp(header, payload);
    }

    fn send_rtp(&mut self, mut header: RtpHeader, payload: &[u8]) {
        let (Some(target), true) = (self.target.rtp, self.target.sending) else { return };
        header.sequence_number = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        header.write_packet(payload, &mut self.packet);
        match self.rtp.send_to(&self.packet, target) {
            Ok(_) => {
                self.sent.count(payload.len());
            }
            Err(e) => tracing::debug!(%target, error = %e, "RTP not sent"),
        }
    }

    /// A sender report while we send, a receiver report otherwise (RFC 3550 §6.4).
    fn send_report(&mut self) {
        let Some(target) = self.target.rtcp else { return };
        self.last_report = Instant::now();
        self.sent.write_report(self.ssrc, self.timestamp, self.target.sending, &self.cname, &mut self.packet);
        let _ = self.rtcp.send_to(&self.packet, target);
    }

    fn send_to_browser(&mut self, opus: Vec<u8>) {
        let frame = MediaFrame {
            kind: MediaKind::Audio,
            time: self.browser_time,
            clock_rate: 48_000,
            received: Instant::now(),
            keyframe: true,
            data: Arc::from(opus),
            rtp_payloads: Default::default(),
        };
        self.browser_time += 960;
        let _ = self.to_browser.try_send(frame);
    }

    fn start_dtmf(&mut self, digits: &str) {
        let Some((_, clock_rate)) = self.codec.telephone_event else { return };
        let config = DtmfSenderConfig { clock_rate, ..DtmfSenderConfig::default() };
        match DtmfSchedule::new(digits, config) {
            Ok(schedule) => {
                // Digits on the audio's clock; a telephone-event clock that differs is scaled.
                let start = (u64::from(self.timestamp) * u64::from(clock_rate) / u64::from(self.codec.clock_rate.max(1))) as u32;
                self.dtmf_out = Some((schedule, Instant::now(), start));
            }
            Err(e) => tracing::warn!(error = %e, "digits not sent"),
        }
    }

    fn on_tick(&mut self) {
        self.read_phone();
        let now = Instant::now();
        self.play_phone_audio(now);
        self.send_due_digits(now);
        if now.duration_since(self.last_report) >= RTCP_INTERVAL {
            self.send_report();
        }
        if let Some(timeout) = self.activity_timeout {
            if self.target.receiving && !self.timed_out && now.duration_since(self.last_rtp) > timeout {
                self.timed_out = true;
                let _ = self.events.try_send(LegEvent::RtpTimeout);
            }
        }
    }

    /// What the jitter buffer releases goes to the browser, through the transcoder or not.
    fn play_phone_audio(&mut self, now: Instant) {
        let audio_pt = self.codec.pt;
        let unheard = self.listened.as_ref().is_some_and(|l| !l.load(Ordering::Relaxed));
        while let Some(output) = self.jitter.pop(now) {
            if unheard || matches!(output, JitterOutput::Frame(frame) if frame.payload_type != audio_pt) {
                continue;
            }
            let transcoded = match (&mut self.transcoder, output) {
                (Some(t), JitterOutput::Frame(frame)) => t.phone_to_browser(frame.payload),
                (Some(t), JitterOutput::Lost { ticks, .. }) => t.phone_lost(ticks),
                (None, JitterOutput::Frame(frame)) => {
                    let opus = frame.payload.to_vec();
                    self.send_to_browser(opus);
                    continue;
                }
                // Opus passthrough: the browser's decoder conceals the gap itself.
                (None, JitterOutput::Lost { ticks, .. }) => {
                    self.browser_time += u64::from(ticks);
                    continue;
                }
            };
            match transcoded {
                Ok(packets) => packets.into_iter().for_each(|opus| self.send_to_browser(opus)),
                Err(e) => tracing::debug!(error = %e, "undecodable phone audio skipped"),
            }
        }
    }

    fn send_due_digits(&mut self, now: Instant) {
        let Some((te_pt, _)) = self.codec.telephone_event else { return };
        loop {
            let Some((schedule, started, base)) = self.dtmf_out.as_mut() else { return };
            let elapsed = now.duration_since(*started);
            let mut peek = schedule.clone();
            let Some(packet) = peek.next() else {
                self.dtmf_out = None;
                return;
            };
            if packet.send_offset > elapsed {
                return;
            }
            *schedule = peek;
            let header = RtpHeader { marker: packet.marker, payload_type: te_pt, sequence_number: 0, timestamp: base.wrapping_add(packet.timestamp_offset), ssrc: self.ssrc };
            self.send_rtp(header, &packet.payload);
        }
    }
}

/// The next instant on a 10 ms grid every leg shares: legs of one thread then tick together,
/// and the thread wakes once for all of them rather than once for each.
fn next_shared_tick() -> tokio::time::Instant {
    static GRID: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let origin = *GRID.get_or_init(tokio::time::Instant::now);
    let since = origin.elapsed().as_nanos();
    let step = TICK.as_nanos();
    origin + Duration::from_nanos(((since / step + 1) * step) as u64)
}

/// The next item of an optional receiver; never, without one.
pub(super) async fn recv_or_wait<T>(receiver: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match receiver {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn legs_started_apart_tick_on_one_grid() {
        let first = next_shared_tick();
        tokio::time::sleep(Duration::from_millis(13)).await;
        let asked = tokio::time::Instant::now();
        let second = next_shared_tick();
        let apart = second.duration_since(first).as_micros();
        assert!(apart >= TICK.as_micros(), "the later leg ticks later: {apart} µs");
        assert_eq!(apart % TICK.as_micros(), 0, "on the same 10 ms grid: {apart} µs apart");
        assert!(second > asked, "a leg's first tick is ahead of it");
    }
}
