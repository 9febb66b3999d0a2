//! One WebRTC peer of the server (a publisher, a player or the browser side of a SIP call),
//! owning one str0m `Rtc`. The `Rtc`
//! is sans-IO: this actor feeds it datagrams from the shared media socket, frames from the
//! stream and the passing of time, and carries out what it asks (transmit, wake me at, events).

use crate::media::{KeyframeRequests, MediaFrame, MediaKind};
use crate::media_outbox;
use crate::media_socket::{Datagram, MediaSocket};
use crate::metrics::Metrics;
use crate::panic_guard::guarded;
use crate::player_group::{self, GroupNews, Member, SenderSlot};
use crate::stream::{JoinGroup, KeyframeWanted, RequestKeyframe, Unsubscribe};
use crate::webrtc::keyframe::is_keyframe;
use crate::webrtc::peer_setup::{accept_call_answer, NegotiatedTrack, OwnSending, PeerSetup, SetupError};
use crate::webrtc::player_sender::{lost_sequences, PlayerSender, TrackParams};
use crate::webrtc::srtp_keys::default_provider;
use crate::webrtc::srtp_sender::SrtpSender;
use actix::prelude::*;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpPendingOffer;
use str0m::media::{Frequency, KeyframeRequestKind, MediaData, MediaTime};
use str0m::net::{Protocol, Receive};
use str0m::rtp::rtcp::Rtcp;
use str0m::rtp::RawPacket;
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::mpsc;
use tracing::Span;

/// How long a browser has to complete ICE and DTLS after the answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// str0m may ask to be woken "now" repeatedly; never spin faster than this.
const MIN_WAKE: Duration = Duration::from_millis(1);
/// Timeouts handled at once in one turn before the rest waits for a timer.
const MAX_IMMEDIATE_TIMEOUTS: u32 = 4;

/// How a peer ended, for its session to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEnd {
    IceTimeout,
    IceDisconnected,
    Dtls(String),
    PublisherStopped,
    Internal(String),
}

impl PeerEnd {
    /// The WebSDK's info text (spec §3.6).
    pub fn info(&self) -> String {
        match self {
            PeerEnd::IceTimeout => "Failed by ICE timeout".into(),
            PeerEnd::IceDisconnected => "Failed by ICE keep alive".into(),
            PeerEnd::Dtls(_) => "Failed by DTLS error".into(),
            PeerEnd::PublisherStopped => "Stopped by publisher stop".into(),
            PeerEnd::Internal(_) => "Failed by error".into(),
        }
    }
}

/// News for the session that owns the peer.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct PeerEvent {
    pub media_session_id: String,
    pub kind: PeerEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEventKind {
    /// ICE and DTLS are up: media can flow.
    Connected,
    /// A call's browser side has no picture to start from: its video source should send a keyframe.
    KeyframeWanted,
    Ended(PeerEnd),
}

pub enum Role {
    /// Frames go to the stream through `frames`.
    Publisher { frames: mpsc::Sender<MediaFrame> },
    /// Frames come from the stream through the player group of the peer's media thread.
    Player(StreamLink),
    /// A SIP call: what the browser sends goes to the call, what the call sends comes back.
    /// `pending` is the server's offer while the browser has not answered (incoming calls).
    Call { to_call: mpsc::Sender<MediaFrame>, from_call: mpsc::Receiver<MediaFrame>, pending: Option<SdpPendingOffer> },
}

/// A player's ties to its stream.
pub struct StreamLink {
    pub subscription: u64,
    pub stream_key: u64,
    /// Told which group the player joined.
    pub join: Recipient<JoinGroup>,
    /// Asked for keyframes.
    pub keyframes: Recipient<KeyframeWanted>,
    pub unsubscribe: Recipient<Unsubscribe>,
}

