//! Moves frames between one WebSocket and the session that owns it. Inbound frames go to the
//! session one at a time (each answered before the next is read, which bounds what a client
//! can queue); outbound frames come from the session's bounded queue.

use actix::Addr;
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use ferrophone_actors::client_session::{ClientSession, Disposition, Inbound, SocketClosed};
use ferrophone_actors::metrics::Metrics;
use ferrophone_actors::socket::{close_code, InboundFrame, Outbound};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long queued frames (a `fail`, a close) may take to leave once the session is done.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn pump(
    mut ws: Session,
    mut inbound: AggregatedMessageStream,
    mut outbound: mpsc::Receiver<Outbound>,
    mut session: Addr<ClientSession>,
    socket_id: u64,
    metrics: Metrics,
) {
    metrics.sockets_open.inc();
    loop {
        tokio::select! {
            biased;
            frame = outbound.recv() => {
                let Some(frame) = frame else {
                    let _ = ws.close(None).await;
                    break;
                };
                if !write(&mut ws, frame).await {
                    break;
                }
            }
            message = inbound.recv() => {
                let frame = match message {
                    Some(Ok(AggregatedMessage::Text(text))) => InboundFrame::Text(text.to_string()),
                    Some(Ok(AggregatedMessage::Binary(bytes))) => InboundFrame::Binary(bytes.len()),
                    Some(Ok(AggregatedMessage::Pong(_))) => InboundFrame::WsPong,
                    Some(Ok(AggregatedMessage::Ping(payload))) => {
                        if ws.pong(&payload).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Close(_))) | None => {
                        let _ = ws.close(None).await;
                        break;
                    }
                    Some(Err(error)) => {
                        tracing::info!(%error, "WebSocket protocol error");
                        metrics.error("ws_protocol");
                        let reason = CloseReason { code: CloseCode::Protocol, description: Some(error.to_string()) };
                        let _ = ws.close(Some(reason)).await;
                        break;
                    }
                };
                match session.send(Inbound { socket_id, frame }).await {
                    Ok(Disposition::Continue) => {}
                    Ok(Disposition::Redirect(owner)) => session = owner,
                    Ok(Disposition::Close) | Err(_) => {
                        flush_and_close(ws, &mut outbound).await;
                        break;
                    }
                }
            }
        }
    }
    session.do_send(SocketClosed { socket_id });
    metrics.sockets_open.dec();
}

/// Writes one frame; `false` when the connection is over.
async fn write(ws: &mut Session, frame: Outbound) -> bool {
    match frame {
        Outbound::Text(text) => ws.text(text).await.is_ok(),
        Outbound::WsPing => ws.ping(b"").await.is_ok(),
        Outbound::Close { code, reason } => {
            let _ = ws.clone().close(Some(close_reason(code, reason))).await;
            false
        }
    }
}

/// Sends what the session queued before it let go of the socket, then closes.
async fn flush_and_close(mut ws: Session, outbound: &mut mpsc::Receiver<Outbound>) {
    let flushed = tokio::time::timeout(FLUSH_TIMEOUT, async {
        while let Some(frame) = outbound.recv().await {
            if !write(&mut ws, frame).await {
                return true;
            }
        }
        false
    })
    .await;
    if flushed != Ok(true) {
        let _ = ws.close(Some(close_reason(close_code::NORMAL, String::new()))).await;
    }
}

fn close_reason(code: u16, reason: String) -> CloseReason {
    CloseReason { code: CloseCode::from(code), description: Some(reason).filter(|r| !r.is_empty()) }
}
