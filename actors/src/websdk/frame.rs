//! `{"message": "<name>", "data": [ ... ]}` framing (spec §1.2).

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// One client frame: the message name and its single argument (`data[0]`, `null` when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    pub message: String,
    pub payload: Value,
}

/// Why a text frame is not a WebSDK frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameError {
    NotJson(String),
    NotAnObject,
    MissingMessage,
    DataNotArray,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NotJson(e) => write!(f, "Malformed JSON: {e}"),
            FrameError::NotAnObject => f.write_str("Malformed message: expected a JSON object {message, data}"),
            FrameError::MissingMessage => f.write_str("Malformed message: no string field 'message'"),
            FrameError::DataNotArray => f.write_str("Malformed message: 'data' must be an array"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parses one text frame sent by a client. The SDK always sends `data: [arg]`; a missing
/// `data` or an empty array gives a `null` payload.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(FrameError::NotAnObject);
    };
    let message = match object.remove("message") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => return Err(FrameError::MissingMessage),
    };
    let payload = match object.remove("data") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(mut args)) => {
            if args.is_empty() {
                Value::Null
            } else {
                args.swap_remove(0)
            }
        }
        Some(_) => return Err(FrameError::DataNotArray),
    };
    Ok(ClientFrame { message, payload })
}

/// Serializes a server frame. `data` is always an array: the SDK reads `data[0]` of every frame.
pub fn server_frame(message: &str, data: &[Value]) -> String {
    #[derive(Serialize)]
    struct Frame<'a> {
        message: &'a str,
        data: &'a [Value],
    }
    serde_json::to_string(&Frame { message, data }).expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn takes_the_first_argument_as_payload() {
        let f = parse_client_frame(r#"{"message":"connection","data":[{"appKey":"defaultApp"}]}"#).unwrap();
        assert_eq!(f.message, "connection");
        assert_eq!(f.payload, json!({"appKey":"defaultApp"}));
    }

    #[test]
    fn null_or_missing_data_is_a_null_payload() {
        assert_eq!(parse_client_frame(r#"{"message":"pong","data":[null]}"#).unwrap().payload, Value::Null);
        assert_eq!(parse_client_frame(r#"{"message":"pong"}"#).unwrap().payload, Value::Null);
        assert_eq!(parse_client_frame(r#"{"message":"pong","data":[]}"#).unwrap().payload, Value::Null);
    }

    #[test]
    fn rejects_what_is_not_a_frame() {
        assert!(matches!(parse_client_frame("{not json"), Err(FrameError::NotJson(_))));
        assert_eq!(parse_client_frame("[1,2]"), Err(FrameError::NotAnObject));
        assert_eq!(parse_client_frame(r#"{"data":[]}"#), Err(FrameError::MissingMessage));
        assert_eq!(parse_client_frame(r#"{"message":5}"#), Err(FrameError::MissingMessage));
        assert_eq!(parse_client_frame(r#"{"message":"x","data":{}}"#), Err(FrameError::DataNotArray));
    }

    #[test]
    fn server_frames_always_carry_a_data_array() {
        assert_eq!(server_frame("ping", &[]), r#"{"message":"ping","data":[]}"#);
        let s = server_frame("setRemoteSDP", &[json!("id1"), json!("v=0")]);
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), json!({"message":"setRemoteSDP","data":["id1","v=0"]}));
    }
}
