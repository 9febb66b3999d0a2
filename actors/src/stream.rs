//! A named stream: one publisher's frames fanned out to many subscribers (WebRTC viewers, RTMP
//! transponders, recorders, SIP legs) behind one interface, a bounded channel per subscriber,
//! or per player group: the WebRTC players of one media thread share one channel
//! (`player_group`). A subscriber or group whose channel is full loses frames (video until the
//! next keyframe), which is counted and never slows the publisher or the other subscribers.

use crate::media::{CodecName, KeyframeRequests, MediaFrame, MediaKind, StreamTracks, TrackCodec};
use crate::metrics::{Metrics, StreamLabels};
use crate::registry::{Registry, StreamStatsUpdate};
use crate::transcode::{opus_fmtp_allows_stereo, opus_is_stereo, spawn_audio_to_aac, spawn_to_h264, VideoInput, AAC_SAMPLE_RATE};
use actix::prelude::*;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Frames a subscriber may be behind before it starts losing them (~1 s of audio and video).
pub const SUBSCRIBER_QUEUE: usize = 96;
/// Frames between the publisher and its stream.
pub const PUBLISHER_QUEUE: usize = 96;
/// Keyframe requests to the publisher are at most this frequent.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Asks the publisher for a keyframe (PLI).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RequestKeyframe;

/// A stream event (`sendStreamEvent` of the publisher) for one subscriber's session, with the
/// subscriber's own mediaSessionId (spec §3.7).
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct RelayStreamEvent {
    pub media_session_id: String,
    pub event_type: String,
    pub payload: Option<Value>,
}

/// In which form a subscriber takes the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioForm {
    AsPublished,
    /// AAC, for RTMP: the stream transcodes once for all such subscribers.
    Aac,
}

/// In which form a subscriber takes the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoForm {
    AsPublished,
    /// H.264, for RTMP: a VP8 stream transcodes once for all such subscribers; with a `size`,
    /// any stream is scaled to it, once per size.
    H264 { size: Option<(u32, u32)> },
}

/// Which of the stream's H.264 transcoders: the one at the source's size (VP8 streams), or the
/// one at a size asked for.
type H264Size = Option<(u32, u32)>;

/// Where a subscriber's frames go.
enum Sink {
    /// A channel of its own, under its own drop policy.
    Channel { frames: mpsc::Sender<MediaFrame>, policy: DropPolicy },
    /// A player, fed through its media thread's group once it has joined it.
    AwaitingGroup,
    Group(u64),
}

/// The channel of one media thread's player group.
struct GroupSink {
    frames: mpsc::Sender<MediaFrame>,
    members: u64,
    policy: DropPolicy,
}

/// The drop policy of the module docs, for one channel: a subscriber's or a group's.
struct DropPolicy {
    /// Video starts at a keyframe, and starts again at one after a loss.
    waiting_keyframe: bool,
    /// It fell behind: what it skips until the next keyframe is lost, and counted.
    behind: bool,
}

/// What became of a frame offered to a channel.
enum Offered {
    Sent,
    /// A delta frame before the first keyframe: nothing lost.
    Skipped,
    /// Lost, and counted; `gap`: video just fell behind, so a keyframe is wanted.
    Lost { gap: bool },
    Closed,
}

impl DropPolicy {
    fn new(has_video: bool) -> Self {
        DropPolicy { waiting_keyframe: has_video, behind: false }
    }

    fn offer(&mut self, frame: &MediaFrame, to: &mpsc::Sender<MediaFrame>) -> Offered {
        let video = frame.kind == MediaKind::Video;
        if video && self.waiting_keyframe {
            if !frame.keyframe {
                return if self.behind { Offered::Lost { gap: false } } else { Offered::Skipped };
            }
            self.waiting_keyframe = false;
            self.behind = false;
        }
        match to.try_send(frame.clone()) {
            Ok(()) => Offered::Sent,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if video {
                    self.waiting_keyframe = true;
                    self.behind = true;
                }
                Offered::Lost { gap: video }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Offered::Closed,
        }
    }
}

