//! What the server tells a client about its calls (spec §4.5): the call object and the status
//! messages that carry it.

use serde::Serialize;
use serde_json::Value;

/// SDK `CALL_STATUS` values the server sends (spec §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallStatus {
    Trying,
    Ring,
    RingMedia,
    SessionProgress,
    Established,
    Hold,
    Busy,
    Finish,
    Failed,
}

impl CallStatus {
    /// The message that carries the status; only `callId` and `status` matter to the SDK, the
    /// names follow WCS (spec §4.5).
    pub fn message(self) -> &'static str {
        match self {
            CallStatus::Trying => "notifyTryingResponse",
            CallStatus::Ring | CallStatus::RingMedia | CallStatus::SessionProgress => "ring",
            CallStatus::Established => "talk",
            CallStatus::Hold => "hold",
            CallStatus::Busy => "busy",
            CallStatus::Finish | CallStatus::Failed => "finish",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, CallStatus::Busy | CallStatus::Finish | CallStatus::Failed)
    }
}

/// The call object of the status messages and of `notifyIncomingCall` (WCS's Call, without
/// `sdp`, and without any field the SDK's `createCall` would take as an option of its own).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallInfo {
    pub call_id: String,
    pub status: CallStatus,
    pub incoming: bool,
    pub caller: String,
    pub callee: String,
    pub visible_name: String,
    pub has_audio: bool,
    pub has_video: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    pub media_provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    pub hold_for_transfer: bool,
    pub is_msrp: bool,
}

impl CallInfo {
    /// An audio call of the WebSDK (`mediaProvider` WebRTC), nothing heard from SIP yet.
    pub fn new(call_id: String, status: CallStatus, incoming: bool, caller: String, callee: String, visible_name: String) -> Self {
        CallInfo {
            call_id,
            status,
            incoming,
            caller,
            callee,
            visible_name,
            has_audio: true,
            has_video: false,
            sip_status: None,
            sip_message: None,
            info: None,
            media_provider: "WebRTC",
            custom: None,
            hold_for_transfer: false,
            is_msrp: false,
        }
    }
}

/// `notifyTransferEvent` statuses (spec §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferStatus {
    Accepted,
    Trying,
    Completed,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_call_object_as_the_sdk_reads_it() {
        let info = CallInfo {
            sip_status: Some(180),
            ..CallInfo::new("c1".into(), CallStatus::RingMedia, true, "1002".into(), "1001".into(), "Bob".into())
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"callId":"c1","status":"RING_MEDIA","incoming":true,"caller":"1002","callee":"1001","visibleName":"Bob",
                "hasAudio":true,"hasVideo":false,"sipStatus":180,"mediaProvider":"WebRTC","holdForTransfer":false,"isMsrp":false})
        );
        assert_eq!(CallStatus::RingMedia.message(), "ring");
        assert_eq!(CallStatus::Failed.message(), "finish");
        assert!(CallStatus::Busy.is_final() && !CallStatus::Hold.is_final());
    }
}
