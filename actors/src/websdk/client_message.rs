//! The messages a WebSDK client sends (spec §1.3), typed.

use super::call_request::{CallCommand, CallRequest};
use super::connection::ConnectionRequest;
use super::stream_request::{StreamEvent, StreamRef, StreamRequest};
use super::frame::{parse_client_frame, FrameError};
use super::lenient::as_string;
use serde_json::Value;
use std::fmt;

/// Every message name the SDK 2.0 can send (spec §1.3).
pub const SDK_MESSAGES: &[&str] = &[
    "connection",
    "pong",
    "ping",
    "publishStream",
    "playStream",
    "unPublishStream",
    "stopStream",
    "availableStream",
    "snapshot",
    "sendStreamEvent",
    "call",
    "answer",
    "hangup",
    "hold",
    "unhold",
    "sendDtmf",
    "transfer",
    "sendData",
    "sessionDebug",
    "pushLogs",
    "submitBugReport",
    "webRTCMetricsClientDescription",
    "webRTCMetricsBatch",
];

#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    Connection(ConnectionRequest),
    Ping,
    Pong,
    /// `session.sendData()`: application data, always answered by `DataStatusEvent` (§2.7).
    SendData { operation_id: String, payload: Value },
    /// `session.startDebug()` / `stopDebug()`.
    SessionDebug { start: bool },
    PushLogs(Value),
    SubmitBugReport(Value),
    PublishStream(StreamRequest),
    PlayStream(StreamRequest),
    UnpublishStream(StreamRef),
    StopStream(StreamRef),
    AvailableStream(StreamRef),
    SendStreamEvent(StreamEvent),
    /// An outgoing SIP call (§4.2).
    Call(CallRequest),
    /// The answer to an incoming call (§4.3).
    Answer(CallRequest),
    /// `hangup`, `hold`, `unhold`, `sendDtmf`, `transfer` for the call `call_id` (§4.4).
    CallCommand { name: &'static str, call_id: String, command: CallCommand },
    /// A message of the SDK's catalogue that this server does not handle (yet).
    NotSupported { message: &'static str, payload: Value },
}

impl ClientMessage {
    /// The wire name, for logs and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            ClientMessage::Connection(_) => "connection",
            ClientMessage::Ping => "ping",
            ClientMessage::Pong => "pong",
            ClientMessage::SendData { .. } => "sendData",
            ClientMessage::SessionDebug { .. } => "sessionDebug",
            ClientMessage::PushLogs(_) => "pushLogs",
            ClientMessage::SubmitBugReport(_) => "submitBugReport",
            ClientMessage::PublishStream(_) => "publishStream",
            ClientMessage::PlayStream(_) => "playStream",
            ClientMessage::UnpublishStream(_) => "unPublishStream",
            ClientMessage::StopStream(_) => "stopStream",
            ClientMessage::AvailableStream(_) => "availableStream",
            ClientMessage::SendStreamEvent(_) => "sendStreamEvent",
            ClientMessage::Call(_) => "call",
            ClientMessage::Answer(_) => "answer",
            ClientMessage::CallCommand { name, .. } => name,
            ClientMessage::NotSupported { message, .. } => message,
        }
    }

    /// Parses one text frame into a typed message.
    pub fn parse(text: &str) -> Result<Self, MessageError> {
        let frame = parse_client_frame(text).map_err(MessageError::Frame)?;
        let Some(name) = SDK_MESSAGES.iter().copied().find(|n| *n == frame.message) else {
            return Err(MessageError::Unknown { message: frame.message });
        };
        let bad = |problem: String| MessageError::BadPayload { message: name, problem };
        let payload = frame.payload;
        Ok(match name {
            "connection" => ClientMessage::Connection(ConnectionRequest::parse(&payload).map_err(bad)?),
            "ping" => ClientMessage::Ping,
            "pong" => ClientMessage::Pong,
            "sendData" => {
                let operation_id = payload
                    .get("operationId")
                    .and_then(as_string)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| bad("sendData: missing 'operationId'".into()))?;
                let data = payload.get("payload").cloned().unwrap_or(Value::Null);
                ClientMessage::SendData { operation_id, payload: data }
            }
            "sessionDebug" => match payload.get("command").and_then(Value::as_str) {
                Some("start") => ClientMessage::SessionDebug { start: true },
                Some("stop") => ClientMessage::SessionDebug { start: false },
                _ => return Err(bad("sessionDebug: 'command' must be \"start\" or \"stop\"".into())),
            },
            "pushLogs" => ClientMessage::PushLogs(payload),
            "submitBugReport" => ClientMessage::SubmitBugReport(payload),
            "publishStream" => ClientMessage::PublishStream(StreamRequest::parse(&payload).map_err(bad)?),
            "playStream" => ClientMessage::PlayStream(StreamRequest::parse(&payload).map_err(bad)?),
            "unPublishStream" => ClientMessage::UnpublishStream(StreamRef::parse(&payload).map_err(bad)?),
            "stopStream" => ClientMessage::StopStream(StreamRef::parse(&payload).map_err(bad)?),
            "availableStream" => ClientMessage::AvailableStream(StreamRef::parse(&payload).map_err(bad)?),
            "sendStreamEvent" => ClientMessage::SendStreamEvent(StreamEvent::parse(&payload).map_err(bad)?),
            "call" => ClientMessage::Call(CallRequest::parse(&payload).map_err(bad)?),
            "answer" => ClientMessage::Answer(CallRequest::parse(&payload).map_err(bad)?),
            "hangup" | "hold" | "unhold" | "sendDtmf" | "transfer" => {
                let (call_id, command) = CallCommand::parse(name, &payload).map_err(bad)?;
                ClientMessage::CallCommand { name, call_id, command }
            }
            other => ClientMessage::NotSupported { message: other, payload },
        })
    }
}

