//! One SIP call of a WebSDK session (spec §4): an actor owning the call's rsipstack dialog,
//! the browser's WebRTC peer (Opus both ways) and the phone's RTP leg. It turns what the SIP
//! side does into the WebSDK's call statuses and what the browser asks (`answer`, `hangup`,
//! `hold`, `sendDtmf`, `transfer`) into SIP.

use super::address::{callee_uri, check_sip_user};
use super::call_leg::{CallLeg, LegCodec, LegCommand, LegEvent, LegSockets, LegTarget};
use super::video_leg::{VideoCommand, VideoEnds, VideoLeg};
use super::call_outcome::{digit_of_dtmf_relay, dtmf_relay_body, status_of_final_response, transfer_status_of_sipfrag};
use super::account::{AccountEvent, CloseAccount, SipAccount};
use super::call_record::CallRecord;
use super::gateway::{IncomingInvite, SipGateway};
use crate::media::{CodecName, MediaFrame, TrackCodec};
use crate::media_context::{MediaContext, MediaWorker};
use crate::metrics::Metrics;
use crate::sdp::plain::{build_answer, build_offer, invite_codecs, AnswerSetup, InviteCodecs, Direction, LocalCodec, LocalMedia, LocalSession, NegotiatedMedia, PlainSdp, RemoteMedia};
use crate::sdp::{limit_opus_audio_rate, SessionDescription};
use crate::webrtc::peer_setup::{setup_call_answer, setup_call_offer, CallOffer, PeerSetup, SetupParams};
use crate::stream::RequestKeyframe;
use crate::webrtc_peer::{ApplyAnswer, PeerEvent, PeerEventKind, Role, StopPeer, WebRtcPeer};
use crate::websdk::{CallCommand, CallInfo, CallRequest, CallStatus, DtmfType, ServerEvent, SipCredentials, TransferStatus};
use actix::prelude::*;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle};
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Request, Response, StatusCode, StatusCodeKind, Transport, Uri};
use rsipstack::transport::SipAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::Span;

/// Phone codecs the call can bridge: Opus as it is, the others through the transcoder.
const PHONE_CODECS: &[CodecName] = &[CodecName::Opus, CodecName::Pcmu, CodecName::Pcma, CodecName::G722];
/// Video passes through untranscoded, so both sides must share the codec.
const VIDEO_CODECS: &[CodecName] = &[CodecName::H264, CodecName::Vp8];
/// Frames between the browser's peer and the leg, each way.
const BROWSER_QUEUE: usize = 50;
/// How long a DTMF digit sent as SIP INFO lasts.
const INFO_DIGIT_MS: u32 = 160;

/// News for the session that owns the call: an event for its client; `ended` once the call is
/// over (after its final status).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallNews {
    pub call_id: String,
    pub event: ServerEvent,
    pub ended: bool,
}

/// What the call needs from its session.
pub struct CallContext {
    pub credentials: SipCredentials,
    pub session: Recipient<CallNews>,
    pub gateway: Arc<SipGateway>,
    /// The media thread the call runs on, with its browser's peer and its RTP legs.
    pub worker: MediaWorker,
    pub media: Arc<MediaContext>,
    pub metrics: Metrics,
}

enum Setup {
    /// The browser's `call`.
    Outgoing(CallRequest),
    /// A phone's INVITE, until the browser answers.
    Incoming { offer: PlainSdp, states: Option<DialogStateReceiver> },
    /// REST `/call/startup`: no browser; what the phone says goes to `frames`, the publisher
    /// channel of a stream (or nowhere, when it is dropped at once), while `listened`.
    ToStream { request: CallRequest, frames: mpsc::Sender<MediaFrame>, listened: Arc<AtomicBool> },
}

pub struct SipDialog {
    info: CallInfo,
    context: CallContext,
    setup: Option<Setup>,
    span: Span,
    dialog: Option<InviteDialog>,
    sip_sdp: Vec<String>,
    browser: Option<Addr<WebRtcPeer>>,
    /// An outgoing call's SDP answer for the browser, held until the phone's SDP says its codec
    /// (see `start_outgoing`).
    held_answer: Option<String>,
    /// The browser's frames for the leg and the leg's frames for the browser, until the leg starts.
    browser_channels: Option<(mpsc::Receiver<MediaFrame>, mpsc::Sender<MediaFrame>)>,
    /// A to-stream call's browser side: it never speaks, and holding it keeps the leg's input open.
    silent_browser: Option<mpsc::Sender<MediaFrame>>,
    /// A to-stream call's: whether its stream has subscribers (see `LegCommand::OnlyWhileListened`).
    listened: Option<Arc<AtomicBool>>,
    /// A REST call with `sipRegisterRequired`: its account, and its INVITE until registered.
    account: Option<Addr<SipAccount>>,
    invite_after_registration: Option<CallRequest>,
    sockets: Option<LegSockets>,
    rtp_port: u16,
    leg: Option<CallLeg>,
    /// A call with video: the codec it carries both ways (what the browser's offer gave, H.264
    /// for a stream, the phone's choice for an incoming call), on a socket pair of its own.
    video_codec: Option<CodecName>,
    video_sockets: Option<LegSockets>,
    video_port: u16,
    video_leg: Option<VideoLeg>,
    /// While our REFER awaits its answer: the progress its NOTIFYs reported meanwhile. The
    /// phone may send the first NOTIFY right behind its 202, and the two can reach us in either
    /// order; the browser hears ACCEPTED first.
    refer_pending: Option<Vec<TransferStatus>>,
    /// The phone's video, once agreed.
    phone_video: Option<NegotiatedMedia>,
    local_session: LocalSession,
    /// The phone's codec, once agreed.
    phone: Option<NegotiatedMedia>,
    /// We put the phone on hold.
    holding: bool,
    record: CallRecord,
    ended: bool,
}

