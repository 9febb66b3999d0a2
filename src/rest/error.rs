use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// A REST failure: its HTTP status and a message naming the problem, sent as
/// `{"status": 404, "error": "Not Found", "message": "..."}`.
#[derive(Debug)]
pub struct RestError {
    status: StatusCode,
    message: String,
}

impl RestError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        RestError { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        RestError { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        RestError { status: StatusCode::CONFLICT, message: message.into() }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        RestError { status: StatusCode::SERVICE_UNAVAILABLE, message: message.into() }
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        RestError { status: StatusCode::PAYLOAD_TOO_LARGE, message: message.into() }
    }
}

impl fmt::Display for RestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl ResponseError for RestError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = serde_json::json!({
            "status": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or(""),
            "message": self.message,
        });
        HttpResponse::build(self.status).content_type("application/json;charset=UTF-8").body(body.to_string())
    }
}
