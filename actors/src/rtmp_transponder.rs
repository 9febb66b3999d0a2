//! One RTMP push ("transponder", seed 002): a subscriber of a stream that publishes it to an
//! RTMP server. H.264 passes through (Annex B to FLV, sequence header from SPS/PPS, starting at
//! a keyframe); audio comes as AAC from the stream's transcoder, or as silence while muted, or
//! from a sound file while one plays. A slow or dead RTMP server only ever costs this
//! transponder frames: the stream and its other subscribers never wait for it.

use crate::media::h264;
use crate::media::{CodecName, MediaFrame, MediaKind, StreamTracks};
use crate::media_context::PushSettings;
use crate::metrics::Metrics;
use crate::panic_guard::guarded;
use crate::registry::{Registry, ReleaseTransponder, TransponderSummary, UpdateTransponder};
use crate::rtmp::flv;
use crate::rtmp::media_clock::MediaClock;
use crate::rtmp::publisher::{AuthStage, PublishRequest, PublisherEvent, RtmpPublisher};
use crate::rtmp::target::RtmpTarget;
use crate::stream::{AudioForm, VideoForm, KeyframeWanted, RelayStreamEvent, Stream, Subscribe, Unsubscribe};
use crate::transcode::{SoundFrames, AAC_SAMPLE_RATE};
use actix::prelude::*;
use futures_util::StreamExt;
use rml_rtmp::rml_amf0::Amf0Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::Span;

/// Messages queued for the RTMP server before media is dropped (a few seconds of media).
const WRITE_QUEUE: usize = 512;
const SUMMARY_INTERVAL: Duration = Duration::from_secs(2);

struct Connection {
    generation: u64,
    publisher: RtmpPublisher,
    writer: mpsc::Sender<Vec<u8>>,
}

struct SoundPlayback {
    frames: SoundFrames,
    next: usize,
    looped: bool,
}

pub struct RtmpTransponder {
    summary: TransponderSummary,
    target: RtmpTarget,
    stream: Addr<Stream>,
    /// The video size the push asked for; None keeps the stream's.
    video_size: Option<(u32, u32)>,
    subscription: Option<u64>,
    registry: Addr<Registry>,
    metrics: Metrics,
    settings: Arc<PushSettings>,
    span: Span,
    auth: AuthStage,
    connection: Option<Connection>,
    generation: u64,
    tracks: StreamTracks,
    clock: MediaClock,
    parameter_sets: Option<(Vec<u8>, Vec<u8>)>,
    video_started: bool,
    audio_header_sent: bool,
    silence: Option<Arc<[u8]>>,
    sound: Option<SoundPlayback>,
    /// Failed or stopping: media is ignored.
    done: bool,
}

impl RtmpTransponder {
    pub fn new(
        summary: TransponderSummary,
        target: RtmpTarget,
        stream: Addr<Stream>,
        video_size: Option<(u32, u32)>,
        registry: Addr<Registry>,
        settings: Arc<PushSettings>,
        metrics: Metrics,
    ) -> Self {
        let span = tracing::info_span!("rtmp", id = %summary.media_session_id, stream = %summary.source_stream_name);
        RtmpTransponder {
            summary,
            target,
            stream,
            video_size,
            subscription: None,
            registry,
            metrics,
            settings,
            span,
            auth: AuthStage::Plain,
            connection: None,
            generation: 0,
            tracks: StreamTracks::default(),
            clock: MediaClock::default(),
            parameter_sets: None,
            video_started: false,
            audio_header_sent: false,
            silence: None,
            sound: None,
            done: false,
        }
    }

