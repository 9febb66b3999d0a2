//! A session's streams (spec §3): publishing and playing through WebRTC peers, stopping,
//! availability and stream events. The session owns its peers; the registry knows the names.

use super::ClientSession;
use crate::media::{CodecName, StreamTracks};
use crate::panic_guard::guarded;
use crate::push::{start_push, PushRequest};
use crate::registry::{
    ClaimError, ClaimMediaSession, FindStream, ReleaseMediaSession, StreamPublished, StreamSummary, TerminateStream, UpdateMediaSession,
};
use crate::media_context::{MediaContext, MediaWorker};
use crate::recorder::recording_path;
use crate::recordings::StartRecording;
use crate::stream::{PlayerSubscription, RelayStreamEvent, Stream, SubscribePlayer, PUBLISHER_QUEUE};
use crate::webrtc::peer_setup::{setup_player, setup_publisher, PeerSetup, SetupParams};
use crate::webrtc_peer::{PeerEnd, PeerEvent, PeerEventKind, Role, StopPeer, StreamLink, WebRtcPeer};
use crate::websdk::stream_status::{info, status, MutedState};
use crate::websdk::{ServerEvent, StreamEvent, StreamRef, StreamRequest, StreamStatusEvent};
use actix::prelude::*;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// A publisher or player this session owns.
pub(super) struct OwnedStream {
    peer: Addr<WebRtcPeer>,
    /// A publisher's own stream.
    stream: Option<Addr<Stream>>,
    /// The last status sent, reused for the next one.
    event: StreamStatusEvent,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn status_event(request: &StreamRequest, published: bool, tracks: &StreamTracks) -> StreamStatusEvent {
    StreamStatusEvent {
        media_session_id: request.media_session_id.clone(),
        name: request.name.clone(),
        published,
        has_audio: tracks.audio.is_some(),
        has_video: tracks.video.is_some(),
        status: status::FAILED,
        info: String::new(),
        audio_codec: tracks.audio.as_ref().map(|c| c.describe()),
        video_codec: tracks.video.as_ref().map(|c| c.describe()),
        record: false,
        record_name: None,
        width: 0,
        height: 0,
        bitrate: 0,
        min_bitrate: 0,
        max_bitrate: 0,
        quality: 0,
        create_date: now_ms(),
        media_provider: "WebRTC",
        audio_state: MutedState { muted: false },
        video_state: MutedState { muted: false },
    }
}

impl ClientSession {
    fn summary_of(&self, event: &StreamStatusEvent) -> StreamSummary {
        StreamSummary {
            media_session_id: event.media_session_id.clone(),
            name: event.name.clone(),
            published: event.published,
            status: event.status.to_owned(),
            session_id: self.id.clone(),
            media_provider: "WebRTC".into(),
            media_type: if event.published { "publish" } else { "play" }.into(),
            has_audio: event.has_audio,
            has_video: event.has_video,
            audio_codec: event.audio_codec.clone(),
            video_codec: event.video_codec.clone(),
            viewers: event.published.then_some(0),
            bitrate: 0,
            create_date: event.create_date,
        }
    }

    /// FAILED for a stream that never started (or `status` + `info` for one that did not exist).
    fn refuse(&mut self, request: &StreamRequest, published: bool, info: &str, ctx: &mut Context<Self>) {
        tracing::info!(media_session_id = %request.media_session_id, name = %request.name, "stream refused: {info}");
        let mut event = status_event(request, published, &StreamTracks::default());
        event.info = info.to_owned();
        self.send(ServerEvent::StreamStatus(Box::new(event)), ctx);
    }

    /// Checks shared by publish and play; the offer when they pass.
    fn check_request(&mut self, request: &StreamRequest, published: bool, ctx: &mut Context<Self>) -> Option<String> {
        let problem = if self.streams.contains_key(&request.media_session_id) {
            info::ID_IN_USE.to_owned()
        } else if request.media_provider != "WebRTC" {
            // MSE and WSPlayer need transports this server does not offer (spec §9).
            info::NO_COMMON_CODECS.to_owned()
        } else if request.name.trim().is_empty() {
            "Stream name is empty".to_owned()
        } else if let Some(sdp) = &request.sdp {
            return Some(sdp.clone());
        } else {
            "Bad SDP: the request carries no offer".to_owned()
        };
        self.refuse(request, published, &problem, ctx);
        None
    }