enum Side {
    Publisher { frames: mpsc::Sender<MediaFrame>, keyframe_requests: KeyframeRequests },
    /// `sender`: what sends its media, made when DTLS has agreed the keys and shared with the
    /// player group; `group`: the group joined when the actor started; `remote`: where the
    /// browser takes the media (see `follow_browser`).
    Player {
        link: StreamLink,
        own_sending: OwnSending,
        sender: SenderSlot,
        group: Option<u64>,
        remote: Option<SocketAddr>,
    },
    /// `picture_started`: a keyframe of the call's video went to the browser, so the rest decodes;
    /// until then the call is asked for one, at most every [`KEYFRAME_WANTED_INTERVAL`].
    Call { to_call: mpsc::Sender<MediaFrame>, pending: Option<SdpPendingOffer>, picture_started: bool, last_keyframe_wanted: Option<Instant> },
}

/// How often a player reports what it sent: the first report of each track lets the browser
/// line audio up with video, the later ones follow the drift of the publisher's clocks.
const SENDER_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest time between two keyframe requests to a publishing browser.
const PUBLISHER_KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

/// How often a call's browser side asks again for the keyframe it waits for.
const KEYFRAME_WANTED_INTERVAL: Duration = Duration::from_secs(1);

pub struct WebRtcPeer {
    id: u64,
    media_session_id: String,
    rtc: Rtc,
    ice_ufrag: String,
    audio: Option<NegotiatedTrack>,
    video: Option<NegotiatedTrack>,
    side: Side,
    socket: Arc<MediaSocket>,
    /// The address of our host candidate: what str0m expects as the destination of datagrams
    /// (the socket may be bound to 0.0.0.0).
    local: SocketAddr,
    owner: Recipient<PeerEvent>,
    metrics: Metrics,
    span: Span,
    wake: Option<(Instant, SpawnHandle)>,
    /// Ends the peer if ICE and DTLS are not up in time; cancelled when they are, so that no
    /// timer is left for the actor to look at on every frame.
    connect_deadline: Option<SpawnHandle>,
    /// A player's next sender reports, due on the same timer as str0m's timeouts.
    next_reports: Option<Instant>,
    connected: bool,
    ended: bool,
    /// A call's frames, waiting to be attached when the actor starts.
    pending_frames: Option<mpsc::Receiver<MediaFrame>>,
    /// Datagrams of the current turn, handed to the thread's outbox when it ends.
    outbox: Vec<(SocketAddr, Vec<u8>)>,
}

