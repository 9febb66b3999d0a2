//! ferrophone's actors (client sessions, the registry, later streams, SIP dialogs and RTMP
//! transponders) and, in modules free of actix, the protocol code they drive.

pub mod client_session;
pub mod metrics;
pub mod panic_guard;
pub mod registry;
pub mod session_settings;
pub mod socket;
pub mod token;
pub mod websdk;