/// Why a frame could not become a message. Each is answered with a `fail` naming it.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageError {
    Frame(FrameError),
    Unknown { message: String },
    BadPayload { message: &'static str, problem: String },
}

impl MessageError {
    /// The message name the error is about, when the frame had one.
    pub fn message_name(&self) -> Option<&str> {
        match self {
            MessageError::Frame(_) => None,
            MessageError::Unknown { message } => Some(message),
            MessageError::BadPayload { message, .. } => Some(message),
        }
    }

    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            MessageError::Frame(FrameError::NotJson(_)) => "malformed_json",
            MessageError::Frame(_) => "malformed_frame",
            MessageError::Unknown { .. } => "unknown_message",
            MessageError::BadPayload { .. } => "bad_payload",
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Frame(e) => e.fmt(f),
            MessageError::Unknown { message } => write!(f, "Unknown message '{message}'"),
            MessageError::BadPayload { problem, .. } => f.write_str(problem),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_session_messages() {
        assert_eq!(ClientMessage::parse(r#"{"message":"pong","data":[null]}"#), Ok(ClientMessage::Pong));
        assert_eq!(ClientMessage::parse(r#"{"message":"ping","data":[null]}"#), Ok(ClientMessage::Ping));
        assert_eq!(
            ClientMessage::parse(r#"{"message":"sendData","data":[{"operationId":"op1","payload":{"a":1}}]}"#),
            Ok(ClientMessage::SendData { operation_id: "op1".into(), payload: json!({"a":1}) })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"message":"sessionDebug","data":[{"command":"stop"}]}"#),
            Ok(ClientMessage::SessionDebug { start: false })
        );
        assert!(matches!(
            ClientMessage::parse(r#"{"message":"connection","data":[{"appKey":"x"}]}"#),
            Ok(ClientMessage::Connection(c)) if c.app_key == "x"
        ));
    }

    #[test]
    fn names_what_is_wrong() {
        let e = ClientMessage::parse(r#"{"message":"fly","data":[{}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "Unknown message 'fly'");
        assert_eq!(e.message_name(), Some("fly"));
        let e = ClientMessage::parse(r#"{"message":"sendData","data":[{}]}"#).unwrap_err();
        assert!(e.to_string().contains("operationId"));
        assert_eq!(e.kind(), "bad_payload");
        let e = ClientMessage::parse("{{").unwrap_err();
        assert_eq!(e.kind(), "malformed_json");
        assert!(e.to_string().starts_with("Malformed JSON"));
    }

    #[test]
    fn stream_messages_need_a_media_session_id() {
        let e = ClientMessage::parse(r#"{"message":"publishStream","data":[{"name":"s"}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "MediaSessionId is null");
        let m = ClientMessage::parse(r#"{"message":"playStream","data":[{"mediaSessionId":"m","name":"s","sdp":"v=0"}]}"#).unwrap();
        assert!(matches!(m, ClientMessage::PlayStream(r) if r.media_session_id == "m" && r.sdp.as_deref() == Some("v=0")));
    }

    #[test]
    fn the_rest_of_the_catalogue_is_recognised() {
        let m = ClientMessage::parse(r#"{"message":"hold","data":[{"callId":"c"}]}"#).unwrap();
        assert_eq!(m.name(), "hold");
        assert!(matches!(m, ClientMessage::CallCommand { command: CallCommand::Hold, .. }));
        let m = ClientMessage::parse(r#"{"message":"snapshot","data":[{"mediaSessionId":"m"}]}"#).unwrap();
        assert!(matches!(m, ClientMessage::NotSupported { .. }));
    }
}