impl WebRtcPeer {
    pub fn new(
        media_session_id: String,
        setup: PeerSetup,
        role: Role,
        socket: Arc<MediaSocket>,
        local: SocketAddr,
        owner: Recipient<PeerEvent>,
        metrics: Metrics,
    ) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let (side, pending_frames) = match role {
            Role::Publisher { frames } => (Side::Publisher { frames, keyframe_requests: KeyframeRequests::new(PUBLISHER_KEYFRAME_REQUEST_INTERVAL) }, None),
            Role::Player(link) => {
                let own_sending = setup.own_sending.clone().unwrap_or_default();
                (Side::Player { link, own_sending, sender: SenderSlot::default(), group: None, remote: None }, None)
            }
            Role::Call { to_call, from_call, pending } => {
                (Side::Call { to_call, pending, picture_started: false, last_keyframe_wanted: None }, Some(from_call))
            }
        };
        let span = tracing::info_span!("peer", id = %media_session_id);
        WebRtcPeer {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            media_session_id,
            rtc: setup.rtc,
            ice_ufrag: setup.ice_ufrag,
            audio: setup.audio,
            video: setup.video,
            side,
            socket,
            local,
            owner,
            metrics,
            span,
            wake: None,
            connect_deadline: None,
            next_reports: None,
            connected: false,
            ended: false,
            pending_frames,
            outbox: Vec::new(),
        }
    }

    /// Runs one mutation of the `Rtc` and then everything it wants done, under the panic guard
    /// (str0m panics on internal bugs by design).
    fn drive(&mut self, ctx: &mut Context<Self>, mutate: impl FnOnce(&mut Self) -> Result<(), String>) {
        if self.ended {
            return;
        }
        let outcome = guarded(|| {
            mutate(self)?;
            let drained = self.drain(ctx);
            media_outbox::send_soon(&self.socket, &mut self.outbox);
            drained
        });
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => self.end(PeerEnd::Dtls(error), ctx),
            Err(panic) => {
                tracing::error!(parent: &self.span, %panic, "peer panicked");
                self.metrics.error("panic");
                self.end(PeerEnd::Internal(panic), ctx);
            }
        }
    }

    /// Carries out everything the `Rtc` wants now. str0m packetizes written media on its next
    /// timeout, and asks for that timeout "now": it is given right away rather than through a
    /// timer, so a frame leaves in the same turn it was written.
    fn drain(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        let mut immediate_timeouts = 0;
        loop {
            if self.ended {
                return Ok(());
            }
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Transmit(t) => {
                    if !self.admit_str0m_transmit(t.destination, &t.contents) {
                        self.metrics.media_dropped("player_srtp_from_str0m");
                        continue;
                    }
                    self.outbox.push((t.destination, t.contents.into()));
                }
                Output::Timeout(at) => {
                    let now = Instant::now();
                    if at <= now && immediate_timeouts < MAX_IMMEDIATE_TIMEOUTS {
                        immediate_timeouts += 1;
                        self.rtc.handle_input(Input::Timeout(now)).map_err(|e| e.to_string())?;
                        continue;
                    }
                    self.schedule(self.next_reports.map_or(at, |reports| reports.min(at)), ctx);
                    return Ok(());
                }
                Output::Event(event) => self.on_event(event, ctx),
            }
        }
    }

    fn schedule(&mut self, at: Instant, ctx: &mut Context<Self>) {
        if let Some((pending, handle)) = self.wake {
            if pending <= at {
                return;
            }
            ctx.cancel_future(handle);
        }
        let delay = at.saturating_duration_since(Instant::now()).max(MIN_WAKE);
        let handle = ctx.run_later(delay, |act, ctx| {
            act.wake = None;
            act.send_reports_if_due(Instant::now());
            act.drive(ctx, |act| act.rtc.handle_input(Input::Timeout(Instant::now())).map_err(|e| e.to_string()));
        });
        self.wake = Some((at, handle));
    }

    fn on_event(&mut self, event: Event, ctx: &mut Context<Self>) {
        match event {
            Event::Connected => {
                if let Err(why) = self.start_sending() {
                    tracing::error!(parent: &self.span, %why, "player cannot send");
                    self.end(PeerEnd::Internal(why), ctx);
                    return;
                }
                if let Some(deadline) = self.connect_deadline.take() {
                    ctx.cancel_future(deadline);
                }
                if matches!(self.side, Side::Player { .. }) {
                    self.next_reports = Some(Instant::now() + SENDER_REPORT_INTERVAL);
                }
                self.connected = true;
                tracing::info!(parent: &self.span, "connected (ICE + DTLS)");
                let _ = self.owner.try_send(PeerEvent { media_session_id: self.media_session_id.clone(), kind: PeerEventKind::Connected });
                if let Side::Player { link, .. } = &self.side {
                    let _ = link.keyframes.try_send(KeyframeWanted);
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => self.end(PeerEnd::IceDisconnected, ctx),
            Event::MediaData(data) => self.on_media_data(data),
            Event::RawPacket(raw) => self.on_player_rtcp(&raw),
            _ => {}
        }
    }

    /// A player's str0m has no send streams (see `peer_setup::take_send_stream`), so the
    /// browser's NACKs and keyframe requests are taken from the raw RTCP.
    fn on_player_rtcp(&mut self, raw: &RawPacket) {
        let (RawPacket::RtcpRx(rtcp), Side::Player { sender, link, .. }) = (raw, &mut self.side) else { return };
        match rtcp {
            Rtcp::Nack(nack) => {
                let mut sender = sender.borrow_mut();
                let Some(sender) = sender.as_mut() else { return };
                let lost = nack.reports.iter().flat_map(|entry| lost_sequences(entry.pid, entry.blp));
                let resent = sender.resend(*nack.ssrc, lost, &mut self.outbox);
                self.metrics.media_resent.inc_by(resent as u64);
            }
            Rtcp::Pli(_) | Rtcp::Fir(_) => {
                let _ = link.keyframes.try_send(KeyframeWanted);
            }
            _ => {}
        }
    }

    /// Publisher or call: a depacketized frame goes to the stream or the call.
    fn on_media_data(&mut self, data: MediaData) {
        let frames = match &self.side {
            Side::Publisher { frames, .. } => frames,
            Side::Call { to_call, .. } => to_call,
            Side::Player { .. } => return,
        };
        let kind = if self.video.as_ref().is_some_and(|t| t.mid == data.mid) {
            MediaKind::Video
        } else if self.audio.as_ref().is_some_and(|t| t.mid == data.mid) {
            MediaKind::Audio
        } else {
            return;
        };
        let keyframe = match kind {
            MediaKind::Audio => true,
            MediaKind::Video => is_keyframe(&data.codec_extra),
        };
        let frame = MediaFrame {
            kind,
            time: data.time.numer(),
            clock_rate: data.time.denom(),
            received: data.network_time,
            keyframe,
            data: data.data,
            rtp_payloads: Default::default(),
        };
        if frames.try_send(frame).is_err() {
            self.metrics.error("publisher_frame_dropped");
        }
        if kind == MediaKind::Video && !data.contiguous {
            self.request_keyframe();
        } else if let Side::Publisher { keyframe_requests, .. } = &mut self.side {
            // The publisher's own media is the clock for a request that had to wait.
            if keyframe_requests.due(Instant::now()) {
                self.send_keyframe_request();
            }
        }
    }

    /// Asks the browser for a keyframe of what it sends (a publisher or a call; a player
    /// sends only).
    fn request_keyframe(&mut self) {
        if self.video.is_none() || matches!(self.side, Side::Player { .. }) {
            return;
        }
        if let Side::Publisher { keyframe_requests, .. } = &mut self.side {
            if !keyframe_requests.ask(Instant::now()) {
                return;
            }
        }
        self.send_keyframe_request();
    }

    /// A PLI, or a FIR where the browser takes no PLI, for the video it sends.
    fn send_keyframe_request(&mut self) {
        let Some(video) = &self.video else { return };
        if let Some(mut writer) = self.rtc.writer(video.mid) {
            let kind =
                if writer.is_request_keyframe_possible(KeyframeRequestKind::Pli) { KeyframeRequestKind::Pli } else { KeyframeRequestKind::Fir };
            let _ = writer.request_keyframe(None, kind);
        }
    }

    /// A call: writes one frame to the browser, which str0m cuts into packets.
    fn write_frame(&mut self, frame: MediaFrame) -> Result<(), String> {
        if !self.connected {
            return Ok(());
        }
        let track = match frame.kind {
            MediaKind::Audio => self.audio.as_ref(),
            MediaKind::Video => self.video.as_ref(),
        };
        let Some(track) = track else { return Ok(()) };
        match &mut self.side {
            Side::Call { picture_started, last_keyframe_wanted, .. } if frame.kind == MediaKind::Video && !*picture_started => {
                if !frame.keyframe {
                    if last_keyframe_wanted.is_none_or(|at| at.elapsed() >= KEYFRAME_WANTED_INTERVAL) {
                        *last_keyframe_wanted = Some(Instant::now());
                        let _ = self.owner.try_send(PeerEvent { media_session_id: self.media_session_id.clone(), kind: PeerEventKind::KeyframeWanted });
                    }
                    return Ok(());
                }
                *picture_started = true;
            }
            _ => {}
        }
        let (mid, pt) = (track.mid, track.pt);
        let Some(clock) = Frequency::new(frame.clock_rate) else { return Ok(()) };
        let time = MediaTime::new(frame.time, clock);
        let Some(writer) = self.rtc.writer(mid) else { return Ok(()) };
        writer.write(pt, frame.received, time, frame.data).map_err(|e| e.to_string())
    }

    /// Whether str0m's datagram may go: never SRTP or SRTCP of a player's str0m, whose counters
    /// know nothing of the player's packets under the same keys (an SRTCP index used twice would
    /// undo AES-GCM). With no send streams (`peer_setup::take_send_stream`) it has none to send;
    /// this keeps it so. Where its DTLS goes is the address ICE nominated, where the player's
    /// media goes (STUN answers go to every address that checks, so they do not count).
    fn admit_str0m_transmit(&mut self, destination: SocketAddr, contents: &[u8]) -> bool {
        let Some(&first) = contents.first() else { return true };
        if matches!(self.side, Side::Player { .. }) && is_rtp_or_rtcp(first) {
            return false;
        }
        if first >= 4 {
            self.follow_browser(destination);
        }
        true
    }

    /// A player's media goes to `address` from now on: where its DTLS went, then where the
    /// browser's RTCP comes from (ICE verified it), which follows the browser to another pair.
    fn follow_browser(&mut self, address: SocketAddr) {
        let Side::Player { remote, sender, .. } = &mut self.side else { return };
        if *remote != Some(address) {
            *remote = Some(address);
            if let Some(sender) = sender.borrow_mut().as_mut() {
                sender.set_destination(address);
            }
        }
    }

    /// A player, once connected: its sender from the keys DTLS agreed and the SSRCs str0m
    /// announced in the answer.
    fn start_sending(&mut self) -> Result<(), String> {
        let Side::Player { own_sending, sender, remote, .. } = &mut self.side else { return Ok(()) };
        let keys = own_sending.keys.get().ok_or("DTLS reported no SRTP keys")?;
        let srtp = SrtpSender::new(default_provider(), keys).ok_or_else(|| format!("unknown SRTP profile {:?}", keys.profile))?;
        let destination = remote.ok_or("no address for media")?;
        let params = |track: &Option<NegotiatedTrack>, ssrc: Option<u32>| {
            track.as_ref().zip(ssrc).map(|(track, ssrc)| TrackParams { ssrc, pt: *track.pt, clock_rate: track.codec.clock_rate, codec: track.codec.name })
        };
        let (audio, video) = (params(&self.audio, own_sending.audio_ssrc), params(&self.video, own_sending.video_ssrc));
        let span = &self.span;
        tracing::debug!(parent: span, profile = ?keys.profile, %destination, "player protects its own media");
        *sender.borrow_mut() = Some(Box::new(PlayerSender::new(srtp, destination, self.media_session_id.clone(), audio, video, own_sending.resend_packets)));
        Ok(())
    }

    fn send_reports_if_due(&mut self, now: Instant) {
        if self.next_reports.is_none_or(|due| due > now) {
            return;
        }
        self.next_reports = Some(now + SENDER_REPORT_INTERVAL);
        if let Side::Player { sender, .. } = &self.side {
            if let Some(sender) = sender.borrow_mut().as_mut() {
                sender.sender_reports(now, &mut self.outbox);
            }
        }
    }

    /// Ends the peer and tells its session why.
    fn end(&mut self, why: PeerEnd, ctx: &mut Context<Self>) {
        if self.ended {
            return;
        }
        tracing::info!(parent: &self.span, reason = ?why, "peer ended");
        let _ = self.owner.try_send(PeerEvent { media_session_id: self.media_session_id.clone(), kind: PeerEventKind::Ended(why) });
        self.ended = true;
        if let Side::Player { sender, .. } = &self.side {
            // The group sends nothing more for an ended player, even before it leaves the group.
            sender.borrow_mut().take();
        }
        ctx.stop();
    }
}

/// The first byte of an RTP or RTCP packet among the protocols of one port (RFC 7983).
fn is_rtp_or_rtcp(first: u8) -> bool {
    (128..192).contains(&first)
}

impl Actor for WebRtcPeer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(512);
        self.metrics.peers.inc();
        self.socket.register(self.id, &self.ice_ufrag, ctx.address().recipient());
        if let Some(frames) = self.pending_frames.take() {
            ctx.add_stream(futures_lite_stream(frames));
        }
        if let Side::Player { link, sender, group, .. } = &mut self.side {
            let member = Member { subscription: link.subscription, sender: sender.clone(), news: ctx.address().recipient() };
            let joined = player_group::join(link.stream_key, &self.socket, member);
            *group = Some(joined.group);
            // Should the stream be gone, the message and its sender are dropped, the group's
            // channel closes, and the group tells its players.
            link.join.do_send(JoinGroup { subscription: link.subscription, group: joined.group, frames: joined.frames });
        }
        self.connect_deadline = Some(ctx.run_later(CONNECT_TIMEOUT, |act, ctx| {
            if !act.connected {
                act.end(PeerEnd::IceTimeout, ctx);
            }
        }));
        self.drive(ctx, |_| Ok(()));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.metrics.peers.dec();
        self.socket.unregister(self.id, &self.ice_ufrag);
        if let Side::Player { link, group, .. } = &self.side {
            if let Some(group) = group {
                player_group::leave(link.stream_key, *group, link.subscription);
            }
            // Not `try_send`: a full mailbox must not leave the stream counting a viewer gone.
            link.unsubscribe.do_send(Unsubscribe { id: link.subscription });
        }
        self.rtc.disconnect();
    }
}