struct Subscriber {
    sink: Sink,
    audio: AudioForm,
    /// Gets the video of one of the stream's H.264 transcoders rather than the publisher's.
    transcoded_video: Option<H264Size>,
    media_session_id: String,
    events: Recipient<RelayStreamEvent>,
}

struct StreamCounters {
    labels: StreamLabels,
    frames_in: Counter,
    bytes_in: Counter,
    frames_out: Counter,
    frames_dropped: Counter,
    viewers: Gauge,
}

pub struct Stream {
    /// Tells this stream from any other, for the player groups of the media threads.
    key: u64,
    publisher_media_session_id: String,
    tracks: StreamTracks,
    publisher: Recipient<RequestKeyframe>,
    subscribers: HashMap<u64, Subscriber>,
    groups: HashMap<u64, GroupSink>,
    next_subscriber: u64,
    keyframe_requests: KeyframeRequests,
    registry: Addr<Registry>,
    metrics: Metrics,
    counters: StreamCounters,
    bytes_since_stats: u64,
    span: tracing::Span,
    name: String,
    aac_bitrate: usize,
    /// The Opus → AAC transcoder while someone takes AAC.
    aac: Option<AacSide>,
    /// The H.264 transcoders while someone takes their video.
    h264: HashMap<H264Size, mpsc::Sender<VideoInput>>,
    h264_bitrate: usize,
    /// Whether the publisher's last Opus packet was stereo: AAC follows it.
    opus_stereo: Option<bool>,
    aac_channels: u8,
    /// Told whether anyone subscribes, for a publisher that works only then (a call's audio).
    listened: Option<Arc<AtomicBool>>,
}

struct AacSide {
    input: mpsc::Sender<MediaFrame>,
    silence: Arc<[u8]>,
}

/// An AAC frame from the stream's transcoder.
struct TranscodedAudio(MediaFrame);

/// An H.264 frame from one of the stream's video transcoders.
struct TranscodedVideo(H264Size, MediaFrame);

impl StreamCounters {
    /// Counts a frame offered to the channel of `viewers`; whether video fell behind.
    fn count(&self, offered: &Offered, viewers: u64) -> bool {
        match offered {
            Offered::Sent => {
                self.frames_out.inc_by(viewers);
            }
            Offered::Lost { gap } => {
                self.frames_dropped.inc_by(viewers);
                return *gap;
            }
            Offered::Skipped | Offered::Closed => {}
        }
        false
    }
}

impl Stream {
    pub fn new(
        name: String,
        publisher_media_session_id: String,
        tracks: StreamTracks,
        publisher: Recipient<RequestKeyframe>,
        registry: Addr<Registry>,
        metrics: Metrics,
    ) -> Self {
        let labels = StreamLabels { stream: name.clone() };
        let counters = StreamCounters {
            frames_in: metrics.stream_frames_in.get_or_create(&labels).clone(),
            bytes_in: metrics.stream_bytes_in.get_or_create(&labels).clone(),
            frames_out: metrics.stream_frames_out.get_or_create(&labels).clone(),
            frames_dropped: metrics.stream_frames_dropped.get_or_create(&labels).clone(),
            viewers: metrics.stream_viewers.get_or_create(&labels).clone(),
            labels,
        };
        let span = tracing::info_span!("stream", name = %name);
        static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
        Stream {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            name,
            aac_bitrate: 96_000,
            aac: None,
            h264: HashMap::new(),
            h264_bitrate: 1_000_000,
            opus_stereo: None,
            aac_channels: 2,
            listened: None,
            publisher_media_session_id,
            tracks,
            publisher,
            subscribers: HashMap::new(),
            groups: HashMap::new(),
            next_subscriber: 1,
            keyframe_requests: KeyframeRequests::new(KEYFRAME_REQUEST_INTERVAL),
            registry,
            metrics,
            counters,
            bytes_since_stats: 0,
            span,
        }
    }

