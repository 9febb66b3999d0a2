//! The registry: one supervised actor that knows every live session by id (and keepAlive
//! sessions by their authToken), answers REST listings and routes commands to the owner.
//! It never does a session's work itself.

use crate::client_session::{Adopt, ClientSession, Terminate, TerminateReason};
use crate::rtmp_transponder::{RtmpTransponder, StopTransponder};
use crate::stream::Stream;
use crate::panic_guard::guarded;
use crate::socket::SocketHandle;
use actix::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// What REST shows of one session (`/rest-api/connection/find_all`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub session_id: String,
    pub app_key: String,
    pub status: SessionStatus,
    pub keep_alive: bool,
    pub client_version: Option<String>,
    #[serde(rename = "clientOSVersion")]
    pub client_os_version: Option<String>,
    pub client_browser_version: Option<String>,
    pub media_providers: Vec<String>,
    pub remote_address: Option<String>,
    pub sip_login: Option<String>,
    /// Milliseconds since the epoch.
    pub create_date: u64,
    pub custom: Option<Value>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum SessionStatus {
    /// Attached to a live socket.
    Established,
    /// A keepAlive session whose socket is gone, waiting for its client.
    Disconnected,
}

/// What REST shows of one publisher or player (`/rest-api/stream/find_all`), the Stream object
/// of WCS.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamSummary {
    pub media_session_id: String,
    pub name: String,
    pub published: bool,
    /// PENDING, PUBLISHING, PLAYING.
    pub status: String,
    pub session_id: String,
    pub media_provider: String,
    /// "publish" or "play".
    pub media_type: String,
    pub has_audio: bool,
    pub has_video: bool,
    /// `opus/48000/2`, `H264/90000`, ...
    pub audio_codec: Option<String>,
    pub video_codec: Option<String>,
    /// Subscribers of a published stream.
    pub viewers: Option<usize>,
    /// Kilobits per second the publisher sends (last second).
    pub bitrate: u64,
    /// Milliseconds since the epoch.
    pub create_date: u64,
}

/// What REST shows of one RTMP push (`/rest-api/push/find_all`), the Transponder object of WCS.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TransponderSummary {
    pub media_session_id: String,
    /// The name published on the RTMP server (with the prefix).
    pub stream_name: String,
    /// The server stream it republishes.
    pub source_stream_name: String,
    /// The target, without credentials.
    pub rtmp_url: String,
    pub width: u32,
    pub height: u32,
    pub muted: bool,
    pub sound_enabled: bool,
    pub options: Value,
    /// CONNECTING, PUBLISHING or FAILED.
    pub status: String,
    /// Why it failed, when it did.
    pub info: String,
    /// Bytes written to the RTMP server.
    pub bytes_sent: u64,
    /// Milliseconds since the epoch.
    pub create_date: u64,
}

struct TransponderEntry {
    summary: TransponderSummary,
    /// The `rtmpUrl` as requested: one push per stream and URL.
    requested_url: String,
    addr: Option<Addr<RtmpTransponder>>,
}

struct MediaSessionEntry {
    summary: StreamSummary,
    owner: Recipient<TerminateStream>,
}

/// A published name; `stream` is set once the publisher's stream runs.
struct PublishedName {
    media_session_id: String,
    stream: Option<Addr<Stream>>,
}

struct SessionEntry {
    addr: Addr<ClientSession>,
    auth_token: String,
    summary: SessionSummary,
}

pub struct Registry {
    sessions: HashMap<String, SessionEntry>,
    session_by_token: HashMap<String, String>,
    /// Publishers and players by mediaSessionId.
    media_sessions: HashMap<String, MediaSessionEntry>,
    published: HashMap<String, PublishedName>,
    transponders: HashMap<String, TransponderEntry>,
}

impl Registry {
    pub fn new() -> Self {
        Registry {
            sessions: HashMap::new(),
            session_by_token: HashMap::new(),
            media_sessions: HashMap::new(),
            published: HashMap::new(),
            transponders: HashMap::new(),
        }
    }

    /// Starts the registry under a supervisor in the current arbiter.
    pub fn start_supervised() -> Addr<Registry> {
        Supervisor::start(|_| Registry::new())
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

impl Supervised for Registry {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!(sessions = self.sessions.len(), "registry restarting; its tables are kept");
    }
}

/// Runs a handler body; a panic is logged and the registry carries on with its tables.
fn guard<R: Default>(what: &str, work: impl FnOnce() -> R) -> R {
    guarded(work).unwrap_or_else(|panic| {
        tracing::error!(%panic, "registry: panic while handling {what}");
        R::default()
    })
}

/// A session completed `connection`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionEstablished {
    pub summary: SessionSummary,
    pub auth_token: String,
    pub addr: Addr<ClientSession>,
}

