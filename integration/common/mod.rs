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