    fn publish_summary(&self) {
        self.registry.do_send(UpdateTransponder { summary: self.summary.clone() });
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        self.generation += 1;
        let generation = self.generation;
        let (host, port, timeout) = (self.target.host.clone(), self.target.port, self.settings.connect_timeout);
        let connecting = async move { tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await };
        ctx.spawn(connecting.into_actor(self).map(move |connected, act, ctx| {
            if act.done || generation != act.generation {
                return;
            }
            match connected {
                Ok(Ok(socket)) => act.on_connected(socket, generation, ctx),
                Ok(Err(e)) => act.fail("connect", format!("Cannot connect to {}: {e}", act.summary.rtmp_url), ctx),
                Err(_) => act.fail("connect", format!("Connecting to {} timed out", act.summary.rtmp_url), ctx),
            }
        }));
    }

    fn on_connected(&mut self, socket: TcpStream, generation: u64, ctx: &mut Context<Self>) {
        let _ = socket.set_nodelay(true);
        let (reader, mut writer) = socket.into_split();
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        actix::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let incoming = tokio_util::io::ReaderStream::new(reader)
            .map(move |read| Incoming::Data { generation, read })
            .chain(futures_util::stream::once(async move { Incoming::Closed { generation } }));
        ctx.add_stream(incoming);
        let request = PublishRequest {
            app: self.target.app.clone(),
            tc_url: self.target.tc_url.clone(),
            stream_name: self.target.stream_name.clone(),
            credentials: self.target.credentials.clone(),
        };
        match RtmpPublisher::new(request, self.auth.clone()) {
            Ok((publisher, c0c1)) => {
                self.connection = Some(Connection { generation, publisher, writer: tx });
                self.write(c0c1, ctx);
            }
            Err(e) => self.fail("protocol", e, ctx),
        }
    }

    fn on_bytes(&mut self, bytes: &[u8], ctx: &mut Context<Self>) {
        let Some(connection) = self.connection.as_mut() else { return };
        let step = match guarded(|| connection.publisher.handle_input(bytes)) {
            Ok(Ok(step)) => step,
            Ok(Err(e)) => return self.fail("protocol", format!("RTMP protocol error: {e}"), ctx),
            Err(panic) => return self.fail("protocol", format!("RTMP protocol error: {panic}"), ctx),
        };
        if !step.send.is_empty() {
            self.write(step.send, ctx);
        }
        for event in step.events {
            match event {
                PublisherEvent::Publishing => {
                    let _entered = self.span.clone().entered();
                    tracing::info!(url = %self.summary.rtmp_url, name = %self.target.stream_name, "publishing to RTMP");
                    self.summary.status = "PUBLISHING".into();
                    self.summary.info.clear();
                    self.publish_summary();
                    self.send_metadata(ctx);
                    self.stream.do_send(KeyframeWanted);
                }
                PublisherEvent::Reconnect(stage) => {
                    let _entered = self.span.clone().entered();
                    tracing::info!("RTMP server asks for authentication; reconnecting");
                    self.connection = None;
                    self.auth = stage;
                    self.connect(ctx);
                    return;
                }
                PublisherEvent::Refused(reason) => return self.fail("refused", reason, ctx),
            }
        }
    }

    fn send_metadata(&mut self, ctx: &mut Context<Self>) {
        let mut properties = vec![("duration", Amf0Value::Number(0.0))];
        if self.tracks.video.is_some() {
            properties.push(("videocodecid", Amf0Value::Number(7.0)));
            if self.summary.width > 0 {
                properties.push(("width", Amf0Value::Number(f64::from(self.summary.width))));
                properties.push(("height", Amf0Value::Number(f64::from(self.summary.height))));
            }
        }
        if self.tracks.audio.is_some() {
            properties.push(("audiocodecid", Amf0Value::Number(10.0)));
            properties.push(("audiosamplerate", Amf0Value::Number(f64::from(AAC_SAMPLE_RATE))));
            properties.push(("stereo", Amf0Value::Boolean(self.audio_channels() == Some(2))));
        }
        properties.push(("encoder", Amf0Value::Utf8String(format!("ferrophone {}", env!("CARGO_PKG_VERSION")))));
        if let Some(bytes) = self.connection.as_mut().and_then(|c| c.publisher.metadata(properties).ok()) {
            self.write(bytes, ctx);
        }
    }

