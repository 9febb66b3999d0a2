//! `/rest-api/recorder/*` and the older `/stream/startRecording|stopRecording` (rest-api.md
//! §5.4): recording a publisher's stream on demand, by its mediaSessionId.

use super::body::RestBody;
use super::{json_ok, void_ok, RestError};
use crate::app_state::AppState;
use actix_web::{web, HttpResponse};
use ferrophone_actors::recorder::recording_path;
use ferrophone_actors::recordings::{ListRecordings, StartRecording, StopRecordingOf};
use ferrophone_actors::registry::FindPublisher;
use serde_json::json;

fn unavailable<E: std::fmt::Display>(e: E) -> RestError {
    RestError::unavailable(format!("Recording unavailable: {e}"))
}

/// Starts recording the stream published as `mediaSessionId` (a running recording of it is
/// finished first); 404 when nobody publishes as that.
pub async fn startup(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let media_session_id = body.required_string("mediaSessionId")?;
    let found = state.registry.send(FindPublisher { media_session_id: media_session_id.clone() }).await.map_err(unavailable)?;
    let (name, stream) = found.ok_or_else(|| RestError::not_found("No published stream with this mediaSessionId"))?;
    let path = recording_path(&state.media.record.dir, &name).map_err(RestError::bad_request)?;
    state.media.record.recordings.send(StartRecording { media_session_id, path, stream }).await.map_err(unavailable)?.map_err(unavailable)?;
    Ok(void_ok())
}

/// Finishes the recording of `mediaSessionId`; 404 when it is not recorded.
pub async fn terminate(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let media_session_id = body.required_string("mediaSessionId")?;
    match state.media.record.recordings.send(StopRecordingOf { media_session_id }).await.map_err(unavailable)? {
        true => Ok(void_ok()),
        false => Err(RestError::not_found("This mediaSessionId is not recorded")),
    }
}

/// The running recordings: `[{fileName, mediaSessionId}]`; 404 when there is none.
pub async fn find_all(state: web::Data<AppState>) -> Result<HttpResponse, RestError> {
    let listed = state.media.record.recordings.send(ListRecordings).await.map_err(unavailable)?;
    if listed.is_empty() {
        return Err(RestError::not_found("No recording"));
    }
    let body: Vec<_> = listed.into_iter().map(|(id, file)| json!({"fileName": file, "mediaSessionId": id})).collect();
    Ok(json_ok(&body))
}
