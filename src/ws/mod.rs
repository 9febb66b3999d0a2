//! The WebSocket front door (ports 8080/8443): every upgrade, on any path, becomes a socket
//! pump feeding a `ClientSession` actor.

mod endpoint;
mod pump;

pub use endpoint::upgrade;
