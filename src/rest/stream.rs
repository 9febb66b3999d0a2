//! `/rest-api/stream/*`: published and played streams.

use super::{json_ok, RestError};
use crate::app_state::AppState;
use actix_web::{web, HttpResponse};
use ferrophone_actors::registry::ListStreams;

/// Every stream, `[]` when there is none.
pub async fn find_all(state: web::Data<AppState>) -> Result<HttpResponse, RestError> {
    let streams =
        state.registry.send(ListStreams).await.map_err(|e| RestError::unavailable(format!("Registry unavailable: {e}")))?;
    Ok(json_ok(&streams))
}