    fn request_keyframe(&mut self) {
        if self.tracks.video.is_some() && self.keyframe_requests.ask(Instant::now()) {
            self.send_keyframe_request();
        }
    }

    fn send_keyframe_request(&mut self) {
        let _ = self.publisher.try_send(RequestKeyframe);
        // The transcoders' encoders make their own keyframes: they need not wait for the publisher's.
        for h264 in self.h264.values() {
            let _ = h264.try_send(VideoInput::Keyframe);
        }
    }

    fn report_stats(&mut self) {
        let bitrate_kbps = self.bytes_since_stats * 8 / 1000 / STATS_INTERVAL.as_secs().max(1);
        self.bytes_since_stats = 0;
        self.counters.viewers.set(self.subscribers.len() as i64);
        self.registry.do_send(StreamStatsUpdate {
            media_session_id: self.publisher_media_session_id.clone(),
            viewers: self.subscribers.len(),
            bitrate_kbps,
        });
    }
}

impl Actor for Stream {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(STATS_INTERVAL, |act, _| act.report_stats());
        let _entered = self.span.enter();
        tracing::info!(audio = ?self.tracks.audio.as_ref().map(|c| c.describe()), video = ?self.tracks.video.as_ref().map(|c| c.describe()), "stream published");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        let _entered = self.span.enter();
        tracing::info!(viewers = self.subscribers.len(), "stream ended");
        // Dropping the senders ends every subscriber's and group's channel: they learn the
        // publisher left.
        self.subscribers.clear();
        self.groups.clear();
        let m = &self.metrics;
        let labels = &self.counters.labels;
        m.stream_frames_in.remove(labels);
        m.stream_bytes_in.remove(labels);
        m.stream_frames_out.remove(labels);
        m.stream_frames_dropped.remove(labels);
        m.stream_viewers.remove(labels);
    }
}

impl StreamHandler<MediaFrame> for Stream {
    fn handle(&mut self, frame: MediaFrame, _: &mut Context<Self>) {
        self.counters.frames_in.inc();
        self.counters.bytes_in.inc_by(frame.data.len() as u64);
        self.bytes_since_stats += frame.data.len() as u64;
        // The publisher's frames are the clock for a keyframe request that had to wait.
        if self.keyframe_requests.due(Instant::now()) {
            self.send_keyframe_request();
        }
        if frame.kind == MediaKind::Audio && self.tracks.audio.as_ref().is_some_and(|a| a.name == CodecName::Opus) {
            self.opus_stereo = Some(opus_is_stereo(&frame.data));
        }
        let transcoder_took = match frame.kind {
            MediaKind::Audio => self.aac.as_ref().map(|aac| aac.input.try_send(frame.clone()).is_ok()),
            MediaKind::Video if !self.h264.is_empty() => {
                // Every transcoder gets the frame, whether or not another one was full.
                let mut all_took = true;
                for h264 in self.h264.values() {
                    all_took &= h264.try_send(VideoInput::Frame(frame.clone())).is_ok();
                }
                Some(all_took)
            }
            MediaKind::Video => None,
        };
        if transcoder_took == Some(false) {
            self.counters.frames_dropped.inc();
        }
        self.fan_out(&frame, |s| match frame.kind {
            MediaKind::Audio => s.audio == AudioForm::AsPublished,
            MediaKind::Video => s.transcoded_video.is_none(),
        });
        self.fan_out_to_groups(&frame);
    }

    /// The publisher's channel closed: the publisher is gone, so is the stream.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl StreamHandler<TranscodedVideo> for Stream {
    fn handle(&mut self, TranscodedVideo(size, frame): TranscodedVideo, _: &mut Context<Self>) {
        self.fan_out(&frame, |s| s.transcoded_video == Some(size));
    }

    /// A transcoder stopped (none of its subscribers is left); the stream goes on.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl StreamHandler<TranscodedAudio> for Stream {
    fn handle(&mut self, TranscodedAudio(frame): TranscodedAudio, _: &mut Context<Self>) {
        self.fan_out(&frame, |s| s.audio == AudioForm::Aac);
    }

