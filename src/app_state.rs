//! What every HTTP and WebSocket handler shares.

use ferrophone_actors::media_context::MediaContext;
use ferrophone_actors::metrics::Metrics;
use ferrophone_actors::registry::Registry;
use ferrophone_actors::session_settings::SessionSettings;
use ferrophone_actors::sip::rest_calls::RestCalls;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct AppState {
    pub registry: actix::Addr<Registry>,
    pub metrics: Metrics,
    pub session_settings: Arc<SessionSettings>,
    pub media: Arc<MediaContext>,
    /// Calls placed by REST `/call/startup`.
    pub rest_calls: actix::Addr<RestCalls>,
    pub advertised_ip: IpAddr,
    pub started: Instant,
}
