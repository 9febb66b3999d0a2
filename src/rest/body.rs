//! The request body of a REST method: a JSON object, `{}` when absent (the SDK sends GET
//! without a body), with typed accessors that accept `"true"` and `"5060"`.

use super::RestError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use ferrophone_actors::websdk::lenient::{as_bool, as_string, is_unset};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Debug)]
pub struct RestBody(Map<String, Value>);

impl RestBody {
    pub fn parse(bytes: &[u8]) -> Result<Self, RestError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(RestBody(Map::new()));
        }
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Ok(RestBody(map)),
            Ok(_) => Err(RestError::bad_request("The request body must be a JSON object")),
            Err(e) => Err(RestError::bad_request(format!("Malformed JSON in the request body: {e}"))),
        }
    }

    pub fn required_string(&self, field: &str) -> Result<String, RestError> {
        self.optional_string(field)?.ok_or_else(|| RestError::bad_request(format!("Missing required field '{field}'")))
    }

    pub fn optional_string(&self, field: &str) -> Result<Option<String>, RestError> {
        match self.0.get(field) {
            v if is_unset(v) => Ok(None),
            Some(v) => as_string(v).map(Some).ok_or_else(|| RestError::bad_request(format!("Field '{field}' must be a string"))),
            None => Ok(None),
        }
    }

    /// A JSON object.
    pub fn optional_object(&self, field: &str) -> Result<Option<Value>, RestError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(RestError::bad_request(format!("Field '{field}' must be an object"))),
        }
    }

    /// An array of strings; a single string counts as a list of one.
    pub fn optional_string_list(&self, field: &str) -> Result<Option<Vec<String>>, RestError> {
        match self.0.get(field) {
            v if is_unset(v) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| as_string(v).ok_or_else(|| RestError::bad_request(format!("Field '{field}' must list strings"))))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => as_string(v)
                .map(|s| Some(vec![s]))
                .ok_or_else(|| RestError::bad_request(format!("Field '{field}' must list strings"))),
            None => Ok(None),
        }
    }

    /// The whole body, for parsers shared with the WebSocket messages.
    pub fn json(&self) -> Value {
        Value::Object(self.0.clone())
    }

    pub fn optional_bool(&self, field: &str) -> Result<Option<bool>, RestError> {
        match self.0.get(field) {
            v if is_unset(v) => Ok(None),
            Some(v) => as_bool(v).map(Some).ok_or_else(|| RestError::bad_request(format!("Field '{field}' must be true or false"))),
            None => Ok(None),
        }
    }
}

impl FromRequest for RestBody {
    type Error = RestError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, RestError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| RestError::too_large(format!("Unreadable request body: {e}")))?;
            if bytes.len() > MAX_BODY_BYTES {
                return Err(RestError::too_large(format!("Request body over {MAX_BODY_BYTES} bytes")));
            }
            RestBody::parse(&bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_an_empty_object() {
        assert!(RestBody::parse(b"").unwrap().0.is_empty());
        assert!(RestBody::parse(b" \n").unwrap().0.is_empty());
    }

    #[test]
    fn rejects_bad_json_and_non_objects() {
        assert!(RestBody::parse(b"{bad").unwrap_err().to_string().contains("Malformed JSON"));
        assert!(RestBody::parse(b"[1]").unwrap_err().to_string().contains("JSON object"));
    }

    #[test]
    fn typed_fields_accept_strings() {
        let b = RestBody::parse(br#"{"keepAlive":"true","sessionId":"s1","port":"5060","empty":""}"#).unwrap();
        assert_eq!(b.optional_bool("keepAlive").unwrap(), Some(true));
        assert_eq!(b.required_string("sessionId").unwrap(), "s1");
        assert_eq!(b.optional_string("empty").unwrap(), None);
        assert!(b.required_string("missing").unwrap_err().to_string().contains("'missing'"));
        assert!(RestBody::parse(br#"{"keepAlive":"perhaps"}"#).unwrap().optional_bool("keepAlive").is_err());
    }
}