    /// For a peer on `worker`, whose port its candidate names.
    fn setup_params<'a>(&'a self, offer: &'a str, stream_id: &'a str, worker: &MediaWorker) -> SetupParams<'a> {
        SetupParams {
            offer,
            candidate: worker.candidate,
            identity: &self.media.identity,
            stream_id,
            resend_buffers: self.media.resend_buffers,
            now: Instant::now(),
        }
    }

    pub(super) fn publish(&mut self, request: StreamRequest, ctx: &mut Context<Self>) {
        let Some(offer) = self.check_request(&request, true, ctx) else { return };
        // A stream bound for RTMP asks for H.264 when the browser offers it: no transcoding.
        let bound_for_rtmp = request.rtmp_url.is_some() || self.media.push.auto_start_url.is_some();
        let prefer = bound_for_rtmp.then_some(CodecName::H264);
        let worker = self.media.worker();
        let setup = match guarded(|| setup_publisher(&self.setup_params(&offer, &request.name, &worker), prefer)) {
            Ok(Ok(setup)) => setup,
            Ok(Err(e)) => return self.refuse(&request, true, &e.info(), ctx),
            Err(panic) => {
                tracing::error!(%panic, "panic while answering a publish offer");
                return self.refuse(&request, true, "Failed by error", ctx);
            }
        };
        let mut event = status_event(&request, true, &setup.tracks());
        event.status = "PENDING";
        let claim = ClaimMediaSession { summary: self.summary_of(&event), owner: ctx.address().recipient() };
        ctx.wait(self.registry.send(claim).into_actor(self).map(move |claimed, act, ctx| match claimed {
            Ok(Ok(())) => act.start_publishing(request, worker, setup, event, ctx),
            Ok(Err(ClaimError::NameInUse)) => act.refuse(&request, true, info::NAME_IN_USE, ctx),
            Ok(Err(ClaimError::MediaSessionIdInUse)) => act.refuse(&request, true, info::ID_IN_USE, ctx),
            Err(_) => act.refuse(&request, true, "Failed by error", ctx),
        }));
    }

    /// The publisher's peer and its stream, both on `worker`: frames between them never wake
    /// another thread.
    fn start_publishing(&mut self, request: StreamRequest, worker: MediaWorker, setup: PeerSetup, mut event: StreamStatusEvent, ctx: &mut Context<Self>) {
        let id = request.media_session_id.clone();
        let answer = setup.answer.clone();
        let tracks = setup.tracks();
        let (frames_tx, frames_rx) = mpsc::channel(PUBLISHER_QUEUE);
        let peer = {
            let (id, socket, local, owner, metrics) =
                (id.clone(), worker.socket.clone(), worker.candidate, ctx.address().recipient(), self.metrics.clone());
            WebRtcPeer::start_in_arbiter(&worker.arbiter, move |_| {
                WebRtcPeer::new(id, setup, Role::Publisher { frames: frames_tx }, socket, local, owner, metrics)
            })
        };
        let (aac, h264) = (self.media.push.aac_bitrate, self.media.push.h264_bitrate);
        let stream = {
            let (name, id, keyframes, registry, metrics) =
                (request.name.clone(), id.clone(), peer.clone().recipient(), self.registry.clone(), self.metrics.clone());
            Stream::start_in_arbiter(&worker.arbiter, move |ctx| {
                ctx.add_stream(futures_util::stream::unfold(frames_rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) }));
                Stream::new(name, id, tracks, keyframes, registry, metrics).with_transcoding_bitrates(aac, h264)
            })
        };
        self.registry.do_send(StreamPublished { media_session_id: id.clone(), name: request.name.clone(), stream: stream.clone() });
        if request.record {
            let file = record(&self.media, &id, &request.name, stream.clone());
            event.record = file.is_some();
            event.record_name = file.and_then(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
        self.send(ServerEvent::SetRemoteSdp { id: id.clone(), sdp: answer }, ctx);
        event.status = status::PUBLISHING;
        self.send(ServerEvent::StreamStatus(Box::new(event.clone())), ctx);
        self.registry.do_send(UpdateMediaSession { summary: self.summary_of(&event) });
        tracing::info!(media_session_id = %id, name = %request.name, "publishing");
        self.streams.insert(id, OwnedStream { peer, stream: Some(stream), event });
        self.start_pushes(&request, ctx);
    }

    /// `rtmpUrl` on the publish (WebRTC as RTMP, spec §6.7) and `rtmp_push_auto_start`: the
    /// stream is republished as soon as it is publishing. A push that fails is logged and
    /// listed in `/push/find_all`; the stream goes on.
    fn start_pushes(&mut self, request: &StreamRequest, ctx: &mut Context<Self>) {
        let urls = request.rtmp_url.iter().chain(self.media.push.auto_start_url.iter());
        for rtmp_url in urls {
            let push = PushRequest {
                stream_name: request.name.clone(),
                rtmp_url: rtmp_url.clone(),
                full_url: None,
                options: serde_json::json!({}),
                muted: false,
                size: None,
                rtmp_name: None,
            };
            let started = start_push(self.registry.clone(), self.media.clone(), self.metrics.clone(), push);
            let span = self.span.clone();
            ctx.spawn(
                async move {
                    match started.await {
                        Ok((t, _)) => tracing::info!(parent: &span, push = %t.media_session_id, url = %t.rtmp_url, "RTMP push started"),
                        Err(e) => tracing::warn!(parent: &span, "RTMP push not started: {e}"),
                    }
                }
                .into_actor(self),
            );
        }
    }

    pub(super) fn play(&mut self, request: StreamRequest, ctx: &mut Context<Self>) {
        let Some(offer) = self.check_request(&request, false, ctx) else { return };
        let mut event = status_event(&request, false, &StreamTracks::default());
        event.status = "PENDING";
        let claim = ClaimMediaSession { summary: self.summary_of(&event), owner: ctx.address().recipient() };
        let (registry, name, events, id) =
            (self.registry.clone(), request.name.clone(), ctx.address().recipient(), request.media_session_id.clone());
        let found = async move {
            match registry.send(claim).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(info::ID_IN_USE),
                Err(_) => return Err("Failed by error"),
            }
            let stream = registry.send(FindStream { name }).await.ok().flatten().ok_or(info::STREAM_NOT_FOUND)?;
            let subscription = stream.send(SubscribePlayer { media_session_id: id, events }).await.map_err(|_| info::STREAM_NOT_FOUND)?;
            Ok((stream, subscription))
        };
        ctx.wait(found.into_actor(self).map(move |found, act, ctx| match found {
            Ok((stream, subscription)) => act.start_playing(request, offer, stream, subscription, ctx),
            Err(why) => {
                if why != info::ID_IN_USE {
                    act.registry.do_send(ReleaseMediaSession { media_session_id: request.media_session_id.clone() });
                }
                act.refuse(&request, false, why, ctx);
            }
        }));
    }

    fn start_playing(
        &mut self,
        request: StreamRequest,
        offer: String,
        stream: Addr<Stream>,
        subscription: PlayerSubscription,
        ctx: &mut Context<Self>,
    ) {
        let id = request.media_session_id.clone();
        let worker = self.media.worker();
        let setup = match guarded(|| setup_player(&self.setup_params(&offer, &request.name, &worker), &subscription.tracks)) {
            Ok(Ok(setup)) => setup,
            Ok(Err(e)) => {
                self.registry.do_send(ReleaseMediaSession { media_session_id: id });
                return self.refuse(&request, false, &e.info(), ctx);
            }
            Err(panic) => {
                tracing::error!(%panic, "panic while answering a play offer");
                self.registry.do_send(ReleaseMediaSession { media_session_id: id });
                return self.refuse(&request, false, "Failed by error", ctx);
            }
        };
        let answer = setup.answer.clone();
        let mut event = status_event(&request, false, &setup.tracks());
        let peer = {
            let role = Role::Player(StreamLink {
                subscription: subscription.id,
                stream_key: subscription.stream_key,
                join: stream.clone().recipient(),
                keyframes: stream.clone().recipient(),
                unsubscribe: stream.recipient(),
            });
            let (id, socket, local, owner, metrics) =
                (id.clone(), worker.socket.clone(), worker.candidate, ctx.address().recipient(), self.metrics.clone());
            WebRtcPeer::start_in_arbiter(&worker.arbiter, move |_| {
                WebRtcPeer::new(id, setup, role, socket, local, owner, metrics)
            })
        };
        self.send(ServerEvent::SetRemoteSdp { id: id.clone(), sdp: answer }, ctx);
        event.status = status::PLAYING;
        self.send(ServerEvent::StreamStatus(Box::new(event.clone())), ctx);
        self.registry.do_send(UpdateMediaSession { summary: self.summary_of(&event) });
        tracing::info!(media_session_id = %id, name = %request.name, "playing");
        self.streams.insert(id, OwnedStream { peer, stream: None, event });
    }

    /// Ends one of this session's streams and tells the client with `status` and `info`.
    pub(super) fn end_stream(&mut self, id: &str, status: &'static str, info: &str, ctx: &mut Context<Self>) {
        let Some(owned) = self.streams.remove(id) else { return };
        owned.peer.do_send(StopPeer);
        self.registry.do_send(ReleaseMediaSession { media_session_id: id.to_owned() });
        let mut event = owned.event;
        event.status = status;
        event.info = info.to_owned();
        tracing::info!(media_session_id = %id, status, info, "stream ended");
        self.send(ServerEvent::StreamStatus(Box::new(event)), ctx);
    }

    /// `unPublishStream` / `stopStream`. Stopping what is already gone still gets its terminal
    /// status, so the SDK's stop always completes.
    pub(super) fn stop(&mut self, stream: StreamRef, published: bool, ctx: &mut Context<Self>) {
        let status = if published { status::UNPUBLISHED } else { status::STOPPED };
        if self.streams.get(&stream.media_session_id).is_some_and(|s| s.event.published == published) {
            self.end_stream(&stream.media_session_id, status, info::STOPPED_BY_USER, ctx);
        } else {
            let request = StreamRequest {
                media_session_id: stream.media_session_id,
                name: stream.name.unwrap_or_default(),
                sdp: None,
                media_provider: "WebRTC".into(),
                record: false,
                rtmp_url: None,
                custom: None,
            };
            let mut event = status_event(&request, published, &StreamTracks::default());
            event.status = status;
            event.info = info::STOPPED_BY_USER.into();
            self.send(ServerEvent::StreamStatus(Box::new(event)), ctx);
        }
    }

    /// `availableStream`: is the name published?
    pub(super) fn available(&mut self, stream: StreamRef, ctx: &mut Context<Self>) {
        let name = stream.name.unwrap_or_default();
        ctx.wait(self.registry.send(FindStream { name }).into_actor(self).map(move |found, act, ctx| {
            let available = matches!(found, Ok(Some(_)));
            let info = if available { String::new() } else { info::STREAM_NOT_FOUND.to_owned() };
            act.send(ServerEvent::AvailableStream { id: stream.media_session_id, available, info }, ctx);
        }));
    }

    /// `sendStreamEvent` from a publisher: mute state and data go to every player.
    pub(super) fn stream_event(&mut self, event: StreamEvent) {
        let Some(owned) = self.streams.get_mut(&event.media_session_id) else { return };
        let Some(stream) = &owned.stream else { return };
        match event.event_type.as_str() {
            "audioMuted" => owned.event.audio_state.muted = true,
            "audioUnmuted" => owned.event.audio_state.muted = false,
            "videoMuted" => owned.event.video_state.muted = true,
            "videoUnmuted" => owned.event.video_state.muted = false,
            _ => {}
        }
        stream.do_send(crate::stream::PublisherEvent { event_type: event.event_type, payload: event.payload });
    }

    /// The session ends: its peers stop and the registry forgets their streams.
    pub(super) fn release_all_streams(&mut self) {
        for (id, owned) in self.streams.drain() {
            owned.peer.do_send(StopPeer);
            self.registry.do_send(ReleaseMediaSession { media_session_id: id });
        }
    }
}

