//! The REST skeleton: JSON in and out, GET and POST, string-typed values, CORS, and errors
//! with a JSON body naming the problem.

use crate::common::{Server, WsClient};
use serde_json::{json, Value};

const QUIET: &[(&str, &str)] = &[("session.keep_alive.algorithm", "NONE")];

fn error_message(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body}"));
    v["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn lists_finds_and_terminates_sessions() {
    let server = Server::start_with(QUIET);
    assert_eq!(server.rest_json("GET", "/rest-api/connection/find_all", None), json!([]));

    let (_a, _) = WsClient::establish(&server.ws_url(), json!({"keepAlive": true, "sipLogin": "1001", "sipDomain": "d"})).await;
    let (mut b, _) = WsClient::establish(&server.ws_url(), json!({"appKey": "otherApp"})).await;

    let all = server.rest_json("POST", "/rest-api/connection/find_all", Some(""));
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["sipLogin"], "1001");
    assert_eq!(all[0]["status"], "ESTABLISHED");
    assert_eq!(all[0]["clientVersion"], "2.0");
    assert!(all[0]["remoteAddress"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(all[0]["createDate"].as_u64().unwrap() > 1_700_000_000_000);

    // Filters take string-typed booleans, as the demo pages send them.
    let found = server.rest_json("POST", "/rest-api/connection/find", Some(r#"{"keepAlive":"true"}"#));
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["sipLogin"], "1001");
    let found = server.rest_json("POST", "/rest-api/connection/find", Some(r#"{"appKey":"otherApp"}"#));
    let b_id = found[0]["sessionId"].as_str().unwrap().to_owned();

    let (status, body) = server.rest("POST", "/rest-api/connection/find", Some(r#"{"appKey":"nobody"}"#));
    assert_eq!(status, 404);
    assert_eq!(error_message(&body), "Connection not found");

    let (status, body) = server.rest("POST", "/rest-api/connection/terminate", Some(&json!({"sessionId": b_id}).to_string()));
    assert_eq!((status, body.as_str()), (200, ""));
    let (code, reason) = b.expect_close().await;
    assert_eq!(code, 1000);
    assert!(reason.contains("REST"), "{reason}");
    server.wait_for_sessions("b terminated", |l| l.as_array().unwrap().len() == 1);
}

#[tokio::test]
async fn errors_are_json_with_a_message() {
    let server = Server::start_with(QUIET);
    let (status, body) = server.rest("POST", "/rest-api/connection/terminate", Some("{\"sessionId\": "));
    assert_eq!(status, 400);
    assert!(error_message(&body).starts_with("Malformed JSON"), "{body}");

    let (status, body) = server.rest("POST", "/rest-api/connection/terminate", Some("[1,2]"));
    assert_eq!(status, 400);
    assert!(error_message(&body).contains("JSON object"), "{body}");

    let (status, body) = server.rest("POST", "/rest-api/connection/terminate", Some("{}"));
    assert_eq!(status, 400);
    assert_eq!(error_message(&body), "Missing required field 'sessionId'");

    let (status, body) = server.rest("POST", "/rest-api/connection/terminate", Some(r#"{"sessionId":"no-such"}"#));
    assert_eq!(status, 404);
    assert!(error_message(&body).contains("no-such"), "{body}");

    let (status, body) = server.rest("POST", "/rest-api/connection/find", Some(r#"{"keepAlive":"sometimes"}"#));
    assert_eq!(status, 400);
    assert!(error_message(&body).contains("keepAlive"), "{body}");

    let (status, body) = server.rest("POST", "/rest-api/nothing/here", Some("{}"));
    assert_eq!(status, 404);
    assert!(error_message(&body).contains("/rest-api/nothing/here"), "{body}");

    // The server still answers after all of that.
    assert_eq!(server.rest_json("GET", "/rest-api/connection/find_all", None), json!([]));
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let server = Server::start_with(QUIET);
    let response = ureq::request("OPTIONS", &server.http_url("/rest-api/connection/find_all"))
        .set("Origin", "http://pages.example:9091")
        .set("Access-Control-Request-Method", "POST")
        .set("Access-Control-Request-Headers", "content-type,x-custom")
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert!(response.header("access-control-allow-methods").unwrap().contains("POST"));
    assert_eq!(response.header("access-control-allow-headers"), Some("content-type,x-custom"));

    // A preflight without the CORS request headers is answered too.
    let bare = ureq::request("OPTIONS", &server.http_url("/rest-api/stream/find_all")).call().unwrap();
    assert_eq!(bare.status(), 200);

    let ok = ureq::get(&server.http_url("/rest-api/stream/find_all")).call().unwrap();
    assert_eq!(ok.header("access-control-allow-origin"), Some("*"));
    let ureq::Error::Status(404, err) = ureq::post(&server.http_url("/rest-api/connection/terminate"))
        .send_string(r#"{"sessionId":"x"}"#)
        .unwrap_err()
    else {
        panic!("expected 404")
    };
    assert_eq!(err.header("access-control-allow-origin"), Some("*"));
    assert!(err.content_type().starts_with("application/json"));
}

#[tokio::test]
async fn stream_listing_is_empty_without_streams() {
    let server = Server::start_with(QUIET);
    assert_eq!(server.rest_json("GET", "/rest-api/stream/find_all", None), json!([]));
    assert_eq!(server.rest_json("POST", "/rest-api/stream/find_all", Some("{}")), json!([]));
}

#[tokio::test]
async fn health_and_metrics() {
    let server = Server::start_with(QUIET);
    let (_client, _) = WsClient::establish(&server.ws_url(), json!({})).await;
    let health = server.rest_json("GET", "/health", None);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["sessions"], 1);
    assert!(health["rssBytes"].as_u64().unwrap() > 1_000_000);
    assert_eq!(health["advertisedIp"].as_str().map(|s| s.parse::<std::net::IpAddr>().is_ok()), Some(true));

    let response = ureq::get(&server.http_url("/metrics")).call().unwrap();
    assert!(response.content_type().contains("openmetrics"));
    let text = response.into_string().unwrap();
    assert!(text.contains("ferrophone_sessions_attached 1"), "{text}");
    assert!(text.contains(r#"ferrophone_ws_messages_received_total{message="connection"} 1"#), "{text}");
    assert!(text.contains(r#"ferrophone_ws_messages_sent_total{message="getUserData"} 1"#), "{text}");
    assert!(text.contains("ferrophone_ws_sockets_open 1"), "{text}");
    assert!(text.contains("ferrophone_process_resident_memory_bytes"), "{text}");
}
