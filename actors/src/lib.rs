//! ferrophone's actors (client sessions, the registry, later streams, SIP dialogs and RTMP
//! transponders) and, in modules free of actix, the protocol code they drive.

pub mod client_session;
pub mod datagram_pool;
pub mod media;
pub mod media_context;
pub mod media_outbox;
pub mod media_socket;
pub mod metrics;
pub mod panic_guard;
pub mod player_group;
pub mod push;
pub mod recorder;
pub mod recordings;
pub mod registry;
pub mod rtmp;
pub mod rtp;
pub mod rtmp_transponder;
pub mod sdp;
pub mod session_settings;
pub mod sip;
pub mod stream;
pub mod socket;
pub mod token;
pub mod transcode;
pub mod udp_batch;
pub mod webrtc;
pub mod webrtc_peer;
pub mod websdk;