impl Handler<PeerEvent> for ClientSession {
    type Result = ();
    fn handle(&mut self, msg: PeerEvent, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        match msg.kind {
            PeerEventKind::Connected => tracing::debug!(media_session_id = %msg.media_session_id, "media connected"),
            // Only a call's browser side asks; a stream's players wait on their stream.
            PeerEventKind::KeyframeWanted => {}
            PeerEventKind::Ended(why) => {
                let status = if why == PeerEnd::PublisherStopped { status::STOPPED } else { status::FAILED };
                self.end_stream(&msg.media_session_id, status, &why.info(), ctx);
            }
        }
    }
}

impl Handler<RelayStreamEvent> for ClientSession {
    type Result = ();
    fn handle(&mut self, msg: RelayStreamEvent, ctx: &mut Context<Self>) {
        if self.streams.contains_key(&msg.media_session_id) {
            let event = ServerEvent::StreamEvent {
                media_session_id: msg.media_session_id,
                event_type: msg.event_type,
                payload: msg.payload,
            };
            self.send(event, ctx);
        }
    }
}

/// Records `stream` (published as `media_session_id`, until it ends or is stopped) into the
/// record directory; its file, or None when the name cannot be a file.
pub(crate) fn record(media: &MediaContext, media_session_id: &str, name: &str, stream: Addr<Stream>) -> Option<std::path::PathBuf> {
    let path = recording_path(&media.record.dir, name).map_err(|e| tracing::warn!("nothing recorded: {e}")).ok()?;
    media.record.recordings.do_send(StartRecording { media_session_id: media_session_id.to_owned(), path: path.clone(), stream });
    Some(path)
}

impl Handler<TerminateStream> for ClientSession {
    type Result = ();
    fn handle(&mut self, msg: TerminateStream, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let Some(published) = self.streams.get(&msg.media_session_id).map(|s| s.event.published) else { return };
        let status = if published { status::UNPUBLISHED } else { status::STOPPED };
        self.end_stream(&msg.media_session_id, status, info::STOPPED_BY_REST_TERMINATE, ctx);
    }
}
