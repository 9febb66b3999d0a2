//! The server under test and the clients that talk to it.

mod server;
mod ws_client;

pub use server::Server;
pub use ws_client::WsClient;
