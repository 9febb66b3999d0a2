//! The stream messages of a client (spec §3): publish, play, stop, availability, events.

use super::lenient::{as_bool, as_string, is_unset};
use serde_json::Value;

pub const MEDIA_SESSION_ID_NULL: &str = "MediaSessionId is null";

fn media_session_id(payload: &Value) -> Result<String, String> {
    match payload.get("mediaSessionId") {
        v if is_unset(v) => Err(MEDIA_SESSION_ID_NULL.into()),
        Some(v) => as_string(v).ok_or_else(|| "'mediaSessionId' must be a string".into()),
        None => Err(MEDIA_SESSION_ID_NULL.into()),
    }
}

fn optional_string(payload: &Value, field: &str) -> Result<Option<String>, String> {
    match payload.get(field) {
        v if is_unset(v) => Ok(None),
        Some(v) => as_string(v).map(Some).ok_or_else(|| format!("'{field}' must be a string")),
        None => Ok(None),
    }
}

/// `publishStream` and `playStream` (§3.2, §3.3).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRequest {
    pub media_session_id: String,
    pub name: String,
    /// The browser's offer.
    pub sdp: Option<String>,
    /// `WebRTC`, or `MSE`/`WSPlayer` for the players this server does not offer.
    pub media_provider: String,
    pub record: bool,
    pub rtmp_url: Option<String>,
    pub custom: Option<Value>,
}

impl StreamRequest {
    pub fn parse(payload: &Value) -> Result<Self, String> {
        Ok(StreamRequest {
            media_session_id: media_session_id(payload)?,
            name: optional_string(payload, "name")?.unwrap_or_default(),
            sdp: optional_string(payload, "sdp")?,
            media_provider: optional_string(payload, "mediaProvider")?.unwrap_or_else(|| "WebRTC".into()),
            record: payload.get("record").and_then(as_bool).unwrap_or(false),
            rtmp_url: optional_string(payload, "rtmpUrl")?,
            custom: payload.get("custom").filter(|v| !v.is_null()).cloned(),
        })
    }
}

/// `unPublishStream`, `stopStream`, `availableStream`: which stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRef {
    pub media_session_id: String,
    pub name: Option<String>,
}

impl StreamRef {
    pub fn parse(payload: &Value) -> Result<Self, String> {
        Ok(StreamRef { media_session_id: media_session_id(payload)?, name: optional_string(payload, "name")? })
    }
}

/// `sendStreamEvent`: mute/unmute and data from a publisher (§3.7).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    pub media_session_id: String,
    pub event_type: String,
    pub payload: Option<Value>,
}

impl StreamEvent {
    pub fn parse(payload: &Value) -> Result<Self, String> {
        Ok(StreamEvent {
            media_session_id: media_session_id(payload)?,
            event_type: optional_string(payload, "type")?.ok_or("sendStreamEvent: missing 'type'")?,
            payload: payload.get("payload").filter(|v| !v.is_null()).cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_the_sdk_sends_for_publish() {
        let r = StreamRequest::parse(&json!({
            "mediaSessionId": "a-1", "name": "s1", "published": true, "hasVideo": true, "hasAudio": true,
            "status": "PENDING", "record": false, "mediaProvider": "WebRTC", "sdp": "v=0\r\n", "custom": {"k": 1},
            "bitrate": 0, "minBitrate": 0, "maxBitrate": 0
        }))
        .unwrap();
        assert_eq!((r.media_session_id.as_str(), r.name.as_str()), ("a-1", "s1"));
        assert_eq!(r.custom, Some(json!({"k": 1})));
        assert!(!r.record);
    }

    #[test]
    fn stream_events_need_a_type() {
        assert!(StreamEvent::parse(&json!({"mediaSessionId": "m"})).is_err());
        let e = StreamEvent::parse(&json!({"mediaSessionId": "m", "type": "audioMuted"})).unwrap();
        assert_eq!((e.event_type.as_str(), e.payload), ("audioMuted", None));
    }
}