impl Handler<SessionEstablished> for Registry {
    type Result = ();
    fn handle(&mut self, msg: SessionEstablished, _: &mut Context<Self>) {
        guard("SessionEstablished", || {
            let id = msg.summary.session_id.clone();
            self.session_by_token.insert(msg.auth_token.clone(), id.clone());
            self.sessions.insert(id, SessionEntry { addr: msg.addr, auth_token: msg.auth_token, summary: msg.summary });
        })
    }
}

/// A session lost or regained its socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionAttachment {
    pub session_id: String,
    pub status: SessionStatus,
    pub remote_address: Option<String>,
}

impl Handler<SessionAttachment> for Registry {
    type Result = ();
    fn handle(&mut self, msg: SessionAttachment, _: &mut Context<Self>) {
        guard("SessionAttachment", || {
            if let Some(entry) = self.sessions.get_mut(&msg.session_id) {
                entry.summary.status = msg.status;
                if msg.remote_address.is_some() {
                    entry.summary.remote_address = msg.remote_address;
                }
            }
        })
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionEnded {
    pub session_id: String,
}

impl Handler<SessionEnded> for Registry {
    type Result = ();
    fn handle(&mut self, msg: SessionEnded, _: &mut Context<Self>) {
        guard("SessionEnded", || {
            if let Some(entry) = self.sessions.remove(&msg.session_id) {
                self.session_by_token.remove(&entry.auth_token);
            }
        })
    }
}

/// A new socket presents an authToken: hand the socket to the keepAlive session that owns the
/// token. Gives the socket back when there is no such session.
#[derive(Message)]
#[rtype(result = "Result<Addr<ClientSession>, SocketHandle>")]
pub struct Reattach {
    pub auth_token: String,
    pub socket: SocketHandle,
}

impl Handler<Reattach> for Registry {
    type Result = Result<Addr<ClientSession>, SocketHandle>;
    fn handle(&mut self, msg: Reattach, _: &mut Context<Self>) -> Self::Result {
        let entry = self
            .session_by_token
            .get(&msg.auth_token)
            .and_then(|id| self.sessions.get(id))
            .filter(|entry| entry.summary.keep_alive);
        let Some(entry) = entry else {
            return Err(msg.socket);
        };
        match entry.addr.try_send(Adopt { socket: msg.socket }) {
            Ok(()) => Ok(entry.addr.clone()),
            Err(SendError::Full(adopt) | SendError::Closed(adopt)) => Err(adopt.socket),
        }
    }
}

#[derive(Message)]
#[rtype(result = "Vec<SessionSummary>")]
pub struct ListSessions;

impl Handler<ListSessions> for Registry {
    type Result = MessageResult<ListSessions>;
    fn handle(&mut self, _: ListSessions, _: &mut Context<Self>) -> Self::Result {
        let mut list: Vec<SessionSummary> = self.sessions.values().map(|e| e.summary.clone()).collect();
        list.sort_by_key(|s| s.create_date);
        MessageResult(list)
    }
}

/// Ends one session (REST `/connection/terminate`). `false` when the id is unknown.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct TerminateSession {
    pub session_id: String,
}

impl Handler<TerminateSession> for Registry {
    type Result = bool;
    fn handle(&mut self, msg: TerminateSession, _: &mut Context<Self>) -> bool {
        match self.sessions.get(&msg.session_id) {
            Some(entry) => {
                entry.addr.do_send(Terminate { reason: TerminateReason::Rest });
                true
            }
            None => false,
        }
    }
}

/// Server shutdown: every session closes its socket with "going away". Answers how many were told.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ShutdownSessions;

impl Handler<ShutdownSessions> for Registry {
    type Result = usize;
    fn handle(&mut self, _: ShutdownSessions, _: &mut Context<Self>) -> usize {
        for entry in self.sessions.values() {
            entry.addr.do_send(Terminate { reason: TerminateReason::Shutdown });
        }
        self.sessions.len()
    }
}

/// Live-session count, for `/health`.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct CountSessions;

impl Handler<CountSessions> for Registry {
    type Result = usize;
    fn handle(&mut self, _: CountSessions, _: &mut Context<Self>) -> usize {
        self.sessions.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimError {
    MediaSessionIdInUse,
    NameInUse,
}

/// A publisher or player starts: its mediaSessionId must be new, a publisher's name free.
#[derive(Message)]
#[rtype(result = "Result<(), ClaimError>")]
pub struct ClaimMediaSession {
    pub summary: StreamSummary,
    /// Who ends the media session when REST terminates it: its session, or its SIP call.
    pub owner: Recipient<TerminateStream>,
}

/// REST `/stream/terminate` ends a media session at its owner.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TerminateStream {
    pub media_session_id: String,
}

impl Handler<ClaimMediaSession> for Registry {
    type Result = Result<(), ClaimError>;
    fn handle(&mut self, msg: ClaimMediaSession, _: &mut Context<Self>) -> Self::Result {
        let summary = msg.summary;
        if self.media_sessions.contains_key(&summary.media_session_id) {
            return Err(ClaimError::MediaSessionIdInUse);
        }
        if summary.published {
            if self.published.contains_key(&summary.name) {
                return Err(ClaimError::NameInUse);
            }
            self.published
                .insert(summary.name.clone(), PublishedName { media_session_id: summary.media_session_id.clone(), stream: None });
        }
        self.media_sessions.insert(summary.media_session_id.clone(), MediaSessionEntry { summary, owner: msg.owner });
        Ok(())
    }
}

/// The publisher's stream runs: players can find it by name from now on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StreamPublished {
    pub media_session_id: String,
    pub name: String,
    pub stream: Addr<Stream>,
}

impl Handler<StreamPublished> for Registry {
    type Result = ();
    fn handle(&mut self, msg: StreamPublished, _: &mut Context<Self>) {
        if let Some(entry) = self.published.get_mut(&msg.name).filter(|p| p.media_session_id == msg.media_session_id) {
            entry.stream = Some(msg.stream);
        }
    }
}

/// A publisher or player changed (status, codecs); measured figures are kept.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateMediaSession {
    pub summary: StreamSummary,
}

