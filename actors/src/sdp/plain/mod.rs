//! The SDP of the SIP side of calls: plain `RTP/AVP` offers and answers (RFC 3264, RFC 8866),
//! which str0m, made for WebRTC, cannot read. Pure text in, text out; the SIP dialog decides
//! when to offer, answer or hold.

mod answer;
mod direction;
mod invite_codecs;
mod payload;
mod remote;
mod writer;

pub use answer::{build_answer, Answer, AnswerSetup, NegotiatedMedia, NotAcceptable};
pub use direction::Direction;
pub use invite_codecs::{invite_codecs, InviteCodecs, DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP};
pub use payload::{local_track_codec, rtp_clock_rate, static_payload_type_of, LocalCodec, TelephoneEvent, TELEPHONE_EVENTS, TELEPHONE_EVENT_PT};
pub use remote::{Encoding, PlainSdp, RemoteMedia, RemotePayload};
pub use writer::{build_offer, usable_extra_lines, LocalMedia, LocalSession, PTIME_MS};
