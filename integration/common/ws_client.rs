use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(5);

/// A WebSocket client speaking the WebSDK framing.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn connect(url: &str) -> WsClient {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap_or_else(|e| panic!("connect {url}: {e}"));
        WsClient { ws }
    }

    /// What the SDK's `createSession` sends, plus `extra` fields.
    pub fn connection_payload(extra: Value) -> Value {
        let mut payload = json!({
            "appKey": "defaultApp",
            "mediaProviders": ["WebRTC", "MSE", "WSPlayer"],
            "clientVersion": "2.0",
            "clientOSVersion": "5.0 (X11)",
            "clientBrowserVersion": "integration-test",
            "msePacketizationVersion": 2,
        });
        payload.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        payload
    }

    /// Connects and completes `connection` → `getUserData`; returns the user data.
    pub async fn establish(url: &str, extra: Value) -> (WsClient, Value) {
        let mut client = WsClient::connect(url).await;
        client.send("connection", WsClient::connection_payload(extra)).await;
        let user_data = client.expect("getUserData").await;
        (client, user_data)
    }

    pub async fn send(&mut self, message: &str, payload: Value) {
        self.send_text(&json!({"message": message, "data": [payload]}).to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.unwrap();
    }

    /// The next text frame as JSON, within `WAIT`.
    pub async fn recv(&mut self) -> Value {
        self.recv_within(WAIT).await.expect("a message from the server")
    }

    /// The next text frame, or None when nothing came in `within` (or the socket closed).
    pub async fn recv_within(&mut self, within: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(within, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("server sent non-JSON ({e}): {text}")))
                }
                Ok(Some(Ok(Message::Binary(_)))) => panic!("the server must never send binary frames on signalling"),
                Ok(Some(Ok(Message::Close(_)))) => return None,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Waits for the message `name`, skipping server pings; returns its `data[0]`.
    pub async fn expect(&mut self, name: &str) -> Value {
        loop {
            let frame = self.recv().await;
            assert!(frame["data"].is_array(), "data must be an array: {frame}");
            if frame["message"] == name {
                return frame["data"][0].clone();
            }
            assert_eq!(frame["message"], "ping", "expected '{name}', got {frame}");
        }
    }

    /// Asserts that no message other than pings arrives within `within`.
    pub async fn expect_silence(&mut self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while let Some(frame) =
            self.recv_within(deadline.saturating_duration_since(tokio::time::Instant::now())).await
        {
            assert_eq!(frame["message"], "ping", "unexpected message: {frame}");
        }
    }

    /// Waits for the server to close the socket; returns the close code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.expect("close within 5 s") {
                Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
                Some(Ok(Message::Close(None))) => return (u16::from(CloseCode::Status), String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket failed instead of closing: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Read until the server's close arrives, so the server has seen ours.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
    }

    /// Drops the TCP connection without a close handshake, like a lost network.
    pub fn drop_connection(self) {
        drop(self.ws);
    }
}
