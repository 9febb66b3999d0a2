//! keepAlive sessions outlive their socket for `client_timeout` and re-attach by authToken
//! (spec §2.5, §6.9); other sessions end with their socket.

use crate::common::{Server, WsClient};
use serde_json::{json, Value};
use std::time::Duration;

const QUIET: (&str, &str) = ("session.keep_alive.algorithm", "NONE");

fn status_of(list: &Value, session_id: &str) -> Option<String> {
    list.as_array()?.iter().find(|s| s["sessionId"] == session_id).map(|s| s["status"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn keepalive_session_survives_a_lost_socket_and_reattaches_by_token() {
    let server = Server::start_with(&[QUIET]);
    let (client, user) =
        WsClient::establish(&server.ws_url(), json!({"keepAlive": true, "custom": {"name": "alice"}})).await;
    let token = user["authToken"].as_str().unwrap().to_owned();
    let ids = server.session_ids();
    assert_eq!(ids.len(), 1);
    let id = ids[0].clone();

    client.drop_connection();
    server.wait_for_sessions("session kept as DISCONNECTED", |l| status_of(l, &id).as_deref() == Some("DISCONNECTED"));

    let mut client = WsClient::connect(&server.ws_url()).await;
    client.send("connection", WsClient::connection_payload(json!({"keepAlive": true, "authToken": token}))).await;
    let again = client.expect("getUserData").await;
    assert_eq!(again["authToken"], token.as_str());
    assert_eq!(again["custom"], json!({"name": "alice"}), "the stored session data comes back: {again}");
    server.wait_for_sessions("same session ESTABLISHED", |l| {
        l.as_array().unwrap().len() == 1 && status_of(l, &id).as_deref() == Some("ESTABLISHED")
    });
    client.send("sendData", json!({"operationId": "after", "payload": 1})).await;
    assert_eq!(client.expect("DataStatusEvent").await["status"], "ACCEPTED");
    assert_eq!(server.metric("ferrophone_sessions_reattached_total"), Some(1.0));
}

#[tokio::test]
async fn a_session_without_keepalive_ends_with_its_socket() {
    let server = Server::start_with(&[QUIET]);
    let (client, user) = WsClient::establish(&server.ws_url(), json!({})).await;
    assert_eq!(server.session_ids().len(), 1);
    client.close().await;
    server.wait_for_sessions("session gone", |l| l.as_array().unwrap().is_empty());

    // Its token does not bring it back: the client gets a new session.
    let mut client = WsClient::connect(&server.ws_url()).await;
    client.send("connection", WsClient::connection_payload(json!({"authToken": user["authToken"]}))).await;
    let fresh = client.expect("getUserData").await;
    assert_ne!(fresh["authToken"], user["authToken"]);
}

#[tokio::test]
async fn a_detached_session_expires_after_client_timeout() {
    let server = Server::start_with(&[QUIET, ("session.client_timeout", "300")]);
    let (client, user) = WsClient::establish(&server.ws_url(), json!({"keepAlive": true})).await;
    client.drop_connection();
    server.wait_for_sessions("expired", |l| l.as_array().unwrap().is_empty());
    let mut client = WsClient::connect(&server.ws_url()).await;
    client.send("connection", WsClient::connection_payload(json!({"keepAlive": true, "authToken": user["authToken"]}))).await;
    assert_ne!(client.expect("getUserData").await["authToken"], user["authToken"]);
}

#[tokio::test]
async fn reattaching_while_the_old_socket_lives_replaces_it() {
    let server = Server::start_with(&[QUIET]);
    let (mut old, user) = WsClient::establish(&server.ws_url(), json!({"keepAlive": true})).await;
    let mut new = WsClient::connect(&server.ws_url()).await;
    new.send("connection", WsClient::connection_payload(json!({"keepAlive": true, "authToken": user["authToken"]}))).await;
    assert_eq!(new.expect("getUserData").await["authToken"], user["authToken"]);
    let (code, reason) = old.expect_close().await;
    assert_eq!(code, 1008);
    assert!(reason.contains("Replaced"), "{reason}");
    new.send("sendData", json!({"operationId": "o", "payload": 1})).await;
    assert_eq!(new.expect("DataStatusEvent").await["status"], "ACCEPTED");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.session_ids().len(), 1);
}

#[tokio::test]
async fn an_unknown_token_starts_a_new_session() {
    let server = Server::start_with(&[QUIET]);
    let mut client = WsClient::connect(&server.ws_url()).await;
    client.send("connection", WsClient::connection_payload(json!({"keepAlive": true, "authToken": "nope"}))).await;
    let user = client.expect("getUserData").await;
    assert_ne!(user["authToken"], "nope");
    assert_eq!(user["authToken"].as_str().unwrap().len(), 32);
}