    /// The transcoder stopped (no AAC subscriber is left); the stream goes on.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl Stream {
    /// Sets how audio and video for RTMP are encoded when they must be.
    /// `flag` follows whether the stream has subscribers.
    pub fn telling_whether_listened(mut self, flag: Arc<AtomicBool>) -> Self {
        flag.store(false, Ordering::Relaxed);
        self.listened = Some(flag);
        self
    }

    /// The subscribers changed: the viewers gauge and the listened flag follow.
    fn subscribers_changed(&mut self) {
        self.counters.viewers.set(self.subscribers.len() as i64);
        if let Some(flag) = &self.listened {
            flag.store(!self.subscribers.is_empty(), Ordering::Relaxed);
        }
    }

    pub fn with_transcoding_bitrates(mut self, aac: usize, h264: usize) -> Self {
        self.aac_bitrate = aac;
        self.h264_bitrate = h264;
        self
    }

    /// Hands `frame` to every subscriber `wants` it, by the drop policy of the module docs.
    fn fan_out(&mut self, frame: &MediaFrame, wants: impl Fn(&Subscriber) -> bool) {
        let mut lost_video = false;
        let mut gone = Vec::new();
        for (id, subscriber) in self.subscribers.iter_mut().filter(|(_, s)| wants(s)) {
            let Sink::Channel { frames, policy } = &mut subscriber.sink else { continue };
            let offered = policy.offer(frame, frames);
            if matches!(offered, Offered::Closed) {
                gone.push(*id);
            }
            lost_video |= self.counters.count(&offered, 1);
        }
        if !gone.is_empty() {
            for id in gone {
                self.subscribers.remove(&id);
            }
            self.subscribers_changed();
        }
        if lost_video {
            self.request_keyframe();
        }
        self.stop_unused_transcoder();
    }

    /// Hands `frame` to every player group, by the same drop policy: a group's players take the
    /// frames as published.
    fn fan_out_to_groups(&mut self, frame: &MediaFrame) {
        let mut lost_video = false;
        for group in self.groups.values_mut() {
            // A group's channel stays open while this stream holds its sender: never `Closed`.
            let offered = group.policy.offer(frame, &group.frames);
            lost_video |= self.counters.count(&offered, group.members);
        }
        if lost_video {
            self.request_keyframe();
        }
    }

    /// Takes subscriber `id` out; a group without members is let go, which closes its channel
    /// unless a player about to join holds it open.
    fn remove_subscriber(&mut self, id: u64) {
        if let Some(Subscriber { sink: Sink::Group(group), .. }) = self.subscribers.remove(&id) {
            if let Some(sink) = self.groups.get_mut(&group) {
                sink.members -= 1;
                if sink.members == 0 {
                    self.groups.remove(&group);
                }
            }
        }
        self.subscribers_changed();
        self.stop_unused_transcoder();
    }

    /// The AAC form of the audio, for a new AAC subscriber: the transcoder starts with the
    /// first one. None when the stream's audio cannot become AAC.
    fn aac_track(&mut self, ctx: &mut Context<Self>) -> Option<(TrackCodec, Arc<[u8]>)> {
        let audio = self.tracks.audio.as_ref()?;
        // Mono AAC costs half, and browsers send mono unless stereo was agreed in the SDP: the
        // packets seen so far decide, or else what the publisher offered. Phones are mono.
        let stereo = audio.name == CodecName::Opus && self.opus_stereo.unwrap_or_else(|| opus_fmtp_allows_stereo(&audio.fmtp));
        let channels = if self.aac.is_some() { self.aac_channels } else if stereo { 2 } else { 1 };
        if self.aac.is_none() {
            let bitrate = self.aac_bitrate * usize::from(channels) / 2;
            match spawn_audio_to_aac(&self.name, audio.name, bitrate, channels) {
                Ok(track) => {
                    ctx.add_stream(futures_util::stream::unfold(track.output, |mut rx| async move {
                        rx.recv().await.map(|f| (TranscodedAudio(f), rx))
                    }));
                    self.aac = Some(AacSide { input: track.input, silence: track.silence });
                    self.aac_channels = channels;
                    tracing::info!(parent: &self.span, from = ?audio.name, channels, "AAC transcoding started");
                }
                Err(e) => {
                    tracing::warn!(parent: &self.span, error = %e, "no AAC for this audio; RTMP gets video only");
                    return None;
                }
            }
        }
        let codec = TrackCodec { name: CodecName::Aac, clock_rate: AAC_SAMPLE_RATE, channels: Some(channels), fmtp: String::new() };
        Some((codec, self.aac.as_ref()?.silence.clone()))
    }

