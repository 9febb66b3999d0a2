//! A panic while handling one session's message ends that session only.

use crate::common::{Server, WsClient};
use serde_json::json;

#[tokio::test]
async fn a_panicking_session_ends_alone() {
    let server = Server::start_with(&[
        ("testing.panic_on_message", "crashTest"),
        ("session.keep_alive.algorithm", "NONE"),
    ]);
    let (mut alice, _) = WsClient::establish(&server.ws_url(), json!({"custom": {"who": "alice"}})).await;
    let (mut bob, _) = WsClient::establish(&server.ws_url(), json!({"keepAlive": true, "custom": {"who": "bob"}})).await;
    let (mut carol, _) = WsClient::establish(&server.ws_url(), json!({"custom": {"who": "carol"}})).await;
    assert_eq!(server.session_ids().len(), 3);

    bob.send_text(r#"{"message":"crashTest","data":[null]}"#).await;
    let fail = bob.expect("fail").await;
    assert!(fail["info"].as_str().unwrap().contains("Internal server error"), "{fail}");
    assert_eq!(bob.expect_close().await.0, 1011);

    // Bob is gone even though his session was keepAlive; the others work as before.
    let list = server.wait_for_sessions("only alice and carol", |l| l.as_array().unwrap().len() == 2);
    let who: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["custom"]["who"].as_str().unwrap()).collect();
    assert_eq!(who, ["alice", "carol"]);
    for (client, op) in [(&mut alice, "a"), (&mut carol, "c")] {
        client.send("ping", serde_json::Value::Null).await;
        assert_eq!(client.recv().await["message"], "pong");
        client.send("sendData", json!({"operationId": op, "payload": 1})).await;
        assert_eq!(client.expect("DataStatusEvent").await["operationId"], op);
    }
    let (_dave, user) = WsClient::establish(&server.ws_url(), json!({})).await;
    assert_eq!(user["status"], "ESTABLISHED");
    assert_eq!(server.metric(r#"ferrophone_errors_total{kind="panic"}"#), Some(1.0));
    assert!(server.log().contains("fault injection"), "the panic is logged");
}
