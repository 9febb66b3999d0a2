//! One WebSDK client session (spec §2): the `connection` handshake, keep-alive pings,
//! application data and, for keepAlive sessions, surviving the loss of the socket until the
//! client re-attaches with its authToken.
//!
//! A session starts with its socket and waits for `connection`. Every inbound frame comes
//! through [`Inbound`]; the answer tells the socket's pump whether to keep going, to send later
//! frames to another session (a re-attach), or to close.

mod calls;
mod streams;

pub(crate) use streams::record;


use crate::media_context::MediaContext;
use crate::metrics::{MessageLabels, Metrics};
use crate::panic_guard::guarded;
use crate::registry::{Reattach, Registry, SessionAttachment, SessionEnded, SessionEstablished, SessionStatus, SessionSummary};
use crate::session_settings::{KeepAliveAlgorithm, SessionSettings};
use crate::socket::{close_code, InboundFrame, Outbound, SendError, SocketHandle};
use crate::token::{new_auth_token, new_session_id};
use crate::websdk::frame::parse_client_frame;
use crate::websdk::{ClientMessage, ConnectionRequest, DataStatus, ServerEvent};
use actix::prelude::*;
use serde_json::Value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::Span;

pub struct ClientSession {
    id: String,
    phase: Phase,
    socket: Option<SocketHandle>,
    registry: Addr<Registry>,
    settings: Arc<SessionSettings>,
    metrics: Metrics,
    span: Span,
    unanswered_pings: u32,
    ping_timer: Option<SpawnHandle>,
    expiry_timer: Option<SpawnHandle>,
    /// `sessionDebug start`: log every message of this session at info level.
    debug: bool,
    media: Arc<MediaContext>,
    /// Publishers and players by mediaSessionId.
    streams: std::collections::HashMap<String, streams::OwnedStream>,
    /// The SIP account of a `connection` with SIP fields.
    account: Option<Addr<crate::sip::account::SipAccount>>,
    /// Why the SIP fields of `connection` were refused, told again to every call.
    sip_error: Option<String>,
    /// Calls by callId.
    calls: std::collections::HashMap<String, Addr<crate::sip::sip_dialog::SipDialog>>,
}

enum Phase {
    AwaitingConnection,
    Established { connection: Box<ConnectionRequest>, auth_token: String, attached: bool },
}

impl ClientSession {
    pub fn new(
        socket: SocketHandle,
        registry: Addr<Registry>,
        settings: Arc<SessionSettings>,
        metrics: Metrics,
        media: Arc<MediaContext>,
    ) -> Self {
        let id = new_session_id();
        let span = tracing::info_span!("session", id = %id);
        ClientSession {
            id,
            phase: Phase::AwaitingConnection,
            socket: Some(socket),
            registry,
            settings,
            metrics,
            span,
            unanswered_pings: 0,
            ping_timer: None,
            expiry_timer: None,
            debug: false,
            media,
            streams: Default::default(),
            account: None,
            sip_error: None,
            calls: Default::default(),
        }
    }

    fn send(&mut self, event: ServerEvent, ctx: &mut Context<Self>) {
        let Some(socket) = &self.socket else { return };
        match socket.send(Outbound::Text(event.to_json())) {
            Ok(()) => {
                self.metrics.messages_out.get_or_create(&MessageLabels { message: event.name() }).inc();
            }
            Err(SendError::Full) => {
                tracing::warn!("client is not reading its socket; dropping the connection");
                self.metrics.error("outbound_overflow");
                self.socket = None;
                self.on_socket_lost(ctx);
            }
            // The pump is gone and its SocketClosed is on the way.
            Err(SendError::Closed) => {}
        }
    }

    /// Answers bad input with a `fail` naming the problem; the session goes on.
    fn reject(&mut self, kind: &'static str, api_method: Option<&str>, info: String, ctx: &mut Context<Self>) {
        tracing::warn!(kind, api_method, "{info}");
        self.metrics.error(kind);
        self.send(ServerEvent::fail(api_method, info), ctx);
    }

    fn on_frame(&mut self, frame: InboundFrame, ctx: &mut Context<Self>) -> Option<ConnectionRequest> {
        match frame {
            InboundFrame::Binary(len) => {
                let info = format!(
                    "Binary frames ({len} bytes) are not accepted on the signalling connection; send JSON text frames"
                );
                self.reject("binary_frame", None, info, ctx);
                None
            }
            InboundFrame::WsPong => {
                self.unanswered_pings = 0;
                None
            }
            InboundFrame::Text(text) => {
                self.inject_fault(&text);
                if self.debug {
                    tracing::info!(frame = %text, "received");
                }
                match ClientMessage::parse(&text) {
                    Ok(message) => {
                        self.metrics.messages_in.get_or_create(&MessageLabels { message: message.name() }).inc();
                        self.on_message(message, ctx)
                    }
                    Err(e) => {
                        self.reject(e.kind(), e.message_name(), e.to_string(), ctx);
                        None
                    }
                }
            }
        }
    }