impl Handler<UpdateMediaSession> for Registry {
    type Result = ();
    fn handle(&mut self, msg: UpdateMediaSession, _: &mut Context<Self>) {
        if let Some(entry) = self.media_sessions.get_mut(&msg.summary.media_session_id) {
            let (viewers, bitrate) = (entry.summary.viewers, entry.summary.bitrate);
            entry.summary = StreamSummary { viewers, bitrate, ..msg.summary };
        }
    }
}

/// A publisher or player ended; a publisher's name is free again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseMediaSession {
    pub media_session_id: String,
}

impl Handler<ReleaseMediaSession> for Registry {
    type Result = ();
    fn handle(&mut self, msg: ReleaseMediaSession, _: &mut Context<Self>) {
        if let Some(entry) = self.media_sessions.remove(&msg.media_session_id) {
            if entry.summary.published {
                self.published.remove(&entry.summary.name);
            }
        }
    }
}

/// The running stream published under `name`, if any.
#[derive(Message)]
#[rtype(result = "Option<Addr<Stream>>")]
pub struct FindStream {
    pub name: String,
}

impl Handler<FindStream> for Registry {
    type Result = Option<Addr<Stream>>;
    fn handle(&mut self, msg: FindStream, _: &mut Context<Self>) -> Self::Result {
        self.published.get(&msg.name).and_then(|p| p.stream.clone()).filter(Addr::connected)
    }
}

/// The name and stream of the publisher `media_session_id`, if it publishes.
#[derive(Message)]
#[rtype(result = "Option<(String, Addr<Stream>)>")]
pub struct FindPublisher {
    pub media_session_id: String,
}

impl Handler<FindPublisher> for Registry {
    type Result = Option<(String, Addr<Stream>)>;
    fn handle(&mut self, msg: FindPublisher, _: &mut Context<Self>) -> Self::Result {
        let entry = self.media_sessions.get(&msg.media_session_id).filter(|e| e.summary.published)?;
        let stream = self.published.get(&entry.summary.name)?.stream.clone().filter(Addr::connected)?;
        Some((entry.summary.name.clone(), stream))
    }
}

/// A stream's figures, once a second.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StreamStatsUpdate {
    pub media_session_id: String,
    pub viewers: usize,
    pub bitrate_kbps: u64,
}

impl Handler<StreamStatsUpdate> for Registry {
    type Result = ();
    fn handle(&mut self, msg: StreamStatsUpdate, _: &mut Context<Self>) {
        if let Some(entry) = self.media_sessions.get_mut(&msg.media_session_id) {
            entry.summary.viewers = Some(msg.viewers);
            entry.summary.bitrate = msg.bitrate_kbps;
        }
    }
}

#[derive(Message)]
#[rtype(result = "Vec<StreamSummary>")]
pub struct ListStreams;

