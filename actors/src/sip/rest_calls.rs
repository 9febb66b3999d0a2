//! Calls placed by REST (`/call/startup`, rest-api.md §3): owned by the server rather than a
//! WebSocket session. Their statuses and records are kept for `/call/find`; an ended call stays
//! listed with its final status for `ENDED_LINGER`, then `/call/find` answers 404 (what pages
//! polling it take as the end). A call's `toStream` is a stream published from the moment the
//! call is created (so players may start before the phone answers, `rtp_session_init_always`)
//! until the call ends.

use super::call_record::CallRecord;
use super::sip_dialog::{CallContext, CallControl, CallNews, SipDialog};
use crate::client_session::record;
use crate::media::{CodecName, MediaFrame, StreamTracks, TrackCodec};
use crate::push::{start_push, PushRequest};
use crate::sdp::plain::local_track_codec;
use crate::media_context::MediaContext;
use crate::metrics::Metrics;
use crate::registry::{ClaimError, ClaimMediaSession, Registry, ReleaseMediaSession, StreamPublished, StreamSummary, TerminateStream};
use crate::stream::{RequestKeyframe, Stream, PUBLISHER_QUEUE};
use crate::websdk::{CallCommand, CallInfo, CallRequest, CallStatus, ServerEvent, SipCredentials};
use actix::prelude::*;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// How long an ended call stays in `/call/find` with its final status and record.
const ENDED_LINGER: Duration = Duration::from_secs(3);

pub struct RestCallRequest {
    pub call: CallRequest,
    pub credentials: SipCredentials,
    /// Publish the call's audio as a stream of this name.
    pub to_stream: Option<String>,
    /// `rtmpUrl` (and `rtmpStream`, the name there): the call's stream is pushed there from the start.
    pub rtmp: Option<(String, Option<String>)>,
    pub app_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestCallError {
    DuplicateCallId,
    StreamNameInUse(String),
    NoSip,
    Unavailable,
}

impl std::fmt::Display for RestCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestCallError::DuplicateCallId => f.write_str("A call with this callId already exists"),
            RestCallError::StreamNameInUse(name) => write!(f, "Stream name '{name}' is already in use"),
            RestCallError::NoSip => f.write_str("SIP is not available on this server"),
            RestCallError::Unavailable => f.write_str("Registry unavailable"),
        }
    }
}

/// The stream a call is published as.
struct StreamOfCall {
    name: String,
    media_session_id: String,
    /// With the phone's H.264 video (`hasVideo`).
    video: bool,
}

struct RestCall {
    dialog: Addr<SipDialog>,
    info: CallInfo,
    record: CallRecord,
    /// The `toStream` name and its mediaSessionId.
    stream: Option<(String, String)>,
    app_key: String,
    ended: bool,
}

pub struct RestCalls {
    calls: HashMap<String, RestCall>,
    /// callIds between `/call/startup` and the call's start, so a second one is refused.
    starting: HashSet<String>,
    registry: Addr<Registry>,
    media: Arc<MediaContext>,
    metrics: Metrics,
}

impl RestCalls {
    pub fn new(registry: Addr<Registry>, media: Arc<MediaContext>, metrics: Metrics) -> Self {
        RestCalls { calls: HashMap::new(), starting: HashSet::new(), registry, media, metrics }
    }