/// A receiver as a `Stream` of frames, for `add_stream`.
fn futures_lite_stream(frames: mpsc::Receiver<MediaFrame>) -> impl futures_core::Stream<Item = MediaFrame> {
    futures_util::stream::unfold(frames, |mut rx| async move { rx.recv().await.map(|frame| (frame, rx)) })
}

impl StreamHandler<MediaFrame> for WebRtcPeer {
    fn handle(&mut self, frame: MediaFrame, ctx: &mut Context<Self>) {
        self.drive(ctx, |act| act.write_frame(frame));
    }

    /// The call's media ended.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.end(PeerEnd::PublisherStopped, ctx);
    }
}

impl Handler<GroupNews> for WebRtcPeer {
    type Result = ();
    fn handle(&mut self, news: GroupNews, ctx: &mut Context<Self>) {
        match news {
            GroupNews::StreamEnded => self.end(PeerEnd::PublisherStopped, ctx),
            GroupNews::SendPanicked(panic) => {
                tracing::error!(parent: &self.span, %panic, "sending to the player panicked");
                self.metrics.error("panic");
                self.end(PeerEnd::Internal(panic), ctx);
            }
        }
    }
}

impl Handler<Datagram> for WebRtcPeer {
    type Result = ();
    fn handle(&mut self, datagram: Datagram, ctx: &mut Context<Self>) {
        let destination = self.local;
        let metrics = self.metrics.clone();
        self.drive(ctx, |act| {
            let Ok(contents) = datagram.data.as_slice().try_into() else {
                metrics.media_dropped("unparseable");
                return Ok(());
            };
            let input = Input::Receive(
                datagram.received,
                Receive { proto: Protocol::Udp, source: datagram.source, destination, contents },
            );
            // Only STUN, and what comes from an address ICE verified, reaches DTLS and SRTP.
            if !act.rtc.accepts(&input) {
                metrics.media_dropped("unverified_source");
                return Ok(());
            }
            if datagram.data.first().is_some_and(|&first| is_rtp_or_rtcp(first)) {
                act.follow_browser(datagram.source);
            }
            act.rtc.handle_input(input).map_err(|e| e.to_string())
        });
    }
}