impl SipDialog {
    /// REST calls out (`/call/startup`): the phone's audio, as Opus, goes to `frames`.
    pub fn to_stream(request: CallRequest, context: CallContext, frames: mpsc::Sender<MediaFrame>, listened: Arc<AtomicBool>) -> Self {
        let mut dialog = Self::outgoing(request, context);
        if let Some(Setup::Outgoing(request)) = dialog.setup.take() {
            dialog.setup = Some(Setup::ToStream { request, frames, listened });
        }
        dialog
    }

    /// Starts the call on its media thread (`CallContext::worker`).
    pub fn start_on_its_media_thread(self) -> Addr<Self> {
        let arbiter = self.context.worker.arbiter.clone();
        Self::start_in_arbiter(&arbiter, move |_| self)
    }

    /// The call as the client sees it.
    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    /// The browser calls out (`call`, spec §4.2).
    pub fn outgoing(request: CallRequest, context: CallContext) -> Self {
        let login = &context.credentials.login;
        let visible_name = request.visible_name.clone().unwrap_or_else(|| login.clone());
        let info = CallInfo {
            custom: request.custom.clone(),
            ..CallInfo::new(request.call_id.clone(), CallStatus::Trying, false, login.clone(), request.callee.clone(), visible_name)
        };
        let sip_sdp = request.sip_sdp.clone();
        Self::new(info, context, Setup::Outgoing(request), None, sip_sdp)
    }

    /// A phone calls the session's account (spec §4.5 `notifyIncomingCall`).
    pub fn incoming(invite: IncomingInvite, call_id: String, context: CallContext) -> Result<Self, (InviteDialog, String)> {
        let request = invite.dialog.initial_request();
        let offer = std::str::from_utf8(&request.body).map_err(|e| e.to_string()).and_then(|body| PlainSdp::parse(body).map_err(|e| e.to_string()));
        let offer = match offer {
            Ok(offer) if offer.audio().is_some_and(|a| a.first_codec_among(PHONE_CODECS).is_some()) => offer,
            Ok(_) => return Err((invite.dialog, "no audio codec in common".into())),
            Err(e) => return Err((invite.dialog, e)),
        };
        let (caller, display) = caller_of(&request);
        let visible_name = display.unwrap_or_else(|| caller.clone());
        let info = CallInfo::new(call_id, CallStatus::Ring, true, caller, invite.login.clone(), visible_name);
        Ok(Self::new(info, context, Setup::Incoming { offer, states: Some(invite.states) }, Some(invite.dialog), Vec::new()))
    }

    fn new(info: CallInfo, context: CallContext, setup: Setup, dialog: Option<InviteDialog>, sip_sdp: Vec<String>) -> Self {
        let span = tracing::info_span!("call", id = %info.call_id);
        let local_session = LocalSession { address: context.gateway.settings.advertised_ip, session_id: rand::random::<u32>().into(), session_version: 1 };
        SipDialog {
            info,
            context,
            setup: Some(setup),
            span,
            dialog,
            sip_sdp,
            browser: None,
            held_answer: None,
            browser_channels: None,
            silent_browser: None,
            listened: None,
            account: None,
            invite_after_registration: None,
            sockets: None,
            rtp_port: 0,
            leg: None,
            video_codec: None,
            video_sockets: None,
            video_port: 0,
            video_leg: None,
            refer_pending: None,
            phone_video: None,
            local_session,
            phone: None,
            holding: false,
            record: CallRecord::new(),
            ended: false,
        }
    }

    /// Sends the call's status to the client; a final one ends the call.
    fn status(&mut self, status: CallStatus, ctx: &mut Context<Self>) {
        self.info.status = status;
        let ended = status.is_final() && status != CallStatus::Busy;
        let _ = self.context.session.try_send(CallNews {
            call_id: self.info.call_id.clone(),
            event: ServerEvent::CallStatus(Box::new(self.info.clone())),
            ended,
        });
        match status {
            CallStatus::Ring | CallStatus::RingMedia | CallStatus::SessionProgress => self.record.ringing(),
            CallStatus::Established => self.record.answered(),
            _ => {}
        }
        if ended {
            self.ended = true;
            self.record.ended(self.info.info.clone().unwrap_or_else(|| "normal".into()));
            tracing::info!(parent: &self.span, record = ?self.record, "call ended");
            ctx.stop();
        }
    }

    fn event(&self, event: ServerEvent) {
        let _ = self.context.session.try_send(CallNews { call_id: self.info.call_id.clone(), event, ended: false });
    }

    /// Ends the call as FAILED with `info`, hanging up the SIP side if there is one.
    fn fail(&mut self, info: impl Into<String>, ctx: &mut Context<Self>) {
        if self.ended {
            return;
        }
        let info = info.into();
        tracing::info!(parent: &self.span, %info, "call failed");
        self.hang_up_sip();
        self.info.info = Some(info);
        self.status(CallStatus::Failed, ctx);
    }

    /// Ends the call as FINISH (either side hung up).
    fn finish(&mut self, info: &str, ctx: &mut Context<Self>) {
        if self.ended {
            return;
        }
        self.info.info = Some(info.to_owned());
        self.status(CallStatus::Finish, ctx);
    }

    /// BYE after an answer, CANCEL before one (outgoing), a decline (incoming). The request
    /// outlives the actor, which ends with the call; the dialog goes once it is answered.
    fn hang_up_sip(&mut self) {
        let Some(dialog) = self.dialog.take() else { return };
        let dialogs = self.context.gateway.dialogs.clone();
        let answered = self.record.was_answered();
        if self.info.incoming && !answered {
            let _ = dialog.reject(Some(StatusCode::Decline), None);
            dialogs.remove_dialog(&dialog.id());
            return;
        }
        actix::spawn(async move {
            let sent = if answered { dialog.bye().await } else { dialog.cancel().await };
            if let Err(e) = sent {
                tracing::debug!(error = %e, "hangup request");
            }
            dialogs.remove_dialog(&dialog.id());
        });
    }

