//! A viewer's side of the Janus WebSocket API (`janus-protocol`), for driving Janus's streaming
//! plugin with the same viewers as ferrophone: create a session, attach to the plugin, `watch`
//! a mountpoint (Janus offers), `start` with the answer, keep the session alive, and hear when
//! Janus hangs up.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{Instant, Interval};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const STEP: Duration = Duration::from_secs(10);
/// Janus ends a session that is silent for 60 s (its default `session_timeout`).
const KEEPALIVE: Duration = Duration::from_secs(25);

pub struct JanusSession {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: u64,
    handle: u64,
    transactions: u64,
    keepalive: Interval,
}

impl JanusSession {
    /// Connects to `url` and attaches a handle to the streaming plugin.
    pub async fn attach_streaming(url: &str) -> Result<JanusSession, String> {
        let mut request = url.into_client_request().map_err(|e| format!("{url}: {e}"))?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("janus-protocol"));
        // As in the WebSDK signalling: a small read buffer, since tungstenite zeroes all of it
        // on every read attempt.
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await.map_err(|e| format!("connect {url}: {e}"))?;
        let mut keepalive = tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut janus = JanusSession { ws, session: 0, handle: 0, transactions: 0, keepalive };
        janus.session = janus.request(json!({"janus": "create"})).await?;
        janus.handle = janus.request(json!({"janus": "attach", "plugin": "janus.plugin.streaming"})).await?;
        Ok(janus)
    }

    /// Asks to watch `mountpoint`; gives Janus's SDP offer.
    pub async fn watch(&mut self, mountpoint: u64) -> Result<String, String> {
        let event = self.plugin_message(json!({"request": "watch", "id": mountpoint}), None).await?;
        event["jsep"]["sdp"].as_str().map(str::to_owned).ok_or_else(|| "watch: no offer".to_owned())
    }

    /// Starts the media with the viewer's answer, whose candidates are all there are.
    pub async fn start(&mut self, answer: &str) -> Result<(), String> {
        self.plugin_message(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await?;
        self.send(json!({"janus": "trickle", "candidate": {"completed": true}})).await.map(|_| ())
    }

    /// Waits, keeping the session alive, until Janus hangs the viewer up or goes away.
    pub async fn ended(&mut self) {
        loop {
            tokio::select! {
                _ = self.keepalive.tick() => {
                    if self.send(json!({"janus": "keepalive"})).await.is_err() {
                        return;
                    }
                }
                message = receive(&mut self.ws) => match message {
                    Err(_) => return,
                    Ok(message) if matches!(message["janus"].as_str(), Some("hangup" | "detached" | "timeout")) => return,
                    Ok(_) => continue,
                },
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.send(json!({"janus": "destroy"})).await;
        let _ = self.ws.close(None).await;
    }

    /// A request answered by `success` with an id (`create`, `attach`).
    async fn request(&mut self, body: Value) -> Result<u64, String> {
        let transaction = self.send(body.clone()).await?;
        let reply = self.reply_to(&transaction, |m| m["janus"] != "ack").await?;
        reply["data"]["id"].as_u64().ok_or_else(|| format!("{} failed: {}", body["janus"].as_str().unwrap_or_default(), reply["error"]["reason"]))
    }

    /// A message to the plugin; gives its asynchronous event (after the `ack`), which must not
    /// report an error.
    async fn plugin_message(&mut self, body: Value, jsep: Option<Value>) -> Result<Value, String> {
        let mut message = json!({"janus": "message", "body": body});
        if let Some(jsep) = jsep {
            message["jsep"] = jsep;
        }
        let transaction = self.send(message).await?;
        let event = self.reply_to(&transaction, |m| m["janus"] == "event" || m["janus"] == "error").await?;
        // Only the reason: failures are grouped by their text, and the event holds ids.
        let reason = event["error"]["reason"].as_str().or(event["plugindata"]["data"]["error"].as_str());
        match reason {
            Some(reason) => Err(format!("{}: {reason}", body["request"].as_str().unwrap_or_default())),
            None if event["janus"] == "error" => Err(format!("{}: error", body["request"].as_str().unwrap_or_default())),
            None => Ok(event),
        }
    }

    /// The first message of `transaction` that `wanted` takes.
    async fn reply_to(&mut self, transaction: &str, wanted: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let deadline = Instant::now() + STEP;
        loop {
            let message = tokio::time::timeout_at(deadline, receive(&mut self.ws)).await.map_err(|_| format!("no reply to {transaction} in {STEP:?}"))??;
            if message["transaction"] == transaction && wanted(&message) {
                return Ok(message);
            }
        }
    }

    /// Sends `body` with the session, the handle where it is for one (Janus refuses `keepalive`
    /// and `destroy` with a handle) and a new transaction; gives the transaction.
    async fn send(&mut self, mut body: Value) -> Result<String, String> {
        self.transactions += 1;
        let transaction = self.transactions.to_string();
        let for_handle = matches!(body["janus"].as_str(), Some("message" | "trickle"));
        body["transaction"] = transaction.clone().into();
        if self.session != 0 {
            body["session_id"] = self.session.into();
        }
        if for_handle {
            body["handle_id"] = self.handle.into();
        }
        self.ws.send(Message::text(body.to_string())).await.map_err(|e| format!("janus send: {e}"))?;
        Ok(transaction)
    }
}

/// The next JSON message from Janus.
async fn receive(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Result<Value, String> {
    loop {
        match ws.next().await {
            None => return Err("janus closed the socket".into()),
            Some(Err(e)) => return Err(format!("janus: {e}")),
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).map_err(|e| format!("janus sent non-JSON ({e}): {text}")),
            Some(Ok(Message::Close(_))) => return Err("janus closed the socket".into()),
            Some(Ok(_)) => continue,
        }
    }
}