    /// Tests prove that a panic ends one session only by configuring a message that panics.
    fn inject_fault(&self, text: &str) {
        if let Some(trigger) = &self.settings.panic_on_message {
            if parse_client_frame(text).is_ok_and(|f| &f.message == trigger) {
                panic!("fault injection: message '{trigger}'");
            }
        }
    }

    /// Handles one message; returns a `connection` that asks to re-attach by authToken.
    fn on_message(&mut self, message: ClientMessage, ctx: &mut Context<Self>) -> Option<ConnectionRequest> {
        let established = matches!(self.phase, Phase::Established { .. });
        match message {
            ClientMessage::Ping => self.send(ServerEvent::Pong, ctx),
            ClientMessage::Pong => self.unanswered_pings = 0,
            ClientMessage::Connection(request) if !established => {
                if request.auth_token.is_some() {
                    return Some(request);
                }
                self.establish(request, ctx);
            }
            ClientMessage::Connection(_) => self.reject(
                "out_of_order",
                Some("connection"),
                "The session is already established: 'connection' is sent once per socket".into(),
                ctx,
            ),
            other if !established => {
                let name = other.name();
                self.reject(
                    "out_of_order",
                    Some(name),
                    format!("'{name}' before 'connection': the session is not established yet"),
                    ctx,
                );
            }
            ClientMessage::SendData { operation_id, payload } => {
                tracing::debug!(%operation_id, %payload, "application data");
                self.send(ServerEvent::DataStatus { operation_id, status: DataStatus::Accepted, info: None }, ctx);
            }
            ClientMessage::SessionDebug { start } => {
                self.debug = start;
                self.send(ServerEvent::SessionDebug { started: start }, ctx);
            }
            ClientMessage::PushLogs(logs) => tracing::info!(%logs, "client log"),
            ClientMessage::SubmitBugReport(report) => tracing::warn!(%report, "client bug report"),
            ClientMessage::PublishStream(request) => self.publish(request, ctx),
            ClientMessage::PlayStream(request) => self.play(request, ctx),
            ClientMessage::UnpublishStream(stream) => self.stop(stream, true, ctx),
            ClientMessage::StopStream(stream) => self.stop(stream, false, ctx),
            ClientMessage::AvailableStream(stream) => self.available(stream, ctx),
            ClientMessage::SendStreamEvent(event) => self.stream_event(event),
            ClientMessage::Call(request) => self.call(request, ctx),
            ClientMessage::Answer(request) => self.answer(request, ctx),
            ClientMessage::CallCommand { name, call_id, command } => self.call_command(name, call_id, command, ctx),
            ClientMessage::NotSupported { message, payload } => {
                let info = format!("'{message}' is not supported by this server yet");
                match payload.get("mediaSessionId").and_then(Value::as_str) {
                    Some(stream_id) => {
                        self.metrics.error("not_supported");
                        self.send(ServerEvent::stream_failed(stream_id, info), ctx);
                    }
                    None => self.reject("not_supported", Some(message), info, ctx),
                }
            }
        }
        None
    }

    fn establish(&mut self, connection: ConnectionRequest, ctx: &mut Context<Self>) {
        let auth_token = new_auth_token();
        self.send(ServerEvent::GetUserData(connection.user_data(&auth_token)), ctx);
        self.registry.do_send(SessionEstablished {
            summary: self.summary(&connection),
            auth_token: auth_token.clone(),
            addr: ctx.address(),
        });
        tracing::info!(app_key = %connection.app_key, keep_alive = connection.keep_alive, "session established");
        self.start_sip(&connection, ctx);
        self.phase = Phase::Established { connection: Box::new(connection), auth_token, attached: true };
        self.metrics.sessions_created.inc();
        self.metrics.sessions_attached.inc();
        self.start_pinging(ctx);
    }