    fn peer_params<'a>(&'a self, offer: &'a str) -> SetupParams<'a> {
        let media = &self.context.media;
        SetupParams {
            offer,
            candidate: self.context.worker.candidate,
            identity: &media.identity,
            stream_id: &self.info.call_id,
            resend_buffers: media.resend_buffers,
            now: Instant::now(),
        }
    }

    /// The browser's peer, on the call's media thread, with channels to the leg to come.
    fn start_browser(&mut self, setup: PeerSetup, pending: Option<str0m::change::SdpPendingOffer>, ctx: &mut Context<Self>) {
        let (to_call, from_browser) = mpsc::channel(BROWSER_QUEUE);
        let (to_browser, from_call) = mpsc::channel(BROWSER_QUEUE);
        self.browser_channels = Some((from_browser, to_browser));
        let owner = ctx.address().recipient();
        let call_id = self.info.call_id.clone();
        let metrics = self.context.metrics.clone();
        let worker = &self.context.worker;
        let (socket, candidate) = (worker.socket.clone(), worker.candidate);
        // Made on the media thread: a peer holds state that stays on its thread.
        self.browser = Some(WebRtcPeer::start_in_arbiter(&worker.arbiter, move |_| {
            WebRtcPeer::new(call_id, setup, Role::Call { to_call, from_call, pending }, socket, candidate, owner, metrics)
        }));
    }

    fn bind_rtp(&mut self) -> Result<(), String> {
        let sockets = self.bind_port_pair()?;
        self.rtp_port = sockets.port;
        self.sockets = Some(sockets);
        Ok(())
    }

    /// What an answer to the phone may pick: the phone codecs, and the call's video codec.
    fn answerable_codecs(&self) -> Vec<CodecName> {
        PHONE_CODECS.iter().copied().chain(self.video_codec).collect()
    }

    fn bind_video(&mut self) -> Result<(), String> {
        let sockets = self.bind_port_pair()?;
        self.video_port = sockets.port;
        self.video_sockets = Some(sockets);
        Ok(())
    }

    fn bind_port_pair(&self) -> Result<LegSockets, String> {
        let gateway = &self.context.gateway;
        let sockets = LegSockets::bind(gateway.settings.bind, gateway.rtp_ports.candidates())?;
        gateway.rtp_ports.take(sockets.port);
        Ok(sockets)
    }

    fn start_outgoing(&mut self, request: CallRequest, ctx: &mut Context<Self>) -> Result<(), String> {
        check_credentials(&self.context.credentials)?;
        // TRYING at once: until a status arrives, the SDK's hangup() sends nothing (spec §4.7).
        self.status(CallStatus::Trying, ctx);
        let setup = setup_call_answer(&self.peer_params(&request.sdp), request.has_video).map_err(|e| e.info())?;
        let phone_codecs: Vec<CodecName> = self.invite_codecs_for(&browser_audio_codecs(&request.sdp)).audio.iter().map(|c| c.codec.name).collect();
        if phone_codecs.contains(&CodecName::Opus) {
            // The phone may take Opus (passed through at full width) or a telephone codec (the
            // browser's audio is then best narrow, and a quarter as costly to transcode): the
            // answer waits for the phone's SDP, which the spec allows (§4.7).
            self.held_answer = Some(setup.answer.clone());
        } else {
            let answer = limit_browser_audio(&setup.answer, &phone_codecs);
            self.event(ServerEvent::SetRemoteSdp { id: self.info.call_id.clone(), sdp: answer });
        }
        // Video when the browser asked for it and its offer has H.264 or VP8 to pass through.
        self.video_codec = setup.video.as_ref().map(|v| v.codec.name);
        self.info.has_video = self.video_codec.is_some();
        self.start_browser(setup, None, ctx);
        let mut offered = browser_audio_codecs(&request.sdp);
        offered.extend(self.video_codec);
        self.invite(request, &offered, ctx)
    }

    /// A REST call: its leg's browser side is a stream's publisher channel.
    fn start_to_stream(&mut self, request: CallRequest, frames: mpsc::Sender<MediaFrame>, ctx: &mut Context<Self>) -> Result<(), String> {
        check_credentials(&self.context.credentials)?;
        self.status(CallStatus::Trying, ctx);
        let (silent, nothing) = mpsc::channel(1);
        self.silent_browser = Some(silent);
        self.browser_channels = Some((nothing, frames));
        // A stream's video is H.264, what players, recordings and RTMP take.
        self.video_codec = request.has_video.then_some(CodecName::H264);
        if self.context.credentials.register_required {
            // REGISTER first (seed 001); the INVITE follows `Registered`.
            let account = SipAccount::new(self.context.credentials.clone(), self.context.gateway.clone(), ctx.address().recipient(), ctx.address().recipient());
            self.account = Some(account.start());
            self.invite_after_registration = Some(request);
            return Ok(());
        }
        self.invite_for_stream(request, ctx);
        Ok(())
    }

    /// The INVITE of a REST call, as a browser's would be: its stream is Opus, so the phone
    /// codecs Opus becomes are offered.
    fn invite_for_stream(&mut self, request: CallRequest, ctx: &mut Context<Self>) {
        let stream_codecs: Vec<CodecName> = std::iter::once(CodecName::Opus).chain(self.video_codec).collect();
        if let Err(e) = self.invite(request, &stream_codecs, ctx) {
            self.fail(e, ctx);
        }
    }

    /// The codecs an INVITE offers the phone, by the settings, for a browser that offered `offered`.
    fn invite_codecs_for(&self, offered: &[CodecName]) -> InviteCodecs {
        let settings = &self.context.gateway.settings;
        invite_codecs(&settings.codecs, &settings.codecs_exclude_sip, settings.allow_outside_codecs, offered)
    }

