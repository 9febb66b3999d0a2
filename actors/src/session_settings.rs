//! What the session layer reads from the configuration.

use std::time::Duration;

/// How the server checks that a client is still there (WCS `keep_alive.algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveAlgorithm {
    /// JSON `ping` messages, answered by the SDK with `pong` (the WCS default).
    HighLevel,
    /// WebSocket ping control frames.
    Internal,
    None,
}

#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub keep_alive: KeepAliveAlgorithm,
    /// Period of server pings (`keep_alive.server_interval`, 5 s).
    pub ping_interval: Duration,
    /// Unanswered pings before the socket counts as dead (`keep_alive.probes`, 10).
    pub ping_probes: u32,
    /// How long a keepAlive session outlives its socket (`client_timeout`, 1 h).
    pub client_timeout: Duration,
    /// How long a new socket may take to send `connection`.
    pub connection_timeout: Duration,
    /// Fault injection for tests: a message with this name panics inside the session's handler.
    pub panic_on_message: Option<String>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            keep_alive: KeepAliveAlgorithm::HighLevel,
            ping_interval: Duration::from_secs(5),
            ping_probes: 10,
            client_timeout: Duration::from_secs(3600),
            connection_timeout: Duration::from_secs(10),
            panic_on_message: None,
        }
    }
}
