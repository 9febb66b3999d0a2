//! ferrophone: a media gateway where WebRTC browsers (Flashphoner WebSDK), SIP and RTMP meet.
//! The library holds everything the `ferrophone` binary runs; the end-to-end tests use its
//! load clients too.

mod advertised_ip;
mod app_state;
pub mod cli;
pub mod config;
mod http;
pub mod load;
mod open_files;
mod process_stats;
mod rest;
pub mod server;
pub mod telemetry;
mod tls;
mod ws;

pub use open_files::raise_limit as raise_open_files_limit;