    /// Queues bytes for the RTMP server. When the queue is full the message is lost; as every
    /// media message goes with a full chunk header, losing one breaks nothing but the picture,
    /// which restarts at the next keyframe with fresh headers.
    fn write(&mut self, bytes: Vec<u8>, ctx: &mut Context<Self>) {
        let Some(connection) = &self.connection else { return };
        let len = bytes.len() as u64;
        match connection.writer.try_send(bytes) {
            Ok(()) => {
                self.summary.bytes_sent += len;
                self.metrics.rtmp_bytes_sent.inc_by(len);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.rtmp_frames_dropped.inc();
                self.video_started = false;
                self.parameter_sets = None;
                self.audio_header_sent = false;
                self.stream.do_send(KeyframeWanted);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.fail("closed", "The RTMP connection is gone".into(), ctx),
        }
    }

    fn on_frame(&mut self, frame: MediaFrame, ctx: &mut Context<Self>) {
        if self.done || !self.connection.as_ref().is_some_and(|c| c.publisher.is_publishing()) {
            return;
        }
        let result = match frame.kind {
            MediaKind::Video => self.video_frame(&frame),
            MediaKind::Audio => self.audio_frame(&frame),
        };
        match result {
            Ok(messages) => {
                for bytes in messages {
                    self.write(bytes, ctx);
                }
            }
            Err(e) => self.fail("protocol", e, ctx),
        }
    }

    fn video_frame(&mut self, frame: &MediaFrame) -> Result<Vec<Vec<u8>>, String> {
        if self.tracks.video.as_ref().map(|c| c.name) != Some(CodecName::H264) || (!self.video_started && !frame.keyframe) {
            return Ok(vec![]);
        }
        let mut messages = Vec::new();
        let timestamp = self.clock.timestamp_ms(MediaKind::Video, frame.time, frame.clock_rate, frame.received);
        let publisher = &mut self.connection.as_mut().ok_or("no connection")?.publisher;
        if let Some(sets) = h264::parameter_sets(&frame.data) {
            if self.parameter_sets.as_ref() != Some(&sets) {
                if let Some((width, height)) = h264::sps_resolution(&sets.0) {
                    if (width, height) != (self.summary.width, self.summary.height) {
                        self.summary.width = width;
                        self.summary.height = height;
                        self.registry.do_send(UpdateTransponder { summary: self.summary.clone() });
                    }
                }
                let record = h264::decoder_configuration_record(&sets.0, &sets.1).ok_or("unusable SPS/PPS")?;
                messages.push(publisher.video(timestamp, flv::avc_sequence_header(&record), true)?);
                self.parameter_sets = Some(sets);
            }
        }
        if self.parameter_sets.is_none() {
            // A keyframe without SPS/PPS and none seen before: nothing can decode it yet.
            return Ok(messages);
        }
        self.video_started = true;
        let body = flv::avc_frame(frame.keyframe, 0, &h264::to_length_prefixed(&frame.data));
        messages.push(publisher.video(timestamp, body, true)?);
        Ok(messages)
    }

    fn audio_frame(&mut self, frame: &MediaFrame) -> Result<Vec<Vec<u8>>, String> {
        if self.tracks.audio.as_ref().map(|c| c.name) != Some(CodecName::Aac) {
            return Ok(vec![]);
        }
        let timestamp = self.clock.timestamp_ms(MediaKind::Audio, frame.time, frame.clock_rate, frame.received);
        let payload = self.audio_payload(frame);
        let channels = self.audio_channels().unwrap_or(2);
        let publisher = &mut self.connection.as_mut().ok_or("no connection")?.publisher;
        let mut messages = Vec::new();
        if !self.audio_header_sent {
            let config = flv::aac_lc_audio_specific_config(AAC_SAMPLE_RATE, channels);
            messages.push(publisher.audio(timestamp, flv::aac_sequence_header(&config), true)?);
            self.audio_header_sent = true;
        }
        messages.push(publisher.audio(timestamp, flv::aac_frame(&payload), true)?);
        Ok(messages)
    }

    /// The sound file's next frame while one plays, silence while muted, else the stream's.
    fn audio_payload(&mut self, frame: &MediaFrame) -> Arc<[u8]> {
        if let Some(sound) = &mut self.sound {
            if sound.next >= sound.frames.len() && sound.looped {
                sound.next = 0;
            }
            if let Some(payload) = sound.frames.get(sound.next) {
                sound.next += 1;
                return payload.clone();
            }
            self.sound = None;
            self.summary.sound_enabled = false;
            self.publish_summary();
        }
        match (&self.silence, self.summary.muted) {
            (Some(silence), true) => silence.clone(),
            _ => frame.data.clone(),
        }
    }

    /// The AAC channels of the pushed audio, if there is AAC.
    fn audio_channels(&self) -> Option<u8> {
        self.tracks.audio.as_ref().filter(|c| c.name == CodecName::Aac).map(|c| c.channels.unwrap_or(2))
    }

    /// The push failed: it stays listed as FAILED with the reason for a while, then goes.
    fn fail(&mut self, kind: &'static str, reason: String, ctx: &mut Context<Self>) {
        if self.done {
            return;
        }
        let _entered = self.span.clone().entered();
        tracing::warn!(kind, "RTMP push failed: {reason}");
        self.metrics.rtmp_failures.get_or_create(&crate::metrics::KindLabels { kind }).inc();
        self.done = true;
        self.connection = None;
        self.unsubscribe();
        self.summary.status = "FAILED".into();
        self.summary.info = reason;
        self.publish_summary();
        ctx.run_later(self.settings.failed_linger, |_, ctx| ctx.stop());
    }

    fn unsubscribe(&mut self) {
        if let Some(id) = self.subscription.take() {
            self.stream.do_send(Unsubscribe { id });
        }
    }

    /// Ends the push politely (FCUnpublish, deleteStream) and goes away.
    fn stop(&mut self, info: &str, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        tracing::info!("RTMP push ends: {info}");
        if let Some(mut connection) = self.connection.take() {
            let bye = connection.publisher.finish();
            if !bye.is_empty() {
                let _ = connection.writer.try_send(bye);
            }
        }
        self.done = true;
        self.unsubscribe();
        ctx.stop();
    }
}

impl Actor for RtmpTransponder {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.metrics.rtmp_transponders.inc();
        ctx.run_interval(SUMMARY_INTERVAL, |act, _| {
            if !act.done {
                act.publish_summary();
            }
        });
        ctx.run_interval(self.settings.keyframe_interval, |act, _| {
            if !act.done {
                act.stream.do_send(KeyframeWanted);
            }
        });
        let subscribe = Subscribe {
            media_session_id: self.summary.media_session_id.clone(),
            events: ctx.address().recipient(),
            audio: AudioForm::Aac,
            video: VideoForm::H264 { size: self.video_size },
        };
        ctx.wait(self.stream.send(subscribe).into_actor(self).map(|subscription, act, ctx| {
            let Ok(subscription) = subscription else {
                return act.fail("source", "Stream not found".into(), ctx);
            };
            act.subscription = Some(subscription.id);
            act.tracks = subscription.tracks;
            act.silence = subscription.aac_silence;
            if let Some(video) = &act.tracks.video {
                if video.name != CodecName::H264 {
                    let codec = video.describe();
                    return act.fail("codec", format!("The stream's video is {codec}; RTMP takes H.264"), ctx);
                }
            }
            let frames = subscription.frames;
            ctx.add_stream(futures_util::stream::unfold(frames, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) }));
            act.connect(ctx);
        }));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.metrics.rtmp_transponders.dec();
        self.unsubscribe();
        self.registry.do_send(ReleaseTransponder { media_session_id: self.summary.media_session_id.clone() });
    }
}

