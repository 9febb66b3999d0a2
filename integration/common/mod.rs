//! The server under test and the clients that talk to it.

pub mod audio_check;
pub mod media_check;
mod nginx;
mod server;
pub mod kamailio;
pub mod sipp;
pub mod video_pcap;
mod ws_client;

pub use nginx::Nginx;
pub use server::Server;
pub use ws_client::WsClient;

/// A fresh scratch directory of one test (files a failing test leaves there help to see why).
pub fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrophone-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
