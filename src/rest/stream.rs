//! `/rest-api/stream/*`: publishers and players.

use super::body::RestBody;
use super::{json_ok, void_ok, RestError};
use crate::app_state::AppState;
use actix_web::{web, HttpResponse};
use ferrophone_actors::registry::{ListStreams, StreamSummary, TerminateMediaSessions};

async fn list(state: &AppState) -> Result<Vec<StreamSummary>, RestError> {
    state.registry.send(ListStreams).await.map_err(|e| RestError::unavailable(format!("Registry unavailable: {e}")))
}

/// The filters of `/stream/find` and `/stream/terminate`; every given one must match.
struct StreamFilter {
    media_session_ids: Option<Vec<String>>,
    name: Option<String>,
    published: Option<bool>,
    status: Option<String>,
}

impl StreamFilter {
    fn from_body(body: &RestBody) -> Result<Self, RestError> {
        let mut ids = body.optional_string_list("mediaSessionIds")?;
        if let Some(id) = body.optional_string("mediaSessionId")? {
            ids.get_or_insert_with(Vec::new).push(id);
        }
        Ok(StreamFilter {
            media_session_ids: ids,
            name: body.optional_string("name")?,
            published: body.optional_bool("published")?,
            status: body.optional_string("status")?,
        })
    }

    fn matches(&self, s: &StreamSummary) -> bool {
        self.media_session_ids.as_ref().is_none_or(|ids| ids.contains(&s.media_session_id))
            && self.name.as_ref().is_none_or(|n| *n == s.name)
            && self.published.is_none_or(|p| p == s.published)
            && self.status.as_ref().is_none_or(|st| *st == s.status)
    }
}

/// Every stream, `[]` when there is none.
pub async fn find_all(state: web::Data<AppState>) -> Result<HttpResponse, RestError> {
    Ok(json_ok(&list(&state).await?))
}

/// The streams matching the filters; 404 when none does.
pub async fn find(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let filter = StreamFilter::from_body(&body)?;
    let found: Vec<StreamSummary> = list(&state).await?.into_iter().filter(|s| filter.matches(s)).collect();
    if found.is_empty() {
        return Err(RestError::not_found("Stream not found"));
    }
    Ok(json_ok(&found))
}

/// Stops every matching stream (`{}` stops all); 404 when none matches.
pub async fn terminate(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let filter = StreamFilter::from_body(&body)?;
    let ids: Vec<String> =
        list(&state).await?.into_iter().filter(|s| filter.matches(s)).map(|s| s.media_session_id).collect();
    if ids.is_empty() {
        return Err(RestError::not_found("Stream not found"));
    }
    state.registry.do_send(TerminateMediaSessions { media_session_ids: ids });
    Ok(void_ok())
}