    /// The INVITE to `request.callee` through the account's proxy, offering the SIP codecs the
    /// settings allow for a browser that offered `offered`.
    fn invite(&mut self, request: CallRequest, offered: &[CodecName], ctx: &mut Context<Self>) -> Result<(), String> {
        let credentials = self.context.credentials.clone();
        let domain = if credentials.domain.is_empty() { credentials.outbound_proxy.clone() } else { credentials.domain.clone() };
        let callee = callee_uri(&request.callee, &domain)?;
        self.bind_rtp()?;
        let codecs = self.invite_codecs_for(offered);
        let mut audio = codecs.audio_media(self.rtp_port, Direction::SendRecv);
        audio.codecs.retain(|c| PHONE_CODECS.contains(&c.codec.name));
        if audio.codecs.is_empty() {
            return Err("No common codecs: the SIP codecs settings leave nothing the browser's audio can become".into());
        }
        let mut video = None;
        if let Some(codec) = self.video_codec {
            self.bind_video()?;
            video = codecs.video_media(self.video_port, Direction::SendRecv);
            if let Some(video) = &mut video {
                video.codecs.retain(|c| c.codec.name == codec);
            }
            video = video.filter(|v| !v.codecs.is_empty());
        }
        let offer = build_offer(&self.local_session, &audio, video.as_ref(), &self.sip_sdp);
        let option = InviteOption {
            caller_display_name: request.visible_name.clone(),
            caller: parse_uri(&format!("sip:{}@{domain}", credentials.login))?,
            callee: parse_uri(&callee)?,
            destination: None,
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            contact: self.context.gateway.contact(&credentials.login),
            credential: Some(Credential {
                username: credentials.login.clone(),
                password: credentials.password.clone(),
                realm: None,
                auth_username: (credentials.authentication_name != credentials.login).then(|| credentials.authentication_name.clone()),
            }),
            ..Default::default()
        };
        let proxy = (credentials.outbound_proxy.clone(), credentials.port);
        let dialogs = self.context.gateway.dialogs.clone();
        let (states_in, states) = dialogs.new_dialog_state_channel();
        ctx.add_stream(dialog_states(states));
        let invite = async move {
            let destination = tokio::net::lookup_host(proxy.clone())
                .await
                .ok()
                .and_then(|mut addresses| addresses.next())
                .ok_or_else(|| format!("cannot resolve the SIP outbound proxy '{}'", proxy.0))?;
            let option = InviteOption { destination: Some(SipAddr { r#type: Some(Transport::Udp), addr: destination.into() }), ..option };
            let (dialog, outcome) = dialogs.do_invite_async(option, states_in).map_err(|e| e.to_string())?;
            Ok::<_, String>((dialog, outcome))
        };
        ctx.spawn(invite.into_actor(self).map(|started, act, ctx| match started {
            Ok((dialog, outcome)) => {
                act.dialog = Some(dialog);
                ctx.spawn(outcome.into_actor(act).map(|outcome, act, ctx| match outcome {
                    Ok(Ok((_, response))) => act.on_invite_answer(response, ctx),
                    Ok(Err(e)) => act.fail(format!("SIP error: {e}"), ctx),
                    Err(e) => act.fail(format!("SIP error: {e}"), ctx),
                }));
            }
            Err(e) => act.fail(e, ctx),
        }));
        let ring_timeout = self.context.gateway.settings.ring_timeout;
        ctx.run_later(ring_timeout, |act, ctx| {
            if !act.record.was_answered() {
                act.fail("No answer", ctx);
            }
        });
        Ok(())
    }

    /// The final answer to our INVITE.
    fn on_invite_answer(&mut self, response: Option<Response>, ctx: &mut Context<Self>) {
        if self.ended {
            return;
        }
        let Some(response) = response else {
            return self.fail("No answer from the SIP side (timeout)", ctx);
        };
        let code = response.status_code.code();
        self.info.sip_status = Some(code);
        if response.status_code.kind() != StatusCodeKind::Successful {
            let (status, info) = status_of_final_response(code, response.status_code.text());
            self.info.sip_message = Some(response.status_code.text().to_owned());
            self.info.info = Some(info);
            if status == CallStatus::Busy {
                self.status(CallStatus::Busy, ctx);
                return self.status(CallStatus::Finish, ctx);
            }
            return self.status(status, ctx);
        }
        let answer = std::str::from_utf8(&response.body).map_err(|e| e.to_string()).and_then(|b| PlainSdp::parse(b).map_err(|e| e.to_string()));
        let audio = answer.as_ref().ok().and_then(|sdp| sdp.audio().cloned());
        let Some(audio) = audio else {
            return self.fail(format!("The SIP side answered without usable audio: {}", answer.err().unwrap_or_default()), ctx);
        };
        let Some((pt, codec)) = audio.first_codec_among(PHONE_CODECS) else {
            return self.fail("No common codecs with the SIP side", ctx);
        };
        let negotiated = negotiated_from_answer(&audio, pt, codec.clone());
        self.send_held_answer(negotiated.codec.name);
        // Video when we offered it and the phone kept it; a call without goes on with audio.
        let video = answer.as_ref().ok().and_then(|sdp| sdp.video()).filter(|v| self.video_sockets.is_some() && !v.is_rejected() && v.is_plain_rtp());
        let wanted: Vec<CodecName> = self.video_codec.into_iter().collect();
        self.phone_video = video.and_then(|v| v.first_codec_among(&wanted).map(|(pt, codec)| negotiated_from_answer(v, pt, codec.clone())));
        match self.start_leg(negotiated, ctx) {
            Ok(()) => self.status(CallStatus::Established, ctx),
            Err(e) => self.fail(e, ctx),
        }
    }

    /// The browser's held answer (if it still waits), as wide as the phone's `codec` carries.
    fn send_held_answer(&mut self, codec: CodecName) {
        if let Some(answer) = self.held_answer.take() {
            let answer = limit_browser_audio(&answer, &[codec]);
            self.event(ServerEvent::SetRemoteSdp { id: self.info.call_id.clone(), sdp: answer });
        }
    }

    fn start_incoming(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        let Some(Setup::Incoming { states, .. }) = self.setup.as_mut() else { return Ok(()) };
        if let Some(states) = states.take() {
            ctx.add_stream(dialog_states(states));
        }
        self.bind_rtp()?;
        // A phone that offers video gets the browser offered its first codec we can pass through.
        self.video_codec = match self.setup.as_ref() {
            Some(Setup::Incoming { offer, .. }) => {
                offer.video().filter(|v| !v.is_rejected() && v.is_plain_rtp()).and_then(|v| v.first_codec_among(VIDEO_CODECS)).map(|(_, c)| c.name)
            }
            _ => None,
        };
        if self.video_codec.is_some() {
            self.info.has_video = true;
            self.bind_video()?;
        }
        let CallOffer { setup, pending } = setup_call_offer(&self.peer_params(""), self.video_codec).map_err(|e| e.info())?;
        let phone_codec = match self.setup.as_ref() {
            Some(Setup::Incoming { offer, .. }) => offer.audio().and_then(|a| a.first_codec_among(PHONE_CODECS)).map(|(_, c)| c.name),
            _ => None,
        };
        let offer = limit_browser_audio(&setup.answer, phone_codec.as_slice());
        // setRemoteSDP before notifyIncomingCall, then RING (spec §4.5).
        self.event(ServerEvent::SetRemoteSdp { id: self.info.call_id.clone(), sdp: offer });
        self.start_browser(setup, Some(pending), ctx);
        self.event(ServerEvent::IncomingCall(Box::new(self.info.clone())));
        self.status(CallStatus::Ring, ctx);
        if let Some(dialog) = &self.dialog {
            dialog.ringing(None, None).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The browser answers an incoming call.
    fn answer(&mut self, request: CallRequest, ctx: &mut Context<Self>) {
        let Some(Setup::Incoming { offer, .. }) = self.setup.take() else {
            self.event(ServerEvent::fail(Some("answer"), format!("Call '{}' is not ringing", self.info.call_id)));
            return;
        };
        let Some(browser) = self.browser.clone() else { return };
        self.sip_sdp = request.sip_sdp.clone();
        // Video for the phone only if the browser took the video we offered it.
        let browser_video = SessionDescription::parse(&request.sdp).is_ok_and(|sdp| sdp.media.iter().any(|m| m.kind == "video" && m.port != 0));
        let video_port = (self.video_sockets.is_some() && browser_video).then_some(self.video_port);
        ctx.spawn(browser.send(ApplyAnswer { sdp: request.sdp }).into_actor(self).map(move |applied, act, ctx| {
            match applied {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return act.fail(e.info(), ctx),
                Err(e) => return act.fail(format!("the browser's peer is gone: {e}"), ctx),
            }
            let codecs = act.answerable_codecs();
            let setup = AnswerSetup {
                session: act.local_session,
                audio_port: act.rtp_port,
                video_port,
                codecs: &codecs,
                direction: Direction::SendRecv,
                extra_lines: &act.sip_sdp,
            };
            let answer = match build_answer(&offer, &setup) {
                Ok(answer) => answer,
                Err(e) => return act.fail(e.0, ctx),
            };
            act.phone_video = answer.video.clone();
            if let Some(dialog) = &act.dialog {
                if let Err(e) = dialog.accept(Some(vec![Header::ContentType("application/sdp".into())]), Some(answer.sdp.into_bytes())) {
                    return act.fail(format!("SIP error: {e}"), ctx);
                }
            }
            match act.start_leg(answer.audio, ctx) {
                Ok(()) => act.status(CallStatus::Established, ctx),
                Err(e) => act.fail(e, ctx),
            }
        }));
    }

    /// The legs run on the call's media thread, where this actor and the browser's peer run
    /// too: frames between them never wake another thread.
    fn start_leg(&mut self, audio: NegotiatedMedia, ctx: &mut Context<Self>) -> Result<(), String> {
        let (Some(sockets), Some((from_browser, to_browser))) = (self.sockets.take(), self.browser_channels.take()) else {
            return Err("the call's media is already running".into());
        };
        let codec = LegCodec {
            name: audio.codec.name,
            pt: audio.pt,
            clock_rate: audio.codec.clock_rate,
            telephone_event: audio.telephone_event.map(|te| (te.pt, te.clock_rate)),
        };
        let target = target_of(&audio);
        let activity = self.context.gateway.settings.rtp_activity_timeout;
        tracing::info!(parent: &self.span, codec = ?codec.name, remote = ?target.rtp, "call media up");
        // The browser's video reaches the video leg through the audio leg, which gets all its frames.
        let mut browser_video = None;
        if let (Some(video), Some(sockets)) = (&self.phone_video, self.video_sockets.take()) {
            tracing::info!(parent: &self.span, remote = ?video.rtp_target, "call video up");
            let browser_keyframes = self.browser.clone().map(Addr::recipient);
            let from_browser = browser_keyframes.is_some().then(|| {
                let (to_video, from_browser) = mpsc::channel(BROWSER_QUEUE);
                browser_video = Some(to_video);
                from_browser
            });
            let ends = VideoEnds { from_browser, to_browser: to_browser.clone(), browser_keyframes };
            self.video_leg = Some(VideoLeg::start(&Arbiter::current(), sockets, video.pt, video.codec.name, target_of(video), ends)?);
            // The phone's picture starts at a keyframe of the browser's.
            if let Some(browser) = &self.browser {
                browser.do_send(RequestKeyframe);
            }
        }
        let leg = CallLeg::start(
            &Arbiter::current(),
            &self.info.call_id,
            sockets,
            codec,
            target,
            activity,
            from_browser,
            to_browser,
            ctx.address().recipient(),
            self.context.metrics.clone(),
        )?;
        if let Some(to_video) = browser_video {
            leg.command(LegCommand::ForwardVideo(to_video));
        }
        if let Some(listened) = &self.listened {
            leg.command(LegCommand::OnlyWhileListened(listened.clone()));
        }
        self.leg = Some(leg);
        self.phone = Some(audio);
        Ok(())
    }

    /// Our re-INVITE: hold (sendonly) or back (sendrecv).
    fn hold(&mut self, hold: bool, ctx: &mut Context<Self>) {
        let (Some(dialog), Some(phone)) = (self.dialog.clone(), self.phone.clone()) else {
            self.event(ServerEvent::fail(Some(if hold { "hold" } else { "unhold" }), "The call is not established"));
            return;
        };
        self.local_session.session_version += 1;
        let direction = if hold { Direction::SendOnly } else { Direction::SendRecv };
        let media = LocalMedia { port: self.rtp_port, codecs: vec![LocalCodec { pt: phone.pt, codec: phone.codec.clone() }], telephone_event: phone.telephone_event, direction, ptime: Some(20) };
        // The video stream stays in the offer (an m-line is never dropped), held alike.
        let video = self.phone_video.as_ref().map(|video| LocalMedia {
            port: self.video_port,
            codecs: vec![LocalCodec { pt: video.pt, codec: video.codec.clone() }],
            telephone_event: None,
            direction,
            ptime: None,
        });
        let offer = build_offer(&self.local_session, &media, video.as_ref(), &self.sip_sdp);
        let headers = vec![Header::ContentType("application/sdp".into())];
        let reinvite = async move { dialog.reinvite(Some(headers), Some(offer.into_bytes())).await };
        ctx.spawn(reinvite.into_actor(self).map(move |result, act, ctx| match result {
            Ok(Some(response)) if response.status_code.kind() == StatusCodeKind::Successful => {
                act.holding = hold;
                act.status(if hold { CallStatus::Hold } else { CallStatus::Established }, ctx);
            }
            Ok(Some(response)) => act.event(ServerEvent::fail(Some(if hold { "hold" } else { "unhold" }), format!("re-INVITE refused: {}", response.status_code))),
            Ok(None) => act.event(ServerEvent::fail(Some("hold"), "The call is not established")),
            Err(e) => act.event(ServerEvent::fail(Some("hold"), format!("re-INVITE failed: {e}"))),
        }));
    }

    fn send_dtmf(&mut self, kind: DtmfType, digits: String, ctx: &mut Context<Self>) {
        let rfc4733 = kind == DtmfType::Rfc2833 && self.phone.as_ref().is_some_and(|p| p.telephone_event.is_some());
        if rfc4733 {
            if let Some(leg) = &self.leg {
                leg.command(LegCommand::Dtmf(digits));
            }
            return;
        }
        // INFO when asked, or when the phone takes no telephone events.
        let Some(dialog) = self.dialog.clone() else { return };
        let sending = async move {
            for digit in digits.chars() {
                let headers = vec![Header::ContentType("application/dtmf-relay".into())];
                dialog.info(Some(headers), Some(dtmf_relay_body(digit, INFO_DIGIT_MS).into_bytes())).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        };
        ctx.spawn(sending.into_actor(self).map(|result, act, _| {
            if let Err(e) = result {
                act.event(ServerEvent::fail(Some("sendDtmf"), format!("INFO failed: {e}")));
            }
        }));
    }

    fn transfer(&mut self, target: String, ctx: &mut Context<Self>) {
        let domain = self.context.credentials.domain.clone();
        let (Some(dialog), Ok(uri)) = (self.dialog.clone(), callee_uri(&target, &domain).and_then(|t| parse_uri(&t))) else {
            self.event(ServerEvent::TransferEvent { call_id: self.info.call_id.clone(), status: TransferStatus::Failed });
            return;
        };
        let referring = async move { dialog.refer(uri, None, None).await };
        self.refer_pending = Some(Vec::new());
        ctx.spawn(referring.into_actor(self).map(|result, act, _| {
            let status = match result {
                Ok(Some(response)) if response.status_code.kind() == StatusCodeKind::Successful => TransferStatus::Accepted,
                _ => TransferStatus::Failed,
            };
            let progress = act.refer_pending.take().unwrap_or_default();
            for status in std::iter::once(status).chain(progress) {
                act.event(ServerEvent::TransferEvent { call_id: act.info.call_id.clone(), status });
            }
        }));
    }

    /// The phone's re-INVITE: hold, resume, or new media address.
    fn on_reinvite(&mut self, request: Request, handle: TransactionHandle, ctx: &mut Context<Self>) {
        let offer = std::str::from_utf8(&request.body).ok().and_then(|b| PlainSdp::parse(b).ok());
        let Some(offer) = offer else {
            // A re-INVITE without SDP asks for our offer; keep the session as it is.
            ctx.spawn(async move { handle.reply(StatusCode::NotAcceptableHere).await }.into_actor(self).map(|_, _, _| ()));
            return;
        };
        self.local_session.session_version += 1;
        let direction = if self.holding { Direction::SendOnly } else { Direction::SendRecv };
        let codecs = self.answerable_codecs();
        let setup = AnswerSetup {
            session: self.local_session,
            audio_port: self.rtp_port,
            video_port: self.phone_video.as_ref().map(|_| self.video_port),
            codecs: &codecs,
            direction,
            extra_lines: &self.sip_sdp,
        };
        match build_answer(&offer, &setup) {
            Ok(answer) => {
                let target = target_of(&answer.audio);
                // The phone holds when it no longer takes our audio (its sendonly or inactive
                // offer, answered recvonly or inactive) or sends to no address (c=0.0.0.0).
                let held = !target.sending || target.rtp.is_none();
                if let Some(leg) = &self.leg {
                    leg.command(LegCommand::Retarget(target));
                }
                if let (Some(leg), Some(video)) = (&self.video_leg, &answer.video) {
                    leg.command(VideoCommand::Retarget(target_of(video)));
                }
                let body = answer.sdp.into_bytes();
                let headers = vec![Header::ContentType("application/sdp".into())];
                ctx.spawn(async move { handle.respond(StatusCode::OK, Some(headers), Some(body)).await }.into_actor(self).map(|_, _, _| ()));
                if !self.holding {
                    self.status(if held { CallStatus::Hold } else { CallStatus::Established }, ctx);
                }
            }
            Err(_) => {
                ctx.spawn(async move { handle.reply(StatusCode::NotAcceptableHere).await }.into_actor(self).map(|_, _, _| ()));
            }
        }
    }
}

/// The browser's audio codecs, from its offer (what `stripCodecs` left).
fn browser_audio_codecs(offer: &str) -> Vec<CodecName> {
    let Ok(sdp) = SessionDescription::parse(offer) else { return Vec::new() };
    sdp.media
        .iter()
        .filter(|m| m.kind == "audio")
        .flat_map(|m| m.payload_types().filter_map(|pt| m.rtpmap(pt)).filter_map(|map| CodecName::from_rtpmap(&map.name)).collect::<Vec<_>>())
        .collect()
}

/// The audio codec of a phone's SDP `body` that the call would use.
fn phone_codec_of(body: &[u8]) -> Option<CodecName> {
    let sdp = PlainSdp::parse(std::str::from_utf8(body).ok()?).ok()?;
    sdp.audio()?.first_codec_among(PHONE_CODECS).map(|(_, codec)| codec.name)
}

/// The browser's SDP, telling it to send Opus no wider than the phone's codecs carry when the
/// phone's audio is always transcoded (`phone_codecs` has no Opus): 8 kHz for G.711, 16 kHz
/// with G.722 among them.
fn limit_browser_audio(sdp: &str, phone_codecs: &[CodecName]) -> String {
    if phone_codecs.is_empty() || phone_codecs.contains(&CodecName::Opus) {
        return sdp.to_owned();
    }
    let rate = if phone_codecs.contains(&CodecName::G722) { 16_000 } else { 8_000 };
    limit_opus_audio_rate(sdp, rate)
}

fn check_credentials(credentials: &SipCredentials) -> Result<(), String> {
    check_sip_user("SIP login", &credentials.login)?;
    check_sip_user("SIP authentication name", &credentials.authentication_name)
}

/// One stream of the phone's answer to our offer, with the codec chosen from it.
fn negotiated_from_answer(media: &RemoteMedia, pt: u8, codec: TrackCodec) -> NegotiatedMedia {
    NegotiatedMedia {
        pt,
        telephone_event: media.telephone_event_for(codec.clock_rate),
        codec,
        direction: media.effective_direction().mirrored(),
        rtp_target: media.rtp_target(),
        rtcp_target: media.rtcp_target(),
        remote_ptime: media.ptime,
    }
}

fn target_of(audio: &NegotiatedMedia) -> LegTarget {
    LegTarget {
        rtp: audio.rtp_target,
        rtcp: audio.rtcp_target,
        sending: audio.direction.sends(),
        receiving: audio.direction.receives(),
    }
}

fn parse_uri(text: &str) -> Result<Uri, String> {
    Uri::try_from(text).map_err(|e| format!("'{text}' is not a SIP URI: {e}"))
}

/// The caller's user and display name, from the From header.
fn caller_of(request: &Request) -> (String, Option<String>) {
    let from = request.from_header().ok().and_then(|h| h.typed().ok());
    let user = from.as_ref().and_then(|f| f.uri.auth.as_ref().map(|a| a.user.clone())).unwrap_or_else(|| "unknown".into());
    let display = from.and_then(|f| f.display_name).map(|d| d.trim_matches('"').to_owned()).filter(|d| !d.is_empty());
    (user, display)
}

fn dialog_states(states: DialogStateReceiver) -> impl futures_core::Stream<Item = DialogState> {
    futures_util::stream::unfold(states, |mut states| async move { states.recv().await.map(|state| (state, states)) })
}

impl Actor for SipDialog {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        let started = match self.setup.take() {
            Some(Setup::Outgoing(request)) => self.start_outgoing(request, ctx),
            Some(Setup::ToStream { request, frames, listened }) => {
                self.listened = Some(listened);
                self.start_to_stream(request, frames, ctx)
            }
            incoming => {
                self.setup = incoming;
                self.start_incoming(ctx)
            }
        };
        if let Err(info) = started {
            self.fail(info, ctx);
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.leg = None;
        self.video_leg = None;
        self.video_sockets = None;
        if self.video_port != 0 {
            self.context.gateway.rtp_ports.release(self.video_port);
        }
        if let Some(account) = self.account.take() {
            account.do_send(CloseAccount);
        }
        if self.rtp_port != 0 {
            self.context.gateway.rtp_ports.release(self.rtp_port);
        }
        if let Some(browser) = self.browser.take() {
            browser.do_send(StopPeer);
        }
        if let Some(dialog) = &self.dialog {
            self.context.gateway.dialogs.remove_dialog(&dialog.id());
        }
        if !self.ended {
            let _ = self.context.session.try_send(CallNews {
                call_id: self.info.call_id.clone(),
                event: ServerEvent::CallStatus(Box::new(CallInfo { status: CallStatus::Failed, info: Some("Call ended".into()), ..self.info.clone() })),
                ended: true,
            });
        }
    }
}

/// The call's stream wants a picture to start from (a new viewer, a recording): the phone is asked.
impl Handler<RequestKeyframe> for SipDialog {
    type Result = ();
    fn handle(&mut self, _: RequestKeyframe, _: &mut Context<Self>) {
        if let Some(video) = &self.video_leg {
            video.command(VideoCommand::Keyframe);
        }
    }
}

impl StreamHandler<DialogState> for SipDialog {
    fn handle(&mut self, state: DialogState, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        match state {
            DialogState::Early(_, response) if !self.info.incoming => {
                let status = match (response.status_code.code(), response.body.is_empty()) {
                    (183, _) => CallStatus::SessionProgress,
                    (_, false) => CallStatus::RingMedia,
                    _ => CallStatus::Ring,
                };
                self.info.sip_status = Some(response.status_code.code());
                // Early media's SDP says the phone's codec already.
                if let Some(codec) = phone_codec_of(&response.body) {
                    self.send_held_answer(codec);
                }
                if self.info.status != status {
                    self.status(status, ctx);
                }
            }
            DialogState::Terminated(_, reason) => match reason {
                TerminatedReason::UacCancel => self.finish("Cancelled by the caller", ctx),
                TerminatedReason::UacBye | TerminatedReason::UasBye => self.finish("Hung up by the other side", ctx),
                TerminatedReason::Timeout if self.record.was_answered() => self.fail("SIP timeout", ctx),
                // An outgoing INVITE's failures come with its final answer.
                _ => {}
            },
            DialogState::Updated(_, request, handle) => {
                if request.method == rsipstack::sip::Method::Invite {
                    self.on_reinvite(request, handle, ctx);
                } else {
                    ctx.spawn(async move { handle.reply(StatusCode::OK).await }.into_actor(self).map(|_, _, _| ()));
                }
            }
            DialogState::Info(_, request, handle) => {
                if let Some(digit) = std::str::from_utf8(&request.body).ok().and_then(digit_of_dtmf_relay) {
                    tracing::info!(%digit, "DTMF from the SIP side (INFO)");
                }
                ctx.spawn(async move { handle.reply(StatusCode::OK).await }.into_actor(self).map(|_, _, _| ()));
            }
            DialogState::Notify(_, request, handle) => {
                let progress = std::str::from_utf8(&request.body).ok().and_then(transfer_status_of_sipfrag);
                match (progress, &mut self.refer_pending) {
                    (Some(status), Some(held)) => held.push(status),
                    (Some(status), None) => self.event(ServerEvent::TransferEvent { call_id: self.info.call_id.clone(), status }),
                    (None, _) => {}
                }
                ctx.spawn(async move { handle.reply(StatusCode::OK).await }.into_actor(self).map(|_, _, _| ()));
            }
            // A phone asking us to transfer the browser elsewhere: not something a browser call does.
            DialogState::Refer(_, _, handle) => {
                ctx.spawn(async move { handle.reply(StatusCode::Decline).await }.into_actor(self).map(|_, _, _| ()));
            }
            DialogState::Options(_, _, handle) | DialogState::Message(_, _, handle) | DialogState::Publish(_, _, handle) => {
                ctx.spawn(async move { handle.reply(StatusCode::OK).await }.into_actor(self).map(|_, _, _| ()));
            }
            _ => {}
        }
    }

    fn finished(&mut self, _: &mut Context<Self>) {}
}

/// A command of the browser (`hangup`, `hold`, `unhold`, `sendDtmf`, `transfer`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallControl(pub CallCommand);

/// A REST call's registration: the INVITE goes once registered; a failure ends the call.
impl Handler<AccountEvent> for SipDialog {
    type Result = ();
    fn handle(&mut self, event: AccountEvent, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        match (event, self.invite_after_registration.take()) {
            (AccountEvent::Registered { .. }, Some(request)) => self.invite_for_stream(request, ctx),
            (AccountEvent::RegistrationFailed { info }, Some(_)) => self.fail(format!("Registration failed: {info}"), ctx),
            // Later refreshes: the call goes on whatever they say.
            _ => {}
        }
    }
}

/// A REST call's account takes no calls: an INVITE to its login is declined.
impl Handler<IncomingInvite> for SipDialog {
    type Result = ();
    fn handle(&mut self, invite: IncomingInvite, _: &mut Context<Self>) {
        let _ = invite.dialog.reject(Some(StatusCode::BusyHere), None);
    }
}

impl Handler<CallControl> for SipDialog {
    type Result = ();
    fn handle(&mut self, CallControl(command): CallControl, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        match command {
            CallCommand::Hangup => {
                self.hang_up_sip();
                self.finish("Hung up", ctx);
            }
            CallCommand::Hold => self.hold(true, ctx),
            CallCommand::Unhold => self.hold(false, ctx),
            CallCommand::SendDtmf { kind, digits } => self.send_dtmf(kind, digits, ctx),
            CallCommand::Transfer { target } => self.transfer(target, ctx),
        }
    }
}

/// The browser's `answer` to an incoming call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AnswerCall(pub CallRequest);

impl Handler<AnswerCall> for SipDialog {
    type Result = ();
    fn handle(&mut self, AnswerCall(request): AnswerCall, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        self.answer(request, ctx);
    }
}

impl Handler<PeerEvent> for SipDialog {
    type Result = ();
    fn handle(&mut self, event: PeerEvent, ctx: &mut Context<Self>) {
        match event.kind {
            PeerEventKind::Ended(why) => self.fail(why.info(), ctx),
            PeerEventKind::KeyframeWanted => {
                if let Some(video) = &self.video_leg {
                    video.command(VideoCommand::Keyframe);
                }
            }
            PeerEventKind::Connected => {}
        }
    }
}

impl Handler<LegEvent> for SipDialog {
    type Result = ();
    fn handle(&mut self, event: LegEvent, ctx: &mut Context<Self>) {
        let _entered = self.span.clone().entered();
        match event {
            LegEvent::RtpTimeout => self.fail("Failed by RTP activity", ctx),
            LegEvent::Dtmf(digit) => tracing::info!(%digit, "DTMF from the SIP side (RFC 4733)"),
        }
    }
}
