//! SIGTERM: every session is told (close "going away"), then the process exits cleanly.

use crate::common::{Server, WsClient};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn sigterm_closes_sessions_and_exits_cleanly() {
    let server = Server::start_with(&[("session.keep_alive.algorithm", "NONE")]);
    let (mut plain, _) = WsClient::establish(&server.ws_url(), json!({})).await;
    let (mut kept, _) = WsClient::establish(&server.ws_url(), json!({"keepAlive": true})).await;
    let ports = (server.ports.ws, server.ports.http);

    let terminated = tokio::task::spawn_blocking(move || {
        let mut server = server;
        let status = server.terminate(Duration::from_secs(10));
        (server, status)
    });
    let (code, reason) = plain.expect_close().await;
    assert_eq!(code, 1001, "{reason}");
    assert_eq!(kept.expect_close().await.0, 1001);
    let (server, status) = terminated.await.unwrap();
    let status = status.expect("exits within 10 s");
    assert!(status.success(), "exit status {status}");
    assert!(server_log_says_stopped(&server), "{}", server.log());
    for port in [ports.0, ports.1] {
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "port {port} released");
    }
}

fn server_log_says_stopped(server: &Server) -> bool {
    let log = server.log();
    log.contains("shutting down") && log.contains("stopped")
}