    /// The stream the call's media is published as: audio as Opus, as the call's transcoder
    /// makes it; with `video`, the phone's H.264 as it comes. The call is asked for keyframes.
    /// It runs on `thread`, the call's own media thread, so the call's frames stay there.
    fn start_stream(
        &self,
        thread: &ArbiterHandle,
        stream: &StreamOfCall,
        frames_rx: mpsc::Receiver<MediaFrame>,
        keyframes: Recipient<RequestKeyframe>,
        listened: Arc<AtomicBool>,
    ) -> Addr<Stream> {
        let tracks = StreamTracks {
            audio: Some(TrackCodec { name: CodecName::Opus, clock_rate: 48_000, channels: Some(2), fmtp: "minptime=10;useinbandfec=1".into() }),
            video: stream.video.then(|| local_track_codec(CodecName::H264)).flatten(),
        };
        let (name, media_session_id) = (&stream.name, &stream.media_session_id);
        let (name, id, registry, metrics) = (name.to_owned(), media_session_id.to_owned(), self.registry.clone(), self.metrics.clone());
        let (aac, h264) = (self.media.push.aac_bitrate, self.media.push.h264_bitrate);
        Stream::start_in_arbiter(thread, move |ctx| {
            ctx.add_stream(futures_util::stream::unfold(frames_rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) }));
            Stream::new(name, id, tracks, keyframes, registry, metrics).with_transcoding_bitrates(aac, h264).telling_whether_listened(listened)
        })
    }

    fn start_call(&mut self, request: RestCallRequest, stream: Option<(String, String)>, ctx: &mut Context<Self>) -> Result<(), RestCallError> {
        let gateway = self.media.sip.clone().ok_or(RestCallError::NoSip)?;
        // The phone's audio is transcoded only while the stream has subscribers.
        let listened = Arc::new(AtomicBool::new(false));
        // No stream: what the phone says goes nowhere.
        let (frames, frames_rx) = mpsc::channel(PUBLISHER_QUEUE);
        let worker = self.media.worker();
        let context = CallContext {
            credentials: request.credentials,
            session: ctx.address().recipient(),
            gateway: gateway.clone(),
            worker: worker.clone(),
            media: self.media.clone(),
            metrics: self.metrics.clone(),
        };
        let call_id = request.call.call_id.clone();
        let video = request.call.has_video;
        let dialog = SipDialog::to_stream(request.call, context, frames, listened.clone());
        let info = dialog.info().clone();
        let dialog = dialog.start_on_its_media_thread();
        if let Some((name, media_session_id)) = &stream {
            let of_call = StreamOfCall { name: name.clone(), media_session_id: media_session_id.clone(), video };
            let addr = self.start_stream(&worker.arbiter, &of_call, frames_rx, dialog.clone().recipient(), listened);
            if gateway.settings.record_stream {
                let _ = record(&self.media, media_session_id, name, addr.clone());
            }
            self.registry.do_send(StreamPublished { media_session_id: media_session_id.clone(), name: name.clone(), stream: addr });
            if let Some((rtmp_url, rtmp_name)) = request.rtmp {
                self.forward_to_rtmp(name.clone(), rtmp_url, rtmp_name, ctx);
            }
        }
        self.calls.insert(call_id, RestCall { dialog, info, record: CallRecord::new(), stream, app_key: request.app_key, ended: false });
        Ok(())
    }

    /// `rtmpUrl` on `/call/startup`: the call's stream is pushed as `/push/startup` would (and
    /// listed in `/push/find`); it ends with the call. A push that cannot start is logged.
    fn forward_to_rtmp(&self, stream_name: String, rtmp_url: String, rtmp_name: Option<String>, ctx: &mut Context<Self>) {
        let push = PushRequest { stream_name, rtmp_url, full_url: None, options: serde_json::json!({}), muted: false, size: None, rtmp_name };
        let started = start_push(self.registry.clone(), self.media.clone(), self.metrics.clone(), push);
        ctx.spawn(
            async move {
                match started.await {
                    Ok((push, _)) => tracing::info!(push = %push.media_session_id, url = %push.rtmp_url, name = %push.stream_name, "call forwarded to RTMP"),
                    Err(e) => tracing::warn!("call not forwarded to RTMP: {e}"),
                }
            }
            .into_actor(self),
        );
    }

    fn stream_summary(name: &str, media_session_id: &str, video: bool) -> StreamSummary {
        StreamSummary {
            media_session_id: media_session_id.to_owned(),
            name: name.to_owned(),
            published: true,
            status: "PUBLISHING".into(),
            session_id: String::new(),
            media_provider: "SIP".into(),
            media_type: "publish".into(),
            has_audio: true,
            has_video: video,
            audio_codec: Some("opus/48000/2".into()),
            video_codec: video.then(|| "H264/90000".into()),
            viewers: Some(0),
            bitrate: 0,
            create_date: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        }
    }
}

impl Actor for RestCalls {
    type Context = Context<Self>;
}

/// `/call/startup`.
#[derive(Message)]
#[rtype(result = "Result<(), RestCallError>")]
pub struct StartCall(pub RestCallRequest);

impl Handler<StartCall> for RestCalls {
    type Result = ResponseActFuture<Self, Result<(), RestCallError>>;
    fn handle(&mut self, StartCall(request): StartCall, ctx: &mut Context<Self>) -> Self::Result {
        let call_id = request.call.call_id.clone();
        if self.calls.contains_key(&call_id) || self.starting.contains(&call_id) {
            return Box::pin(fut::ready(Err(RestCallError::DuplicateCallId)));
        }
        // Before any stream name is claimed: nothing to give back.
        if self.media.sip.is_none() {
            return Box::pin(fut::ready(Err(RestCallError::NoSip)));
        }
        let Some(name) = request.to_stream.clone() else {
            return Box::pin(fut::ready(self.start_call(request, None, ctx)));
        };
        self.starting.insert(call_id.clone());
        let id = Alphanumeric.sample_string(&mut rand::rng(), 26).to_lowercase();
        let summary = Self::stream_summary(&name, &id, request.call.has_video);
        // REST terminating the stream comes here, and hangs up its call.
        let claim = self.registry.send(ClaimMediaSession { summary, owner: ctx.address().recipient() });
        Box::pin(claim.into_actor(self).map(move |claimed, act, ctx| {
            act.starting.remove(&call_id);
            match claimed {
                Ok(Ok(())) => act.start_call(request, Some((name, id)), ctx),
                Ok(Err(ClaimError::NameInUse)) => Err(RestCallError::StreamNameInUse(name)),
                Ok(Err(ClaimError::MediaSessionIdInUse)) | Err(_) => Err(RestCallError::Unavailable),
            }
        }))
    }
}

