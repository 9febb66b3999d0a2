//! The boundary between a WebSocket connection and the session actor that owns it. The
//! socket's pump (in the binary) turns frames into [`InboundFrame`]s for the session and
//! writes the session's [`Outbound`] frames; a [`SocketHandle`] is the session's end of that.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Frames a session may queue before its client counts as not reading.
pub const OUTBOUND_QUEUE: usize = 256;

/// WebSocket close codes used by the server (RFC 6455 §7.4.1).
pub mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const INTERNAL_ERROR: u16 = 1011;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundFrame {
    Text(String),
    /// Binary frames have no meaning on the signalling socket; only the size is kept.
    Binary(usize),
    /// A WebSocket pong control frame (keep-alive algorithm `INTERNAL`).
    WsPong,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    Text(String),
    WsPing,
    Close { code: u16, reason: String },
}

/// The session's end of one socket. Dropping it lets the pump close the connection.
#[derive(Debug)]
pub struct SocketHandle {
    id: u64,
    tx: mpsc::Sender<Outbound>,
    remote: Option<SocketAddr>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The client stopped reading: its queue is full.
    Full,
    Closed,
}

impl SocketHandle {
    pub fn new(remote: Option<SocketAddr>) -> (Self, mpsc::Receiver<Outbound>) {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        (SocketHandle { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), tx, remote }, rx)
    }

    /// Unique per connection, so that news from a replaced socket is recognised as stale.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    pub fn send(&self, frame: Outbound) -> Result<(), SendError> {
        self.tx.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    /// Queues a close frame; the pump sends it and ends the connection.
    pub fn close(self, code: u16, reason: &str) {
        let _ = self.tx.try_send(Outbound::Close { code, reason: reason.to_owned() });
    }
}