    fn summary(&self, connection: &ConnectionRequest) -> SessionSummary {
        let field = |name: &str| connection.fields.get(name).and_then(Value::as_str).map(str::to_owned);
        SessionSummary {
            session_id: self.id.clone(),
            app_key: connection.app_key.clone(),
            status: SessionStatus::Established,
            keep_alive: connection.keep_alive,
            client_version: connection.client_version.clone(),
            client_os_version: field("clientOSVersion"),
            client_browser_version: field("clientBrowserVersion"),
            media_providers: connection.media_providers.clone(),
            remote_address: self.remote_address(),
            sip_login: connection.sip.as_ref().map(|s| s.login.clone()),
            create_date: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            custom: connection.fields.get("custom").cloned(),
        }
    }

    fn remote_address(&self) -> Option<String> {
        self.socket.as_ref().and_then(SocketHandle::remote).map(|a| a.to_string())
    }

    fn start_pinging(&mut self, ctx: &mut Context<Self>) {
        self.unanswered_pings = 0;
        if let Some(timer) = self.ping_timer.take() {
            ctx.cancel_future(timer);
        }
        if self.settings.keep_alive == KeepAliveAlgorithm::None {
            return;
        }
        self.ping_timer = Some(ctx.run_interval(self.settings.ping_interval, |act, ctx| act.on_ping_tick(ctx)));
    }

    fn on_ping_tick(&mut self, ctx: &mut Context<Self>) {
        let Some(socket) = &self.socket else { return };
        if self.unanswered_pings >= self.settings.ping_probes {
            let _entered = self.span.clone().entered();
            tracing::info!(probes = self.unanswered_pings, "no pong: the socket counts as dead");
            self.metrics.error("ping_timeout");
            if let Some(socket) = self.socket.take() {
                socket.close(close_code::POLICY, "No answer to keep-alive pings");
            }
            self.on_socket_lost(ctx);
            return;
        }
        self.unanswered_pings += 1;
        if self.settings.keep_alive == KeepAliveAlgorithm::Internal {
            let _ = socket.send(Outbound::WsPing);
        } else {
            self.send(ServerEvent::Ping, ctx);
        }
    }

    /// The socket is gone: a keepAlive session waits for its client, any other session ends.
    fn on_socket_lost(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.ping_timer.take() {
            ctx.cancel_future(timer);
        }
        let Phase::Established { connection, attached, .. } = &mut self.phase else {
            ctx.stop();
            return;
        };
        if !connection.keep_alive {
            ctx.stop();
            return;
        }
        if *attached {
            *attached = false;
            self.metrics.sessions_attached.dec();
            self.metrics.sessions_detached.inc();
            self.registry.do_send(SessionAttachment {
                session_id: self.id.clone(),
                status: SessionStatus::Disconnected,
                remote_address: None,
            });
        }
        tracing::info!(timeout = ?self.settings.client_timeout, "socket lost; keepAlive session waits for its client");
        self.expiry_timer = Some(ctx.run_later(self.settings.client_timeout, |act, ctx| {
            let _entered = act.span.clone().entered();
            tracing::info!("keepAlive session expired");
            ctx.stop();
        }));
    }

    fn on_panic(&mut self, panic: String, ctx: &mut Context<Self>) {
        tracing::error!(%panic, "panic while handling a message; ending this session");
        self.metrics.error("panic");
        self.send(ServerEvent::fail(None, "Internal server error; the session is closed"), ctx);
        if let Some(socket) = self.socket.take() {
            socket.close(close_code::INTERNAL_ERROR, "Internal server error");
        }
        ctx.stop();
    }

