//! What the WebRTC peers of one media thread send during one turn of its event loop, gathered
//! and handed to the kernel together (`MediaSocket::send_batch`, sendmmsg) once the tasks ready
//! in that turn have run. A frame fanned out to many viewers on one thread, or the packets of
//! every call ticking together, then cost a system call per 64 datagrams instead of one per peer.

use crate::media_socket::MediaSocket;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Default)]
struct Outbox {
    /// The socket of what is pending, while a flush is scheduled.
    socket: Option<Arc<MediaSocket>>,
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
}

thread_local! {
    static OUTBOX: RefCell<Outbox> = RefCell::new(Outbox::default());
}

/// Takes `datagrams` (leaving the vector empty) to send from `socket` when this thread's ready
/// tasks have run. Call it from a task of a `LocalSet` (an actix arbiter).
pub fn send_soon(socket: &Arc<MediaSocket>, datagrams: &mut Vec<(SocketAddr, Vec<u8>)>) {
    if datagrams.is_empty() {
        return;
    }
    let schedule = OUTBOX.with_borrow_mut(|outbox| {
        let schedule = match &outbox.socket {
            Some(pending) if Arc::ptr_eq(pending, socket) => false,
            // Another socket's datagrams (only in tests: a media thread has one socket) go first.
            Some(pending) => {
                pending.send_batch(&mut outbox.datagrams);
                outbox.socket = Some(socket.clone());
                false
            }
            None => {
                outbox.socket = Some(socket.clone());
                true
            }
        };
        outbox.datagrams.append(datagrams);
        schedule
    });
    if schedule {
        // Queued behind the tasks already woken, which may add to the batch.
        tokio::task::spawn_local(async { flush() });
    }
}

fn flush() {
    OUTBOX.with_borrow_mut(|outbox| {
        if let Some(socket) = outbox.socket.take() {
            socket.send_batch(&mut outbox.datagrams);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use std::net::UdpSocket;

    #[actix::test]
    async fn what_peers_send_in_one_turn_leaves_together_after_it_in_order() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let to = receiver.local_addr().unwrap();
        let metrics = Metrics::new();
        let media = MediaSocket::bind("127.0.0.1:0".parse().unwrap(), metrics.clone()).unwrap();
        let mut first: Vec<(SocketAddr, Vec<u8>)> = (0..3u8).map(|i| (to, vec![i; 20])).collect();
        let mut second: Vec<(SocketAddr, Vec<u8>)> = (3..100u8).map(|i| (to, vec![i; 20])).collect();
        send_soon(&media, &mut first);
        send_soon(&media, &mut second);
        assert!(first.is_empty() && second.is_empty(), "taken");
        let mut buffer = [0u8; 64];
        assert!(receiver.recv_from(&mut buffer).is_err(), "nothing leaves during the turn");
        assert_eq!(metrics.media_datagrams_out.get(), 0);
        tokio::task::yield_now().await;
        assert_eq!(metrics.media_datagrams_out.get(), 100, "sent once the turn is over");
        receiver.set_nonblocking(false).unwrap();
        for i in 0..100u8 {
            let (len, _) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], [i; 20].as_slice());
        }
    }
}