impl Handler<CallNews> for RestCalls {
    type Result = ();
    fn handle(&mut self, news: CallNews, ctx: &mut Context<Self>) {
        let Some(call) = self.calls.get_mut(&news.call_id).filter(|c| !c.ended) else { return };
        if let ServerEvent::CallStatus(info) = news.event {
            match info.status {
                CallStatus::Ring | CallStatus::RingMedia | CallStatus::SessionProgress => call.record.ringing(),
                CallStatus::Established => call.record.answered(),
                _ => {}
            }
            call.info = *info;
        }
        if news.ended {
            call.ended = true;
            call.record.ended(call.info.info.clone().unwrap_or_else(|| "normal".into()));
            tracing::info!(call = %news.call_id, record = ?call.record, "REST call ended");
            // The stream's name is free at once; the call's listing lingers.
            if let Some((_, id)) = &call.stream {
                self.registry.do_send(ReleaseMediaSession { media_session_id: id.clone() });
            }
            ctx.run_later(ENDED_LINGER, move |act, _| {
                act.calls.remove(&news.call_id);
            });
        }
    }
}

/// REST `/stream/terminate` of a call's stream hangs the call up.
impl Handler<TerminateStream> for RestCalls {
    type Result = ();
    fn handle(&mut self, msg: TerminateStream, _: &mut Context<Self>) {
        let owner = self.calls.values().filter(|c| !c.ended).find(|c| c.stream.as_ref().is_some_and(|(_, id)| *id == msg.media_session_id));
        if let Some(call) = owner {
            call.dialog.do_send(CallControl(CallCommand::Hangup));
        }
    }
}

/// Shutdown: every running call is hung up (its stream, and any recording of it, end).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct HangUpAll;

impl Handler<HangUpAll> for RestCalls {
    type Result = usize;
    fn handle(&mut self, _: HangUpAll, _: &mut Context<Self>) -> usize {
        let running: Vec<_> = self.calls.values().filter(|c| !c.ended).collect();
        for call in &running {
            call.dialog.do_send(CallControl(CallCommand::Hangup));
        }
        running.len()
    }
}

/// The call's audio has no keyframes to ask for.
impl Handler<RequestKeyframe> for RestCalls {
    type Result = ();
    fn handle(&mut self, _: RequestKeyframe, _: &mut Context<Self>) {}
}

/// `/call/find` and `/call/find_all`: the calls matching every filter given, as WCS lists
/// them (the Call object, its `streamName` and its record).
#[derive(Message)]
#[rtype(result = "Vec<Value>")]
pub struct FindCalls {
    pub call_id: Option<String>,
    pub callee: Option<String>,
    pub status: Option<String>,
}

impl Handler<FindCalls> for RestCalls {
    type Result = MessageResult<FindCalls>;
    fn handle(&mut self, msg: FindCalls, _: &mut Context<Self>) -> Self::Result {
        let mut found: Vec<(&String, &RestCall)> = self
            .calls
            .iter()
            .filter(|(id, _)| msg.call_id.as_ref().is_none_or(|wanted| wanted == *id))
            .filter(|(_, c)| msg.callee.as_ref().is_none_or(|wanted| *wanted == c.info.callee))
            .filter(|(_, c)| msg.status.as_ref().is_none_or(|wanted| serde_json::to_value(c.info.status).ok() == Some(Value::from(wanted.as_str()))))
            .collect();
        found.sort_by_key(|(_, c)| c.record.created);
        let listed = found
            .into_iter()
            .map(|(_, call)| {
                let mut value = serde_json::to_value(&call.info).unwrap_or(Value::Null);
                if let Value::Object(fields) = &mut value {
                    fields.insert("streamName".into(), call.stream.as_ref().map(|(name, _)| Value::from(name.as_str())).unwrap_or(Value::Null));
                    fields.insert("appKey".into(), Value::from(call.app_key.as_str()));
                    fields.insert("record".into(), serde_json::to_value(&call.record).unwrap_or(Value::Null));
                }
                value
            })
            .collect();
        MessageResult(listed)
    }
}

/// `/call/terminate` and `/call/send_dtmf`: false when no such call runs (or it has ended).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct ControlCall {
    pub call_id: String,
    pub command: CallCommand,
}

impl Handler<ControlCall> for RestCalls {
    type Result = bool;
    fn handle(&mut self, msg: ControlCall, _: &mut Context<Self>) -> bool {
        match self.calls.get(&msg.call_id).filter(|c| !c.ended) {
            Some(call) => {
                call.dialog.do_send(CallControl(msg.command));
                true
            }
            None => false,
        }
    }
}
