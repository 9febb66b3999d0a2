//! Session Description Protocol (RFC 8866) as text: parsed into sessions, media sections and
//! attributes, without interpreting more than the server needs. Used to pick codecs from
//! WebRTC offers and, in [`plain`], for the plain RTP/AVP SDP of SIP.

mod description;
pub mod plain;
mod rewrite;

pub use description::{fmtp_value, Attribute, MediaSection, RtpMap, SdpError, SessionDescription};
pub use rewrite::{limit_opus_audio_rate, unify_msid};
