//! End-to-end tests: each starts the real `ferrophone` binary on ports the system picks and
//! talks to it as a client would. Browser tests (the official WebSDK in Chromium) live in
//! `browser/` and run from scripts/test.sh.

mod common;

mod call_to_stream;
mod client2_pages;
mod keepalive_reattach;
mod load_harness;
mod media_port_security;
mod panic_isolation;
mod recording;
mod rest_api;
mod rtmp_push;
mod shutdown;
mod sip_calls;
mod tls;
mod webrtc_streams;
mod websocket_session;
