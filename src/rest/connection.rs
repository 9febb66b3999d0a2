//! `/rest-api/connection/*`: the WebSocket client sessions.

use super::body::RestBody;
use super::{json_ok, void_ok, RestError};
use crate::app_state::AppState;
use actix_web::{web, HttpResponse};
use ferrophone_actors::registry::{ListSessions, SessionStatus, SessionSummary, TerminateSession};

async fn list(state: &AppState) -> Result<Vec<SessionSummary>, RestError> {
    state.registry.send(ListSessions).await.map_err(|e| RestError::unavailable(format!("Registry unavailable: {e}")))
}

/// Every session, `[]` when there is none.
pub async fn find_all(state: web::Data<AppState>) -> Result<HttpResponse, RestError> {
    Ok(json_ok(&list(&state).await?))
}

/// Sessions matching every given filter; 404 when none does.
pub async fn find(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let session_id = body.optional_string("sessionId")?;
    let app_key = body.optional_string("appKey")?;
    let client_version = body.optional_string("clientVersion")?;
    let sip_login = body.optional_string("sipLogin")?;
    let keep_alive = body.optional_bool("keepAlive")?;
    let status = match body.optional_string("status")?.as_deref() {
        None => None,
        Some("ESTABLISHED") => Some(SessionStatus::Established),
        Some("DISCONNECTED") => Some(SessionStatus::Disconnected),
        Some(other) => return Err(RestError::bad_request(format!("Unknown status '{other}': ESTABLISHED or DISCONNECTED"))),
    };
    let matches = |s: &SessionSummary| {
        session_id.as_ref().is_none_or(|v| *v == s.session_id)
            && app_key.as_ref().is_none_or(|v| *v == s.app_key)
            && client_version.as_ref().is_none_or(|v| Some(v) == s.client_version.as_ref())
            && sip_login.as_ref().is_none_or(|v| Some(v) == s.sip_login.as_ref())
            && keep_alive.is_none_or(|v| v == s.keep_alive)
            && status.is_none_or(|v| v == s.status)
    };
    let found: Vec<SessionSummary> = list(&state).await?.into_iter().filter(matches).collect();
    if found.is_empty() {
        return Err(RestError::not_found("Connection not found"));
    }
    Ok(json_ok(&found))
}

/// Closes one session's socket and ends it, keepAlive or not.
pub async fn terminate(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let session_id = body.required_string("sessionId")?;
    let found = state
        .registry
        .send(TerminateSession { session_id: session_id.clone() })
        .await
        .map_err(|e| RestError::unavailable(format!("Registry unavailable: {e}")))?;
    if !found {
        return Err(RestError::not_found(format!("Connection '{session_id}' not found")));
    }
    Ok(void_ok())
}