    /// The H.264 form of the video (a VP8 stream's, or any at a size asked for) for a new
    /// subscriber: its transcoder starts with the first one. None when it cannot start.
    fn h264_track(&mut self, size: H264Size, ctx: &mut Context<Self>) -> Option<TrackCodec> {
        if !self.h264.contains_key(&size) {
            let source = self.tracks.video.as_ref()?.name;
            match spawn_to_h264(&self.name, source, size, self.h264_bitrate) {
                Ok(track) => {
                    ctx.add_stream(futures_util::stream::unfold(track.output, move |mut rx| async move {
                        rx.recv().await.map(|f| (TranscodedVideo(size, f), rx))
                    }));
                    self.h264.insert(size, track.input);
                    tracing::info!(parent: &self.span, from = ?source, ?size, "H.264 transcoding started");
                    // The decoder needs a keyframe to begin with.
                    self.keyframe_requests = KeyframeRequests::new(KEYFRAME_REQUEST_INTERVAL);
                    self.request_keyframe();
                }
                Err(e) => {
                    tracing::error!(parent: &self.span, error = %e, "cannot start H.264 transcoding");
                    return None;
                }
            }
        }
        Some(TrackCodec {
            name: CodecName::H264,
            clock_rate: 90_000,
            channels: None,
            fmtp: "packetization-mode=1;profile-level-id=42c01f".into(),
        })
    }

    fn stop_unused_transcoder(&mut self) {
        if self.aac.is_some() && !self.subscribers.values().any(|s| s.audio == AudioForm::Aac) {
            self.aac = None;
            tracing::info!(parent: &self.span, "Opus to AAC transcoding stopped");
        }
        let subscribers = &self.subscribers;
        let before = self.h264.len();
        self.h264.retain(|size, _| subscribers.values().any(|s| s.transcoded_video == Some(*size)));
        if self.h264.len() < before {
            tracing::info!(parent: &self.span, left = self.h264.len(), "H.264 transcoding stopped");
        }
    }
}

/// What a new subscriber gets: the stream's codecs and its own channel of frames.
pub struct Subscription {
    pub id: u64,
    /// The codecs this subscriber gets (AAC audio when it asked for it and it is possible).
    pub tracks: StreamTracks,
    pub frames: mpsc::Receiver<MediaFrame>,
    /// One AAC frame of silence, when the audio is AAC.
    pub aac_silence: Option<Arc<[u8]>>,
}

#[derive(Message)]
#[rtype(result = "Subscription")]
pub struct Subscribe {
    pub media_session_id: String,
    pub events: Recipient<RelayStreamEvent>,
    pub audio: AudioForm,
    pub video: VideoForm,
}

impl Handler<Subscribe> for Stream {
    type Result = MessageResult<Subscribe>;
    fn handle(&mut self, msg: Subscribe, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        let sink = Sink::Channel { frames: tx, policy: DropPolicy::new(self.tracks.video.is_some()) };
        let (id, tracks, aac_silence) = self.add_subscriber(msg, sink, ctx);
        MessageResult(Subscription { id, tracks, frames: rx, aac_silence })
    }
}

