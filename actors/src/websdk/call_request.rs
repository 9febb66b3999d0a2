//! The call messages of a client (spec §4.2–4.4): `call`, `answer`, `hangup`, `hold`, `unhold`,
//! `sendDtmf` and `transfer`.

use super::lenient::{as_bool, as_string, is_unset};
use serde_json::Value;

fn call_id(payload: &Value) -> Result<String, String> {
    match payload.get("callId") {
        v if is_unset(v) => Err("'callId' is missing".into()),
        Some(v) => as_string(v).filter(|id| !id.is_empty()).ok_or_else(|| "'callId' must be a non-empty string".into()),
        None => Err("'callId' is missing".into()),
    }
}

fn text(payload: &Value, field: &str) -> Result<Option<String>, String> {
    match payload.get(field) {
        v if is_unset(v) => Ok(None),
        Some(v) => as_string(v).map(Some).ok_or_else(|| format!("'{field}' must be a string")),
        None => Ok(None),
    }
}

/// `sipSDP`: raw SDP lines for the SIP side (seed 003), as an array of strings.
fn sip_sdp_lines(payload: &Value) -> Result<Vec<String>, String> {
    match payload.get("sipSDP") {
        v if is_unset(v) => Ok(Vec::new()),
        Some(Value::Array(lines)) => lines.iter().map(|l| as_string(l).ok_or_else(|| "'sipSDP' must be an array of strings".to_owned())).collect(),
        _ => Err("'sipSDP' must be an array of strings".into()),
    }
}

/// `call` (outgoing) and `answer` (incoming): the browser's side of a SIP call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    pub call_id: String,
    /// The browser's offer (`call`) or answer (`answer`).
    pub sdp: String,
    pub callee: String,
    pub caller: Option<String>,
    pub visible_name: Option<String>,
    pub has_audio: bool,
    pub has_video: bool,
    pub sip_sdp: Vec<String>,
    pub custom: Option<Value>,
}

impl CallRequest {
    pub fn parse(payload: &Value) -> Result<Self, String> {
        Ok(CallRequest {
            call_id: call_id(payload)?,
            sdp: text(payload, "sdp")?.filter(|s| !s.is_empty()).ok_or("'sdp' is missing")?,
            callee: text(payload, "callee")?.unwrap_or_default(),
            caller: text(payload, "caller")?.filter(|c| !c.is_empty()),
            visible_name: text(payload, "visibleName")?.filter(|v| !v.is_empty()),
            has_audio: payload.get("hasAudio").and_then(as_bool).unwrap_or(true),
            has_video: payload.get("hasVideo").and_then(as_bool).unwrap_or(false),
            sip_sdp: sip_sdp_lines(payload)?,
            custom: payload.get("custom").filter(|v| !v.is_null()).cloned(),
        })
    }
}

/// How `sendDtmf` wants the digits carried (spec §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfType {
    /// RFC 2833/4733 telephone-events in the RTP stream (the SDK's default).
    Rfc2833,
    /// SIP INFO with `application/dtmf-relay`.
    Info,
}

/// `hangup`, `hold`, `unhold`, `sendDtmf`, `transfer`.
#[derive(Debug, Clone, PartialEq)]
pub enum CallCommand {
    Hangup,
    Hold,
    Unhold,
    SendDtmf { kind: DtmfType, digits: String },
    Transfer { target: String },
}

impl CallCommand {
    /// Parses the payload of the message `name`; returns the call it is about with it.
    pub fn parse(name: &str, payload: &Value) -> Result<(String, Self), String> {
        let id = call_id(payload)?;
        let command = match name {
            "hangup" => CallCommand::Hangup,
            "hold" => CallCommand::Hold,
            "unhold" => CallCommand::Unhold,
            "sendDtmf" => {
                let kind = match text(payload, "type")?.as_deref().map(str::to_ascii_uppercase).as_deref() {
                    None | Some("RFC2833") => DtmfType::Rfc2833,
                    Some("INFO") | Some("INFO_RELAY") => DtmfType::Info,
                    Some(other) => return Err(format!("'type' must be RFC2833, INFO or INFO_RELAY, not '{other}'")),
                };
                // The SDK sends a number or a string of digits.
                let digits = match payload.get("dtmf") {
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::String(s)) => s.clone(),
                    _ => return Err("'dtmf' must be digits (0-9, *, #, A-D)".into()),
                };
                if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c)) {
                    return Err(format!("'dtmf' must be digits (0-9, *, #, A-D), not '{digits}'"));
                }
                CallCommand::SendDtmf { kind, digits: digits.to_ascii_uppercase() }
            }
            "transfer" => CallCommand::Transfer { target: text(payload, "target")?.filter(|t| !t.is_empty()).ok_or("'target' is missing")? },
            other => return Err(format!("'{other}' is not a call command")),
        };
        Ok((id, command))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_call_as_the_sdk_sends_it() {
        let payload = json!({"callId":"c1","incoming":false,"hasVideo":false,"hasAudio":true,"status":"PENDING","mediaProvider":"WebRTC",
            "sdp":"v=0\r\n","sipSDP":["b=AS:3000"],"caller":"1001","callee":"1002","visibleName":"Alice"});
        let call = CallRequest::parse(&payload).unwrap();
        assert_eq!((call.call_id.as_str(), call.callee.as_str(), call.caller.as_deref()), ("c1", "1002", Some("1001")));
        assert_eq!(call.sip_sdp, ["b=AS:3000"]);
        assert_eq!(call.visible_name.as_deref(), Some("Alice"));
        assert!(CallRequest::parse(&json!({"callId":"c1"})).unwrap_err().contains("sdp"));
        assert!(CallRequest::parse(&json!({"sdp":"v=0"})).unwrap_err().contains("callId"));
        assert!(CallRequest::parse(&json!({"callId":"c","sdp":"v=0","sipSDP":"b=AS:1"})).is_err());
    }

    #[test]
    fn commands() {
        assert_eq!(CallCommand::parse("hangup", &json!({"callId":"c"})).unwrap(), ("c".into(), CallCommand::Hangup));
        let (_, dtmf) = CallCommand::parse("sendDtmf", &json!({"callId":"c","type":"RFC2833","dtmf":5})).unwrap();
        assert_eq!(dtmf, CallCommand::SendDtmf { kind: DtmfType::Rfc2833, digits: "5".into() });
        let (_, dtmf) = CallCommand::parse("sendDtmf", &json!({"callId":"c","type":"INFO","dtmf":"12#"})).unwrap();
        assert_eq!(dtmf, CallCommand::SendDtmf { kind: DtmfType::Info, digits: "12#".into() });
        assert!(CallCommand::parse("sendDtmf", &json!({"callId":"c","dtmf":"1x"})).unwrap_err().contains("1x"));
        assert!(CallCommand::parse("transfer", &json!({"callId":"c"})).unwrap_err().contains("target"));
        assert!(CallCommand::parse("hold", &json!({})).unwrap_err().contains("callId"));
    }
}
