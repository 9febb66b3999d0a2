//! The WebSDK signalling of one load client: connect and log in, send messages, read events
//! while answering the server's pings.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One server message: its name and `data`.
#[derive(Debug, Clone)]
pub struct ServerMessage {
    pub name: String,
    pub data: Vec<Value>,
}

impl ServerMessage {
    /// `data[0]`.
    pub fn payload(&self) -> &Value {
        self.data.first().unwrap_or(&Value::Null)
    }
}

pub struct Signalling {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub user_data: Value,
}

/// Bytes read from the signalling socket at a time: more than most server messages.
const SIGNALLING_READ_BUFFER: usize = 4096;

impl Signalling {
    /// Opens the socket and completes `connection` → `getUserData`.
    pub async fn connect(url: &str, login: Value) -> Result<Signalling, String> {
        // No Nagle, as browsers do: a message must not wait for the last one's ACK. A small read
        // buffer: tungstenite zeroes all of it on every read attempt, and a load viewer's
        // socket is polled on each of its media events (128 KiB, the default, made that zeroing
        // a third of the load command's work).
        let config = WebSocketConfig::default().read_buffer_size(SIGNALLING_READ_BUFFER);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await.map_err(|e| format!("connect {url}: {e}"))?;
        let mut signalling = Signalling { ws, user_data: Value::Null };
        let mut payload = json!({"appKey": "defaultApp", "mediaProviders": ["WebRTC"], "clientVersion": "2.0",
            "clientOSVersion": "load", "clientBrowserVersion": "ferrophone-load", "msePacketizationVersion": 2});
        payload.as_object_mut().unwrap().extend(login.as_object().cloned().unwrap_or_default());
        signalling.send("connection", payload).await?;
        let user = signalling.expect("getUserData", Duration::from_secs(10)).await?;
        signalling.user_data = user.payload().clone();
        Ok(signalling)
    }

    pub async fn send(&mut self, message: &str, payload: Value) -> Result<(), String> {
        let text = json!({"message": message, "data": [payload]}).to_string();
        self.ws.send(Message::text(text)).await.map_err(|e| format!("send {message}: {e}"))
    }

    /// The next message other than a ping (pings are answered), or None when `within` passes.
    pub async fn next(&mut self, within: Duration) -> Result<Option<ServerMessage>, String> {
        tokio::time::timeout(within, self.next_message()).await.map_or(Ok(None), |message| message.map(Some))
    }

    /// The next message other than a ping, however long it takes. A load viewer waits on this
    /// afresh after each of its media events: without a deadline, that waiting puts no timer
    /// into tokio's timer wheel and takes none out.
    pub async fn next_message(&mut self) -> Result<ServerMessage, String> {
        loop {
            let frame = match self.ws.next().await {
                None => return Err("signalling closed".into()),
                Some(Err(e)) => return Err(format!("signalling: {e}")),
                Some(Ok(frame)) => frame,
            };
            let Message::Text(text) = frame else {
                if let Message::Close(_) = frame {
                    return Err("signalling closed by the server".into());
                }
                continue;
            };
            let value: Value = serde_json::from_str(&text).map_err(|e| format!("server sent non-JSON ({e}): {text}"))?;
            let name = value["message"].as_str().unwrap_or_default().to_owned();
            if name == "ping" {
                self.send("pong", Value::Null).await?;
                continue;
            }
            let data = value["data"].as_array().cloned().unwrap_or_default();
            return Ok(ServerMessage { name, data });
        }
    }

    /// Waits for the message `name`; others before it are skipped.
    pub async fn expect(&mut self, name: &str, within: Duration) -> Result<ServerMessage, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Some(message) if message.name == name => return Ok(message),
                Some(_) => continue,
                None => return Err(format!("no '{name}' within {within:?}")),
            }
        }
    }

    /// Waits for `notifyStreamStatusEvent` of `media_session_id`; returns its object.
    pub async fn stream_status(&mut self, media_session_id: &str, within: Duration) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.expect("notifyStreamStatusEvent", left).await?;
            if message.payload()["mediaSessionId"] == media_session_id {
                return Ok(message.payload().clone());
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
