use crate::app_state::AppState;
use crate::process_stats::{resident_bytes, Process};
use actix_web::{web, HttpResponse};

/// `GET /metrics` in the OpenMetrics text format Prometheus scrapes.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    if let Some(rss) = resident_bytes(Process::Own) {
        state.metrics.process_resident_memory_bytes.set(rss as i64);
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}