/// What a new WebRTC player gets: its subscription, the codecs, and the key of the stream whose
/// group on its media thread it joins (`player_group::join`, then [`JoinGroup`]).
pub struct PlayerSubscription {
    pub id: u64,
    pub tracks: StreamTracks,
    pub stream_key: u64,
}

/// Subscribes a WebRTC player, which takes the frames as published through its media thread's
/// player group.
#[derive(Message)]
#[rtype(result = "PlayerSubscription")]
pub struct SubscribePlayer {
    pub media_session_id: String,
    pub events: Recipient<RelayStreamEvent>,
}

impl Handler<SubscribePlayer> for Stream {
    type Result = MessageResult<SubscribePlayer>;
    fn handle(&mut self, msg: SubscribePlayer, ctx: &mut Context<Self>) -> Self::Result {
        let subscribe = Subscribe { media_session_id: msg.media_session_id, events: msg.events, audio: AudioForm::AsPublished, video: VideoForm::AsPublished };
        let (id, tracks, _) = self.add_subscriber(subscribe, Sink::AwaitingGroup, ctx);
        MessageResult(PlayerSubscription { id, tracks, stream_key: self.key })
    }
}

/// A player joined its media thread's group, whose channel is `frames`: the stream feeds the
/// group from now on, through the first sender it got for it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct JoinGroup {
    pub subscription: u64,
    pub group: u64,
    pub frames: mpsc::Sender<MediaFrame>,
}

impl Handler<JoinGroup> for Stream {
    type Result = ();
    fn handle(&mut self, msg: JoinGroup, _: &mut Context<Self>) {
        // A player that left before this came has nothing to join.
        let Some(subscriber) = self.subscribers.get_mut(&msg.subscription) else { return };
        if !matches!(subscriber.sink, Sink::AwaitingGroup) {
            return;
        }
        subscriber.sink = Sink::Group(msg.group);
        let policy = DropPolicy::new(self.tracks.video.is_some());
        let group = self.groups.entry(msg.group).or_insert_with(|| GroupSink { frames: msg.frames, members: 0, policy });
        group.members += 1;
    }
}

impl Stream {
    /// Adds a subscriber taking its frames through `sink`: its id, its codecs and, for AAC, a
    /// frame of silence.
    fn add_subscriber(&mut self, msg: Subscribe, sink: Sink, ctx: &mut Context<Self>) -> (u64, StreamTracks, Option<Arc<[u8]>>) {
        let mut tracks = self.tracks.clone();
        let mut aac_silence = None;
        if msg.audio == AudioForm::Aac {
            let aac = self.aac_track(ctx);
            tracks.audio = aac.as_ref().map(|(codec, _)| codec.clone());
            aac_silence = aac.map(|(_, silence)| silence);
        }
        let transcoded_video = match msg.video {
            VideoForm::H264 { size: Some(size) } if self.tracks.video.is_some() => Some(Some(size)),
            VideoForm::H264 { size: None } if self.tracks.video.as_ref().is_some_and(|v| v.name == CodecName::Vp8) => Some(None),
            _ => None,
        };
        if let Some(size) = transcoded_video {
            tracks.video = self.h264_track(size, ctx);
        }
        let id = self.next_subscriber;
        self.next_subscriber += 1;
        self.subscribers.insert(
            id,
            Subscriber {
                sink,
                audio: msg.audio,
                transcoded_video,
                media_session_id: msg.media_session_id,
                events: msg.events,
            },
        );
        self.subscribers_changed();
        if let Some(h264) = transcoded_video.and_then(|size| self.h264.get(&size)) {
            let _ = h264.try_send(VideoInput::Keyframe);
        }
        (id, tracks, aac_silence)
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub id: u64,
}

impl Handler<Unsubscribe> for Stream {
    type Result = ();
    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        self.remove_subscriber(msg.id);
    }
}

/// A subscriber needs a keyframe (it joined, or its viewer lost packets and sent a PLI).
#[derive(Message)]
#[rtype(result = "()")]
pub struct KeyframeWanted;

