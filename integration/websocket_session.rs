//! The WebSDK session layer over a raw WebSocket: `connection` → one `getUserData`, ping/pong
//! both ways, and every kind of bad input answered with a `fail` while the session goes on.

use crate::common::{Server, WsClient};
use serde_json::json;
use std::time::Duration;

/// Server pings off, so the tests see only what they provoke.
const QUIET: &[(&str, &str)] = &[("session.keep_alive.algorithm", "NONE")];

#[tokio::test]
async fn connection_gets_exactly_one_user_data_echoing_the_login() {
    let server = Server::start_with(QUIET);
    let (mut client, user) = WsClient::establish(
        &server.ws_url(),
        // No registration wanted: this test is about the echo, not about reaching a registrar.
        json!({"sipLogin": "10006", "sipPassword": "secret", "sipDomain": "sip.example", "sipPort": "5060",
               "sipRegisterRequired": false, "custom": {"room": "r1"}}),
    )
    .await;
    let token = user["authToken"].as_str().unwrap();
    assert_eq!(token.len(), 32, "{user}");
    assert_eq!(user["status"], "ESTABLISHED");
    assert_eq!(user["appKey"], "defaultApp");
    assert_eq!(user["sipLogin"], "10006");
    assert_eq!(user["sipOutboundProxy"], "sip.example");
    assert_eq!(user["custom"], json!({"room": "r1"}));
    assert_eq!(user["clientBrowserVersion"], "integration-test");
    assert!(user.get("sipPassword").is_none(), "the password must not be echoed: {user}");
    client.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn accepts_the_upgrade_on_any_path() {
    let server = Server::start_with(QUIET);
    let url = format!("ws://127.0.0.1:{}/a1b2c3d4?x=1", server.ports.ws);
    let (_client, user) = WsClient::establish(&url, json!({})).await;
    assert_eq!(user["status"], "ESTABLISHED");
}

#[tokio::test]
async fn server_pings_and_answers_client_pings() {
    let server = Server::start_with(&[("session.keep_alive.server_interval", "150")]);
    let (mut client, _) = WsClient::establish(&server.ws_url(), json!({})).await;
    let ping = client.recv().await;
    assert_eq!(ping, json!({"message": "ping", "data": []}));
    client.send("pong", serde_json::Value::Null).await;
    client.send("ping", serde_json::Value::Null).await;
    loop {
        let frame = client.recv().await;
        if frame["message"] == "pong" {
            assert_eq!(frame, json!({"message": "pong", "data": []}));
            break;
        }
        assert_eq!(frame["message"], "ping");
        client.send("pong", serde_json::Value::Null).await;
    }
}

#[tokio::test]
async fn unanswered_pings_close_the_socket_and_end_the_session() {
    let server =
        Server::start_with(&[("session.keep_alive.server_interval", "100"), ("session.keep_alive.probes", "2")]);
    let (mut client, _) = WsClient::establish(&server.ws_url(), json!({})).await;
    assert_eq!(server.session_ids().len(), 1);
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("ping"), "{reason}");
    server.wait_for_sessions("the dead session is gone", |list| list.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn answered_pings_keep_the_session() {
    let server =
        Server::start_with(&[("session.keep_alive.server_interval", "100"), ("session.keep_alive.probes", "2")]);
    let (mut client, _) = WsClient::establish(&server.ws_url(), json!({})).await;
    for _ in 0..6 {
        assert_eq!(client.recv().await["message"], "ping");
        client.send("pong", serde_json::Value::Null).await;
    }
    assert_eq!(server.session_ids().len(), 1);
}

#[tokio::test]
async fn bad_input_gets_a_fail_and_the_session_goes_on() {
    let server = Server::start_with(QUIET);
    let (mut client, _) = WsClient::establish(&server.ws_url(), json!({})).await;

    client.send_text("{\"message\": \"connection\", \"data\": [").await;
    let fail = client.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().starts_with("Malformed JSON"), "{fail}");

    client.send("takeOff", json!({"altitude": 1})).await;
    let fail = client.expect("fail").await;
    assert_eq!(fail["info"], "Unknown message 'takeOff'");
    assert_eq!(fail["apiMethod"], "takeOff");

    client.send_text(r#"{"message": "sendData", "data": {"operationId": "x"}}"#).await;
    let fail = client.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().contains("'data' must be an array"), "{fail}");

    client.send("sendData", json!({"payload": 1})).await;
    let fail = client.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().contains("operationId"), "{fail}");

    client.send_binary(vec![1, 2, 3]).await;
    let fail = client.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().contains("Binary frames"), "{fail}");

    client.send("sendData", json!({"operationId": "op-1", "payload": {"hello": "world"}})).await;
    assert_eq!(client.expect("DataStatusEvent").await, json!({"operationId": "op-1", "status": "ACCEPTED"}));
    assert_eq!(server.metric(r#"ferrophone_errors_total{kind="malformed_json"}"#), Some(1.0));
    assert_eq!(server.metric(r#"ferrophone_errors_total{kind="unknown_message"}"#), Some(1.0));
    assert_eq!(server.metric(r#"ferrophone_errors_total{kind="binary_frame"}"#), Some(1.0));
}

#[tokio::test]
async fn messages_out_of_order_are_refused() {
    let server = Server::start_with(QUIET);
    let mut client = WsClient::connect(&server.ws_url()).await;
    client.send("sendData", json!({"operationId": "early", "payload": 1})).await;
    let fail = client.expect("fail").await;
    assert_eq!(fail["apiMethod"], "sendData");
    assert!(fail["info"].as_str().unwrap().contains("before 'connection'"), "{fail}");
    assert!(server.session_ids().is_empty());

    client.send("connection", WsClient::connection_payload(json!({}))).await;
    let user = client.expect("getUserData").await;
    client.send("connection", WsClient::connection_payload(json!({}))).await;
    let fail = client.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().contains("already established"), "{fail}");
    client.send("sendData", json!({"operationId": "late", "payload": 1})).await;
    assert_eq!(client.expect("DataStatusEvent").await["status"], "ACCEPTED");
    assert_eq!(server.session_ids().len(), 1, "still one session for {}", user["authToken"]);
}

#[tokio::test]
async fn a_socket_that_never_logs_in_is_closed() {
    let server = Server::start_with(&[("session.connection_timeout", "300")]);
    let mut client = WsClient::connect(&server.ws_url()).await;
    let fail = client.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().contains("No 'connection'"), "{fail}");
    assert_eq!(client.expect_close().await.0, 1008);
}

#[tokio::test]
async fn session_debug_is_acknowledged() {
    let server = Server::start_with(QUIET);
    let (mut client, _) = WsClient::establish(&server.ws_url(), json!({})).await;
    client.send("sessionDebug", json!({"command": "start"})).await;
    assert_eq!(client.expect("notifySessionDebugEvent").await, json!({"status": "STARTED"}));
    client.send("sessionDebug", json!({"command": "stop"})).await;
    assert_eq!(client.expect("notifySessionDebugEvent").await, json!({"status": "STOPPED"}));
}

#[tokio::test]
async fn a_plain_http_request_to_the_websocket_port_is_told_what_it_is() {
    let server = Server::start_with(QUIET);
    let url = format!("http://127.0.0.1:{}/", server.ports.ws);
    let error = ureq::get(&url).call().unwrap_err();
    let ureq::Error::Status(400, response) = error else { panic!("{error}") };
    assert!(response.into_string().unwrap().contains("WebSocket signalling port"));
}
