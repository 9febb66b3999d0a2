//! The events the server sends to a WebSDK client (spec §1.3, §2).

use super::call_event::{CallInfo, TransferStatus};
use super::frame::server_frame;
use super::stream_status::StreamStatusEvent;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStatus {
    Accepted,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Ping,
    Pong,
    /// Sent exactly once per socket, after `connection` (§2.2).
    GetUserData(Map<String, Value>),
    /// Fires the SDK's `WARN`; `api_method` names the message it is about. With
    /// `api_method == "StreamStatusEvent"` the SDK also fails the stream whose id is `id`.
    Fail { api_method: Option<String>, id: Option<String>, info: String },
    /// Answer to `sendData`; the SDK accepts only `ACCEPTED` and `FAILED`.
    DataStatus { operation_id: String, status: DataStatus, info: Option<String> },
    SessionDebug { started: bool },
    /// The server's SDP for a stream or call: `data: [id, sdp]`.
    SetRemoteSdp { id: String, sdp: String },
    StreamStatus(Box<StreamStatusEvent>),
    /// Answer to `availableStream`: note `id` and the string `"true"`/`"false"` (spec §3.8).
    AvailableStream { id: String, available: bool, info: String },
    /// `notifyStreamEvent` for one player: a publisher's mute or data.
    StreamEvent { media_session_id: String, event_type: String, payload: Option<Value> },
    /// A call's new status, in the message WCS uses for it (§4.5).
    CallStatus(Box<CallInfo>),
    /// After `setRemoteSDP` with the server's offer (§4.5 ordering).
    IncomingCall(Box<CallInfo>),
    TransferEvent { call_id: String, status: TransferStatus },
    /// The SIP account is registered: the SDK's `REGISTERED` (payload not read).
    Registered(Map<String, Value>),
}

impl ServerEvent {
    pub fn fail(api_method: Option<&str>, info: impl Into<String>) -> Self {
        ServerEvent::Fail { api_method: api_method.map(str::to_owned), id: None, info: info.into() }
    }

    /// A `fail` the SDK routes to the stream `media_session_id`, moving it to FAILED.
    pub fn stream_failed(media_session_id: &str, info: impl Into<String>) -> Self {
        ServerEvent::Fail {
            api_method: Some("StreamStatusEvent".into()),
            id: Some(media_session_id.to_owned()),
            info: info.into(),
        }
    }

    /// The wire name, also the metric label.
    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::Ping => "ping",
            ServerEvent::Pong => "pong",
            ServerEvent::GetUserData(_) => "getUserData",
            ServerEvent::Fail { .. } => "fail",
            ServerEvent::DataStatus { .. } => "DataStatusEvent",
            ServerEvent::SessionDebug { .. } => "notifySessionDebugEvent",
            ServerEvent::SetRemoteSdp { .. } => "setRemoteSDP",
            ServerEvent::StreamStatus(_) => "notifyStreamStatusEvent",
            ServerEvent::AvailableStream { .. } => "availableStream",
            ServerEvent::StreamEvent { .. } => "notifyStreamEvent",
            ServerEvent::CallStatus(call) => call.status.message(),
            ServerEvent::IncomingCall(_) => "notifyIncomingCall",
            ServerEvent::TransferEvent { .. } => "notifyTransferEvent",
            ServerEvent::Registered(_) => "registered",
        }
    }

    pub fn to_json(&self) -> String {
        let arg = match self {
            ServerEvent::Ping | ServerEvent::Pong => return server_frame(self.name(), &[]),
            ServerEvent::SetRemoteSdp { id, sdp } => return server_frame(self.name(), &[json!(id), json!(sdp)]),
            ServerEvent::StreamStatus(event) => serde_json::to_value(event).expect("stream status serializes"),
            ServerEvent::AvailableStream { id, available, info } => {
                json!({"id": id, "status": if *available { "true" } else { "false" }, "info": info})
            }
            ServerEvent::StreamEvent { media_session_id, event_type, payload } => {
                let mut o = json!({"mediaSessionId": media_session_id, "type": event_type});
                if let Some(payload) = payload {
                    o["payload"] = payload.clone();
                }
                o
            }
            ServerEvent::GetUserData(data) | ServerEvent::Registered(data) => Value::Object(data.clone()),
            ServerEvent::CallStatus(call) | ServerEvent::IncomingCall(call) => serde_json::to_value(call).expect("a call serializes"),
            ServerEvent::TransferEvent { call_id, status } => json!({"callId": call_id, "status": status}),
            ServerEvent::Fail { api_method, id, info } => {
                let mut o = json!({"apiMethod": api_method, "status": "FAILED", "info": info});
                if let Some(id) = id {
                    o["id"] = id.clone().into();
                }
                o
            }
            ServerEvent::DataStatus { operation_id, status, info } => {
                let status = match status {
                    DataStatus::Accepted => "ACCEPTED",
                    DataStatus::Failed => "FAILED",
                };
                let mut o = json!({"operationId": operation_id, "status": status});
                if let Some(info) = info {
                    o["info"] = info.clone().into();
                }
                o
            }
            ServerEvent::SessionDebug { started } => {
                json!({"status": if *started { "STARTED" } else { "STOPPED" }})
            }
        };
        server_frame(self.name(), &[arg])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(e: &ServerEvent) -> Value {
        serde_json::from_str(&e.to_json()).unwrap()
    }

    #[test]
    fn wire_shapes() {
        assert_eq!(parsed(&ServerEvent::Ping), json!({"message":"ping","data":[]}));
        assert_eq!(
            parsed(&ServerEvent::fail(Some("hold"), "nope")),
            json!({"message":"fail","data":[{"apiMethod":"hold","status":"FAILED","info":"nope"}]})
        );
        assert_eq!(
            parsed(&ServerEvent::stream_failed("m1", "x")),
            json!({"message":"fail","data":[{"apiMethod":"StreamStatusEvent","id":"m1","status":"FAILED","info":"x"}]})
        );
        assert_eq!(
            parsed(&ServerEvent::DataStatus { operation_id: "o".into(), status: DataStatus::Accepted, info: None }),
            json!({"message":"DataStatusEvent","data":[{"operationId":"o","status":"ACCEPTED"}]})
        );
        assert_eq!(
            parsed(&ServerEvent::SetRemoteSdp { id: "m1".into(), sdp: "v=0".into() }),
            json!({"message":"setRemoteSDP","data":["m1","v=0"]})
        );
        assert_eq!(
            parsed(&ServerEvent::AvailableStream { id: "m1".into(), available: true, info: String::new() }),
            json!({"message":"availableStream","data":[{"id":"m1","status":"true","info":""}]})
        );
        assert_eq!(
            parsed(&ServerEvent::SessionDebug { started: true }),
            json!({"message":"notifySessionDebugEvent","data":[{"status":"STARTED"}]})
        );
    }
}
