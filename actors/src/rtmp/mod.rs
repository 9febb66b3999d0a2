//! RTMP publishing, sans-IO: target URLs and naming, FLV tag bodies, Adobe authentication and
//! the publishing client session (on rml_rtmp's handshake, chunk and AMF0 code).

pub mod adobe_auth;
pub mod flv;
pub mod media_clock;
pub mod publisher;
pub mod target;