impl Handler<KeyframeWanted> for Stream {
    type Result = ();
    fn handle(&mut self, _: KeyframeWanted, _: &mut Context<Self>) {
        self.request_keyframe();
    }
}

/// The publisher's `sendStreamEvent` (mute, unmute, data) for every subscriber.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PublisherEvent {
    pub event_type: String,
    pub payload: Option<Value>,
}

impl Handler<PublisherEvent> for Stream {
    type Result = ();
    fn handle(&mut self, msg: PublisherEvent, _: &mut Context<Self>) {
        for subscriber in self.subscribers.values() {
            let _ = subscriber.events.try_send(RelayStreamEvent {
                media_session_id: subscriber.media_session_id.clone(),
                event_type: msg.event_type.clone(),
                payload: msg.payload.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Publisher;
    impl Actor for Publisher {
        type Context = Context<Self>;
    }
    impl Handler<RequestKeyframe> for Publisher {
        type Result = ();
        fn handle(&mut self, _: RequestKeyframe, _: &mut Context<Self>) {}
    }
    struct Events;
    impl Actor for Events {
        type Context = Context<Self>;
    }
    impl Handler<RelayStreamEvent> for Events {
        type Result = ();
        fn handle(&mut self, _: RelayStreamEvent, _: &mut Context<Self>) {}
    }

    fn frame(n: u64, keyframe: bool) -> MediaFrame {
        MediaFrame {
            kind: MediaKind::Video,
            time: n * 3000,
            clock_rate: 90_000,
            received: Instant::now(),
            keyframe,
            data: Arc::from(n.to_be_bytes().to_vec()),
            rtp_payloads: Default::default(),
        }
    }

    fn number(f: &MediaFrame) -> u64 {
        u64::from_be_bytes(f.data[..8].try_into().unwrap())
    }

    /// A started stream `name` of VP8 video, the publisher's side of its channel and its metrics.
    fn video_stream(name: &str) -> (Addr<Stream>, mpsc::Sender<MediaFrame>, Metrics) {
        let tracks = StreamTracks {
            audio: None,
            video: Some(TrackCodec { name: CodecName::Vp8, clock_rate: 90_000, channels: None, fmtp: String::new() }),
        };
        let metrics = Metrics::new();
        let (input, frames) = mpsc::channel(PUBLISHER_QUEUE);
        let stream = Stream::create(|ctx| {
            ctx.add_stream(futures_util::stream::unfold(frames, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) }));
            Stream::new(name.into(), "p".into(), tracks, Publisher.start().recipient(), Registry::new().start(), metrics.clone())
        });
        (stream, input, metrics)
    }

    #[actix::test]
    async fn a_slow_subscriber_loses_video_until_a_keyframe_and_slows_no_one() {
        let (stream, input, metrics) = video_stream("s");
        let subscribe = || Subscribe { media_session_id: "v".into(), events: Events.start().recipient(), audio: AudioForm::AsPublished, video: VideoForm::AsPublished };
        let mut fast = stream.send(subscribe()).await.unwrap();
        let mut slow = stream.send(subscribe()).await.unwrap();

        // A delta frame before any keyframe reaches nobody; then a keyframe and a long GOP.
        input.send(frame(0, false)).await.unwrap();
        let total = SUBSCRIBER_QUEUE as u64 + 50;
        for n in 1..=total {
            input.send(frame(n, n == 1)).await.unwrap();
            // The fast subscriber keeps up; the slow one reads nothing.
            let got = fast.frames.recv().await.unwrap();
            assert_eq!(number(&got), n);
        }
        // The slow one got a full queue from the first keyframe on, and lost the rest.
        let mut seen = Vec::new();
        while let Ok(f) = slow.frames.try_recv() {
            seen.push(number(&f));
        }
        assert_eq!(seen, (1..=SUBSCRIBER_QUEUE as u64).collect::<Vec<_>>());

        // Now it reads again, but gets no delta frame it could not decode: video resumes at
        // the next keyframe.
        input.send(frame(total + 1, false)).await.unwrap();
        input.send(frame(total + 2, true)).await.unwrap();
        assert_eq!(number(&fast.frames.recv().await.unwrap()), total + 1);
        assert_eq!(number(&fast.frames.recv().await.unwrap()), total + 2);
        assert_eq!(number(&slow.frames.recv().await.unwrap()), total + 2);
        let dropped = metrics.stream_frames_dropped.get_or_create(&StreamLabels { stream: "s".into() }).get();
        assert_eq!(dropped, total - SUBSCRIBER_QUEUE as u64 + 1, "frames 97..=146 and the delta 147");
    }

    /// The players of one media thread take each frame once through their group's channel,
    /// counted for each of them; the channel closes when the last one leaves.
    #[actix::test]
    async fn a_player_group_gets_each_frame_once_for_all_its_players() {
        let (stream, input, metrics) = video_stream("g");
        let subscribe = || SubscribePlayer { media_session_id: "v".into(), events: Events.start().recipient() };
        let (first, second) = (stream.send(subscribe()).await.unwrap(), stream.send(subscribe()).await.unwrap());
        assert_eq!(first.stream_key, second.stream_key);
        let (group_frames, mut group) = mpsc::channel(8);
        for player in [&first, &second] {
            stream.send(JoinGroup { subscription: player.id, group: 7, frames: group_frames.clone() }).await.unwrap();
        }
        drop(group_frames);

        // Video starts at a keyframe for the group too.
        for n in 0..4 {
            input.send(frame(n, n == 1)).await.unwrap();
        }
        for n in 1..4 {
            assert_eq!(number(&group.recv().await.unwrap()), n);
        }
        let labels = StreamLabels { stream: "g".into() };
        assert_eq!(metrics.stream_frames_out.get_or_create(&labels).get(), 6, "three frames for each of two players");

        // One player leaving keeps the channel; the last one closes it.
        stream.send(Unsubscribe { id: first.id }).await.unwrap();
        input.send(frame(4, false)).await.unwrap();
        assert_eq!(number(&group.recv().await.unwrap()), 4);
        stream.send(Unsubscribe { id: second.id }).await.unwrap();
        assert!(group.recv().await.is_none(), "the group's channel closed");
    }

    /// A group whose channel is full loses video until the next keyframe, as a subscriber does,
    /// and the loss is counted for each of its players.
    #[actix::test]
    async fn a_group_that_falls_behind_loses_video_until_a_keyframe() {
        let (stream, input, metrics) = video_stream("b");
        let subscribe = || SubscribePlayer { media_session_id: "v".into(), events: Events.start().recipient() };
        let (first, second) = (stream.send(subscribe()).await.unwrap(), stream.send(subscribe()).await.unwrap());
        let (group_frames, mut group) = mpsc::channel(2);
        for player in [&first, &second] {
            stream.send(JoinGroup { subscription: player.id, group: 1, frames: group_frames.clone() }).await.unwrap();
        }
        // The group reads nothing while a keyframe and four delta frames come.
        for n in 0..5 {
            input.send(frame(n, n == 0)).await.unwrap();
        }
        // It reads again: the delta frame 5 is skipped, the keyframe 6 resumes the video.
        assert_eq!(number(&group.recv().await.unwrap()), 0);
        assert_eq!(number(&group.recv().await.unwrap()), 1);
        input.send(frame(5, false)).await.unwrap();
        input.send(frame(6, true)).await.unwrap();
        assert_eq!(number(&group.recv().await.unwrap()), 6);
        let labels = StreamLabels { stream: "b".into() };
        assert_eq!(metrics.stream_frames_dropped.get_or_create(&labels).get(), 8, "frames 2, 3, 4 and 5 for each of two players");
        assert_eq!(metrics.stream_frames_out.get_or_create(&labels).get(), 6, "frames 0, 1 and 6 for each of two players");
    }
}