impl Handler<RequestKeyframe> for WebRtcPeer {
    type Result = ();
    fn handle(&mut self, _: RequestKeyframe, ctx: &mut Context<Self>) {
        self.drive(ctx, |act| {
            act.request_keyframe();
            Ok(())
        });
    }
}

/// The browser's answer to the server's offer of a call (`answer`).
#[derive(Message)]
#[rtype(result = "Result<(), SetupError>")]
pub struct ApplyAnswer {
    pub sdp: String,
}

impl Handler<ApplyAnswer> for WebRtcPeer {
    type Result = Result<(), SetupError>;
    fn handle(&mut self, msg: ApplyAnswer, ctx: &mut Context<Self>) -> Self::Result {
        let Side::Call { pending, .. } = &mut self.side else { return Err(SetupError::Rejected("not a call".into())) };
        let pending = pending.take().ok_or_else(|| SetupError::Rejected("the call was answered already".into()))?;
        let mut result = Ok(());
        self.drive(ctx, |act| {
            result = accept_call_answer(&mut act.rtc, pending, &msg.sdp);
            Ok(())
        });
        result
    }
}

/// The session is done with this peer (unpublish, stop, session end): no event comes back.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopPeer;

impl Handler<StopPeer> for WebRtcPeer {
    type Result = ();
    fn handle(&mut self, _: StopPeer, ctx: &mut Context<Self>) {
        self.ended = true;
        ctx.stop();
    }
}
