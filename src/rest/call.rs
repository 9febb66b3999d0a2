//! `/rest-api/call/*`: SIP calls placed and controlled by REST (rest-api.md §3, seed 001), and
//! their media as a stream (`toStream`), forwarded to an RTMP server (`rtmpUrl`).

use super::body::RestBody;
use super::{json_ok, void_ok, RestError};
use crate::app_state::AppState;
use actix_web::{web, HttpResponse};
use ferrophone_actors::rtmp::target::RtmpTarget;
use ferrophone_actors::sip::rest_calls::{ControlCall, FindCalls, RestCallError, RestCallRequest, StartCall};
use ferrophone_actors::websdk::{CallCommand, CallRequest, SipCredentials};
use serde_json::Value;

fn unavailable<E: std::fmt::Display>(e: E) -> RestError {
    RestError::unavailable(format!("Calls unavailable: {e}"))
}

/// `/call/startup`: 200 with an empty body once the call is placed; its progress shows in
/// `/call/find`.
pub async fn startup(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let call_id = body.required_string("callId")?;
    let callee = body.required_string("callee")?;
    let login = body.required_string("sipLogin")?;
    let domain = body.optional_string("sipDomain")?.unwrap_or_default();
    let outbound_proxy = body.optional_string("sipOutboundProxy")?.filter(|p| !p.is_empty()).unwrap_or_else(|| domain.clone());
    if outbound_proxy.is_empty() {
        return Err(RestError::bad_request("Missing required field 'sipDomain' (or 'sipOutboundProxy')"));
    }
    let port = match body.optional_string("sipPort")? {
        None => 5060,
        Some(text) => text.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| RestError::bad_request(format!("sipPort must be a port number, not '{text}'")))?,
    };
    // `rtmpUrl` forwards the call's stream (`toStream`, else one named `rtmpStream`) to RTMP.
    let rtmp_url = body.optional_string("rtmpUrl")?.filter(|u| !u.is_empty());
    let rtmp_stream = body.optional_string("rtmpStream")?.filter(|s| !s.is_empty());
    let to_stream = body.optional_string("toStream")?.filter(|s| !s.is_empty()).or_else(|| rtmp_url.as_ref().and(rtmp_stream.clone()));
    if let Some(url) = &rtmp_url {
        let name = to_stream.as_deref().ok_or_else(|| RestError::bad_request("rtmpUrl needs rtmpStream (or toStream) to name the call's stream"))?;
        RtmpTarget::resolve(url, rtmp_stream.as_deref().unwrap_or(name), &state.media.push.naming).map_err(|e| RestError::bad_request(e.to_string()))?;
    }
    if let Some(name) = &to_stream {
        if name.chars().any(|c| c.is_control() || c == '/') || name.contains("..") {
            return Err(RestError::bad_request(format!("'{name}' cannot name a stream")));
        }
    }
    let credentials = SipCredentials {
        authentication_name: body.optional_string("sipAuthenticationName")?.filter(|a| !a.is_empty()).unwrap_or_else(|| login.clone()),
        login,
        password: body.optional_string("sipPassword")?.unwrap_or_default(),
        domain,
        outbound_proxy,
        port,
        register_required: body.optional_bool("sipRegisterRequired")?.unwrap_or(false),
    };
    let call = CallRequest {
        call_id,
        sdp: String::new(),
        callee,
        caller: None,
        visible_name: body.optional_string("visibleName")?.filter(|v| !v.is_empty()),
        has_audio: body.optional_bool("hasAudio")?.unwrap_or(true),
        has_video: body.optional_bool("hasVideo")?.unwrap_or(false),
        sip_sdp: Vec::new(),
        custom: None,
    };
    let app_key = body.optional_string("appKey")?.unwrap_or_else(|| "defaultApp".into());
    let rtmp = rtmp_url.map(|url| (url, rtmp_stream));
    let request = RestCallRequest { call, credentials, to_stream, rtmp, app_key };
    match state.rest_calls.send(StartCall(request)).await.map_err(unavailable)? {
        Ok(()) => Ok(void_ok()),
        Err(e @ (RestCallError::DuplicateCallId | RestCallError::StreamNameInUse(_))) => Err(RestError::conflict(e.to_string())),
        Err(e) => Err(unavailable(e)),
    }
}

async fn find_calls(state: &AppState, body: &RestBody) -> Result<Vec<Value>, RestError> {
    let query = FindCalls { call_id: body.optional_string("callId")?, callee: body.optional_string("callee")?, status: body.optional_string("status")? };
    let calls = state.rest_calls.send(query).await.map_err(unavailable)?;
    if calls.is_empty() {
        return Err(RestError::not_found("Call not found"));
    }
    Ok(calls)
}

/// `/call/find`: the calls matching `callId`, `callee` and `status`; 404 when none does.
pub async fn find(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    Ok(json_ok(&find_calls(&state, &body).await?))
}

/// `/call/find_all`: every running REST call; 404 when there is none.
pub async fn find_all(state: web::Data<AppState>) -> Result<HttpResponse, RestError> {
    Ok(json_ok(&find_calls(&state, &RestBody::parse(b"{}")?).await?))
}

async fn control(state: &AppState, call_id: String, command: CallCommand) -> Result<HttpResponse, RestError> {
    match state.rest_calls.send(ControlCall { call_id, command }).await.map_err(unavailable)? {
        true => Ok(void_ok()),
        false => Err(RestError::not_found("Call not found")),
    }
}

/// `/call/terminate`: CANCEL before the answer, BYE after.
pub async fn terminate(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    control(&state, body.required_string("callId")?, CallCommand::Hangup).await
}

/// `/call/send_dtmf`: `dtmf` digits as RFC 4733 events or SIP INFO (`type`).
pub async fn send_dtmf(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let (call_id, command) = CallCommand::parse("sendDtmf", &body.json()).map_err(RestError::bad_request)?;
    control(&state, call_id, command).await
}
