//! A session's SIP side (spec §2.1, §4): its account (registration, incoming calls) and its
//! calls, each a `SipDialog` actor the session routes the client's call messages to.

use super::{ClientSession, Phase};
use crate::sip::account::{AccountEvent, CloseAccount, SipAccount};
use crate::sip::address::check_sip_user;
use crate::sip::sip_dialog::{AnswerCall, CallContext, CallControl, CallNews, SipDialog};
use crate::sip::IncomingInvite;
use crate::token::new_session_id;
use crate::websdk::{CallCommand, CallInfo, CallRequest, CallStatus, ConnectionRequest, ServerEvent, SipCredentials};
use actix::prelude::*;
use rsipstack::sip::StatusCode;

impl ClientSession {
    /// Starts the SIP account of a `connection` with SIP fields; a login SIP cannot carry is
    /// refused here rather than leaving calls hanging later (seed 003).
    pub(super) fn start_sip(&mut self, connection: &ConnectionRequest, ctx: &mut Context<Self>) {
        let Some(credentials) = connection.sip.clone() else { return };
        let checked = check_sip_user("sipLogin", &credentials.login).and_then(|()| check_sip_user("sipAuthenticationName", &credentials.authentication_name));
        if let Err(info) = checked {
            self.sip_error = Some(info.clone());
            self.reject("bad_sip_account", Some("connection"), info, ctx);
            return;
        }
        let Some(gateway) = self.media.sip.clone() else {
            self.reject("sip_unavailable", Some("connection"), "SIP is not available on this server".into(), ctx);
            return;
        };
        let account = SipAccount::new(credentials, gateway, ctx.address().recipient(), ctx.address().recipient());
        self.account = Some(account.start());
    }

    fn credentials(&self) -> Option<SipCredentials> {
        match &self.phase {
            Phase::Established { connection, .. } => connection.sip.clone(),
            Phase::AwaitingConnection => None,
        }
    }

    fn call_context(&self, credentials: SipCredentials, ctx: &mut Context<Self>) -> Option<CallContext> {
        Some(CallContext {
            credentials,
            session: ctx.address().recipient(),
            gateway: self.media.sip.clone()?,
            worker: self.media.worker(),
            media: self.media.clone(),
            metrics: self.metrics.clone(),
        })
    }

    /// `call`: a new outgoing call.
    pub(super) fn call(&mut self, request: CallRequest, ctx: &mut Context<Self>) {
        if self.calls.contains_key(&request.call_id) {
            let info = format!("Call '{}' exists already", request.call_id);
            return self.reject("duplicate_call", Some("call"), info, ctx);
        }
        let context = match (self.credentials(), &self.sip_error) {
            (_, Some(error)) => Err(error.clone()),
            (None, None) => Err("No SIP account: connect with sipLogin, sipPassword and sipDomain to make calls".into()),
            (Some(credentials), None) => self.call_context(credentials, ctx).ok_or_else(|| "SIP is not available on this server".to_owned()),
        };
        match context {
            Ok(context) => {
                let call = SipDialog::outgoing(request.clone(), context).start_on_its_media_thread();
                self.calls.insert(request.call_id, call);
            }
            Err(info) => {
                tracing::info!(call_id = %request.call_id, "call refused: {info}");
                self.metrics.error("call_refused");
                self.send(ServerEvent::CallStatus(Box::new(refused_call(&request, info))), ctx);
            }
        }
    }

    /// `answer`: the browser takes an incoming call.
    pub(super) fn answer(&mut self, request: CallRequest, ctx: &mut Context<Self>) {
        match self.calls.get(&request.call_id) {
            Some(call) => call.do_send(AnswerCall(request)),
            None => self.reject("unknown_call", Some("answer"), format!("Call '{}' not found", request.call_id), ctx),
        }
    }

    pub(super) fn call_command(&mut self, name: &'static str, call_id: String, command: CallCommand, ctx: &mut Context<Self>) {
        match self.calls.get(&call_id) {
            Some(call) => call.do_send(CallControl(command)),
            None => self.reject("unknown_call", Some(name), format!("Call '{call_id}' not found"), ctx),
        }
    }

    /// The session ends: its calls are hung up, its account unregistered.
    pub(super) fn release_sip(&mut self) {
        for (_, call) in self.calls.drain() {
            call.do_send(CallControl(CallCommand::Hangup));
        }
        if let Some(account) = self.account.take() {
            account.do_send(CloseAccount);
        }
    }
}

/// The FAILED status of a call that never started.
fn refused_call(request: &CallRequest, info: String) -> CallInfo {
    let (caller, visible_name) = (request.caller.clone().unwrap_or_default(), request.visible_name.clone().unwrap_or_default());
    CallInfo {
        has_audio: request.has_audio,
        has_video: request.has_video,
        info: Some(info),
        custom: request.custom.clone(),
        ..CallInfo::new(request.call_id.clone(), CallStatus::Failed, false, caller, request.callee.clone(), visible_name)
    }
}

impl Handler<CallNews> for ClientSession {
    type Result = ();
    fn handle(&mut self, news: CallNews, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        if news.ended {
            self.calls.remove(&news.call_id);
        }
        self.send(news.event, ctx);
    }
}

impl Handler<AccountEvent> for ClientSession {
    type Result = ();
    fn handle(&mut self, event: AccountEvent, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        match event {
            AccountEvent::Registered { .. } => {
                let Phase::Established { connection, auth_token, .. } = &self.phase else { return };
                let data = connection.user_data(auth_token);
                self.send(ServerEvent::Registered(data), ctx);
            }
            AccountEvent::RegistrationFailed { info } => self.reject("registration_failed", Some("RegistrationStatusEvent"), info, ctx),
        }
    }
}

impl Handler<IncomingInvite> for ClientSession {
    type Result = ();
    fn handle(&mut self, invite: IncomingInvite, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let Some(context) = self.credentials().and_then(|credentials| self.call_context(credentials, ctx)) else {
            let _ = invite.dialog.reject(Some(StatusCode::TemporarilyUnavailable), None);
            return;
        };
        let call_id = new_session_id();
        match SipDialog::incoming(invite, call_id.clone(), context) {
            Ok(dialog) => {
                tracing::info!(%call_id, "incoming call");
                let call = dialog.start_on_its_media_thread();
                self.calls.insert(call_id, call);
            }
            Err((dialog, why)) => {
                tracing::info!(%why, "incoming call refused");
                let _ = dialog.reject(Some(StatusCode::NotAcceptableHere), Some(why));
            }
        }
    }
}
