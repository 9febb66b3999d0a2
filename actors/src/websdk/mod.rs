//! The Flashphoner WebSDK 2.0 signalling protocol (`../shared/spec/websdk-protocol.md`):
//! JSON frames, the messages a client sends and the events the server answers with.
//! Pure code: no actix, no IO, so it can be unit-tested and fuzzed.

pub mod call_event;
pub mod call_request;
pub mod client_message;
pub mod connection;
pub mod frame;
pub mod lenient;
pub mod server_event;
pub mod stream_request;
pub mod stream_status;

pub use call_event::{CallInfo, CallStatus, TransferStatus};
pub use call_request::{CallCommand, CallRequest, DtmfType};
pub use client_message::{ClientMessage, MessageError};
pub use connection::{ConnectionRequest, SipCredentials};
pub use server_event::{DataStatus, ServerEvent};
pub use stream_request::{StreamEvent, StreamRef, StreamRequest};
pub use stream_status::StreamStatusEvent;