/// What the RTMP connection's reader produces.
enum Incoming {
    Data { generation: u64, read: std::io::Result<bytes::Bytes> },
    Closed { generation: u64 },
}

impl StreamHandler<Incoming> for RtmpTransponder {
    fn handle(&mut self, incoming: Incoming, ctx: &mut Context<Self>) {
        let current = self.connection.as_ref().map(|c| c.generation);
        match incoming {
            Incoming::Data { generation, read: Ok(bytes) } if Some(generation) == current => self.on_bytes(&bytes, ctx),
            Incoming::Data { generation, read: Err(e) } if Some(generation) == current => {
                self.fail("closed", format!("RTMP connection failed: {e}"), ctx)
            }
            Incoming::Closed { generation } if Some(generation) == current => {
                let publishing = self.connection.as_ref().is_some_and(|c| c.publisher.is_publishing());
                if publishing {
                    self.fail("closed", "The RTMP server closed the connection".into(), ctx)
                } else {
                    self.fail("refused", "The RTMP server closed the connection before the publish started (refused)".into(), ctx)
                }
            }
            _ => {}
        }
    }

    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl StreamHandler<MediaFrame> for RtmpTransponder {
    fn handle(&mut self, frame: MediaFrame, ctx: &mut Context<Self>) {
        self.on_frame(frame, ctx);
    }

    /// The source stream ended (its publisher left).
    fn finished(&mut self, ctx: &mut Context<Self>) {
        if !self.done {
            self.stop("Source stream ended", ctx);
        }
    }
}

/// Stream events are for WebRTC players; a push has no use for them.
impl Handler<RelayStreamEvent> for RtmpTransponder {
    type Result = ();
    fn handle(&mut self, _: RelayStreamEvent, _: &mut Context<Self>) {}
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct StopTransponder {
    pub info: String,
}

impl Handler<StopTransponder> for RtmpTransponder {
    type Result = ();
    fn handle(&mut self, msg: StopTransponder, ctx: &mut Context<Self>) {
        self.stop(&msg.info, ctx);
    }
}

/// `/push/mute`, `/push/unmute`: silence instead of the stream's audio, without a gap.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetMuted(pub bool);

impl Handler<SetMuted> for RtmpTransponder {
    type Result = ();
    fn handle(&mut self, SetMuted(muted): SetMuted, _: &mut Context<Self>) {
        self.summary.muted = muted;
        self.publish_summary();
    }
}

/// `/push/sound_on`: the file's audio instead of the stream's, once or in a loop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SoundOn {
    pub frames: SoundFrames,
    pub looped: bool,
}

impl Handler<SoundOn> for RtmpTransponder {
    type Result = ();
    fn handle(&mut self, msg: SoundOn, _: &mut Context<Self>) {
        self.sound = Some(SoundPlayback { frames: msg.frames, next: 0, looped: msg.looped });
        self.summary.sound_enabled = true;
        self.publish_summary();
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct SoundOff;

impl Handler<SoundOff> for RtmpTransponder {
    type Result = ();
    fn handle(&mut self, _: SoundOff, _: &mut Context<Self>) {
        self.sound = None;
        self.summary.sound_enabled = false;
        self.publish_summary();
    }
}

/// The AAC channel count of the push (None without audio), for encoding sound files to match.
#[derive(Message)]
#[rtype(result = "Option<u8>")]
pub struct AudioChannels;

impl Handler<AudioChannels> for RtmpTransponder {
    type Result = Option<u8>;
    fn handle(&mut self, _: AudioChannels, _: &mut Context<Self>) -> Option<u8> {
        self.audio_channels()
    }
}