impl Handler<ListStreams> for Registry {
    type Result = MessageResult<ListStreams>;
    fn handle(&mut self, _: ListStreams, _: &mut Context<Self>) -> Self::Result {
        let mut list: Vec<StreamSummary> = self.media_sessions.values().map(|e| e.summary.clone()).collect();
        list.sort_by(|a, b| (a.create_date, &a.media_session_id).cmp(&(b.create_date, &b.media_session_id)));
        MessageResult(list)
    }
}

/// Stops the publishers and players with these mediaSessionIds (REST `/stream/terminate`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TerminateMediaSessions {
    pub media_session_ids: Vec<String>,
}

impl Handler<TerminateMediaSessions> for Registry {
    type Result = ();
    fn handle(&mut self, msg: TerminateMediaSessions, _: &mut Context<Self>) {
        for id in msg.media_session_ids {
            if let Some(entry) = self.media_sessions.get(&id) {
                entry.owner.do_send(TerminateStream { media_session_id: id });
            }
        }
    }
}

/// A push is starting: refused when the same stream already goes to the same URL.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct ClaimTransponder {
    pub summary: TransponderSummary,
    pub requested_url: String,
}

impl Handler<ClaimTransponder> for Registry {
    type Result = bool;
    fn handle(&mut self, msg: ClaimTransponder, _: &mut Context<Self>) -> bool {
        let taken = self.transponders.values().any(|t| {
            t.summary.source_stream_name == msg.summary.source_stream_name
                && t.requested_url == msg.requested_url
                && t.summary.status != "FAILED"
        });
        if taken || self.transponders.contains_key(&msg.summary.media_session_id) {
            return false;
        }
        let id = msg.summary.media_session_id.clone();
        self.transponders.insert(id, TransponderEntry { summary: msg.summary, requested_url: msg.requested_url, addr: None });
        true
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct TransponderStarted {
    pub media_session_id: String,
    pub addr: Addr<RtmpTransponder>,
}

impl Handler<TransponderStarted> for Registry {
    type Result = ();
    fn handle(&mut self, msg: TransponderStarted, _: &mut Context<Self>) {
        if let Some(entry) = self.transponders.get_mut(&msg.media_session_id) {
            entry.addr = Some(msg.addr);
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateTransponder {
    pub summary: TransponderSummary,
}

impl Handler<UpdateTransponder> for Registry {
    type Result = ();
    fn handle(&mut self, msg: UpdateTransponder, _: &mut Context<Self>) {
        if let Some(entry) = self.transponders.get_mut(&msg.summary.media_session_id) {
            entry.summary = msg.summary;
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseTransponder {
    pub media_session_id: String,
}

impl Handler<ReleaseTransponder> for Registry {
    type Result = ();
    fn handle(&mut self, msg: ReleaseTransponder, _: &mut Context<Self>) {
        self.transponders.remove(&msg.media_session_id);
    }
}

#[derive(Message)]
#[rtype(result = "Vec<TransponderSummary>")]
pub struct ListTransponders;

impl Handler<ListTransponders> for Registry {
    type Result = MessageResult<ListTransponders>;
    fn handle(&mut self, _: ListTransponders, _: &mut Context<Self>) -> Self::Result {
        let mut list: Vec<TransponderSummary> = self.transponders.values().map(|t| t.summary.clone()).collect();
        list.sort_by(|a, b| (a.create_date, &a.media_session_id).cmp(&(b.create_date, &b.media_session_id)));
        MessageResult(list)
    }
}

/// The transponder with this mediaSessionId, to command it.
#[derive(Message)]
#[rtype(result = "Option<Addr<RtmpTransponder>>")]
pub struct FindTransponder {
    pub media_session_id: String,
}

impl Handler<FindTransponder> for Registry {
    type Result = Option<Addr<RtmpTransponder>>;
    fn handle(&mut self, msg: FindTransponder, _: &mut Context<Self>) -> Self::Result {
        self.transponders.get(&msg.media_session_id).and_then(|t| t.addr.clone())
    }
}

/// Server shutdown: pushes end politely (FCUnpublish) before the process goes.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ShutdownTransponders;

impl Handler<ShutdownTransponders> for Registry {
    type Result = usize;
    fn handle(&mut self, _: ShutdownTransponders, _: &mut Context<Self>) -> usize {
        for addr in self.transponders.values().filter_map(|t| t.addr.as_ref()) {
            addr.do_send(StopTransponder { info: "Server shutting down".into() });
        }
        self.transponders.len()
    }
}