    /// Asks the registry for the keepAlive session that owns the token. If there is one, it
    /// takes this socket and this actor ends; otherwise this becomes a new session.
    fn reattach(&mut self, request: ConnectionRequest) -> ResponseActFuture<Self, Disposition> {
        let (Some(auth_token), Some(socket)) = (request.auth_token.clone(), self.socket.take()) else {
            return Box::pin(fut::ready(Disposition::Close));
        };
        let asked = self.registry.send(Reattach { auth_token, socket });
        Box::pin(asked.into_actor(self).map(move |answer, act, ctx| {
            let _entered = act.span.clone().entered();
            match answer {
                Ok(Ok(owner)) => {
                    ctx.stop();
                    Disposition::Redirect(owner)
                }
                Ok(Err(socket)) => {
                    tracing::info!("unknown or expired authToken: starting a new session");
                    act.socket = Some(socket);
                    match guarded(|| act.establish(request, ctx)) {
                        Ok(()) => Disposition::Continue,
                        Err(panic) => {
                            act.on_panic(panic, ctx);
                            Disposition::Close
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "registry unreachable during re-attach");
                    ctx.stop();
                    Disposition::Close
                }
            }
        }))
    }
}

impl Actor for ClientSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.settings.connection_timeout, |act, ctx| {
            if matches!(act.phase, Phase::AwaitingConnection) && act.socket.is_some() {
                let _entered = act.span.clone().entered();
                act.reject("connection_timeout", None, "No 'connection' message in time; closing".into(), ctx);
                if let Some(socket) = act.socket.take() {
                    socket.close(close_code::POLICY, "No connection message");
                }
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.release_all_streams();
        self.release_sip();
        if let Phase::Established { attached, .. } = self.phase {
            if attached {
                self.metrics.sessions_attached.dec();
            } else {
                self.metrics.sessions_detached.dec();
            }
            self.registry.do_send(SessionEnded { session_id: self.id.clone() });
            let _entered = self.span.enter();
            tracing::info!("session ended");
        }
        if let Some(socket) = self.socket.take() {
            socket.close(close_code::NORMAL, "Session ended");
        }
    }
}

/// What the socket's pump does after a frame was handled.
#[derive(Debug)]
pub enum Disposition {
    Continue,
    /// Later frames of this socket belong to another (re-attached) session.
    Redirect(Addr<ClientSession>),
    Close,
}

impl<A: Actor, M: Message<Result = Disposition>> actix::dev::MessageResponse<A, M> for Disposition {
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<Disposition>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

/// One frame from the socket `socket_id`.
#[derive(Message)]
#[rtype(result = "Disposition")]
pub struct Inbound {
    pub socket_id: u64,
    pub frame: InboundFrame,
}

impl Handler<Inbound> for ClientSession {
    type Result = ResponseActFuture<Self, Disposition>;

    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) -> Self::Result {
        if self.socket.as_ref().map(SocketHandle::id) != Some(msg.socket_id) {
            return Box::pin(fut::ready(Disposition::Close));
        }
        let span = self.span.clone();
        let _entered = span.enter();
        match guarded(|| self.on_frame(msg.frame, ctx)) {
            Ok(Some(reattach)) => self.reattach(reattach),
            Ok(None) if self.socket.is_some() => Box::pin(fut::ready(Disposition::Continue)),
            Ok(None) => Box::pin(fut::ready(Disposition::Close)),
            Err(panic) => {
                self.on_panic(panic, ctx);
                Box::pin(fut::ready(Disposition::Close))
            }
        }
    }
}

/// The pump of socket `socket_id` saw the connection end.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketClosed {
    pub socket_id: u64,
}

impl Handler<SocketClosed> for ClientSession {
    type Result = ();
    fn handle(&mut self, msg: SocketClosed, ctx: &mut Context<Self>) {
        if self.socket.as_ref().map(SocketHandle::id) == Some(msg.socket_id) {
            let _entered = self.span.clone().entered();
            self.socket = None;
            self.on_socket_lost(ctx);
        }
    }
}

/// The registry hands a re-attaching client's socket to its keepAlive session (spec §2.5).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Adopt {
    pub socket: SocketHandle,
}

impl Handler<Adopt> for ClientSession {
    type Result = ();
    fn handle(&mut self, msg: Adopt, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let Phase::Established { connection, auth_token, attached } = &mut self.phase else {
            return;
        };
        if let Some(timer) = self.expiry_timer.take() {
            ctx.cancel_future(timer);
        }
        if let Some(old) = self.socket.take() {
            old.close(close_code::POLICY, "Replaced by a new connection with the same authToken");
        }
        if !*attached {
            *attached = true;
            self.metrics.sessions_detached.dec();
            self.metrics.sessions_attached.inc();
        }
        let user_data = connection.user_data(auth_token);
        self.socket = Some(msg.socket);
        self.metrics.sessions_reattached.inc();
        self.registry.do_send(SessionAttachment {
            session_id: self.id.clone(),
            status: SessionStatus::Established,
            remote_address: self.remote_address(),
        });
        tracing::info!("client re-attached by authToken");
        self.send(ServerEvent::GetUserData(user_data), ctx);
        self.start_pinging(ctx);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminateReason {
    /// REST `/connection/terminate`.
    Rest,
    Shutdown,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Terminate {
    pub reason: TerminateReason,
}

impl Handler<Terminate> for ClientSession {
    type Result = ();
    fn handle(&mut self, msg: Terminate, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        tracing::info!(reason = ?msg.reason, "terminating session");
        if let Some(socket) = self.socket.take() {
            match msg.reason {
                TerminateReason::Rest => socket.close(close_code::NORMAL, "Terminated by REST /connection/terminate"),
                TerminateReason::Shutdown => socket.close(close_code::GOING_AWAY, "Server shutting down"),
            }
        }
        ctx.stop();
    }
}
