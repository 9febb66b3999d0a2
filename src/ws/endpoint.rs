use super::pump::pump;
use crate::app_state::AppState;
use actix::Actor;
use actix_web::{web, HttpRequest, HttpResponse};
use ferrophone_actors::client_session::ClientSession;
use ferrophone_actors::socket::SocketHandle;

/// Largest signalling message accepted (an SDP offer with device info is ~10 KB).
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Accepts a WebSocket upgrade on any path and query (the demo pages add a random path) and
/// starts a session for it.
pub async fn upgrade(req: HttpRequest, body: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let (response, ws, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(e) => {
            return HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body(format!("This is the WebSocket signalling port of ferrophone; connect with a WebSocket client ({e}).\n"))
        }
    };
    let stream = stream.max_frame_size(MAX_MESSAGE_BYTES).aggregate_continuations().max_continuation_size(MAX_MESSAGE_BYTES);
    let (socket, outbound) = SocketHandle::new(req.peer_addr());
    let socket_id = socket.id();
    let session = ClientSession::new(
        socket,
        state.registry.clone(),
        state.session_settings.clone(),
        state.metrics.clone(),
        state.media.clone(),
    )
    .start();
    actix_web::rt::spawn(pump(ws, stream, outbound, session, socket_id, state.metrics.clone()));
    response
}
