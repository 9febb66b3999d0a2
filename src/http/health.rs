use crate::app_state::AppState;
use crate::process_stats::{cpu_seconds, resident_bytes, Process};
use actix_web::{web, HttpResponse};
use ferrophone_actors::registry::CountSessions;
use std::time::Duration;

/// `GET /health`: 200 with a summary while the registry answers, 503 otherwise.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let sessions = state.registry.send(CountSessions).timeout(Duration::from_secs(2)).await;
    let body = |status: &str, sessions: Option<usize>| {
        serde_json::json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "uptimeSeconds": state.started.elapsed().as_secs(),
            "sessions": sessions,
            "rssBytes": resident_bytes(Process::Own),
            "cpuSeconds": cpu_seconds(Process::Own),
            "advertisedIp": state.advertised_ip.to_string(),
        })
    };
    match sessions {
        Ok(n) => HttpResponse::Ok().json(body("ok", Some(n))),
        Err(_) => HttpResponse::ServiceUnavailable().json(body("registry not answering", None)),
    }
}
