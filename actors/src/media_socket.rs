//! The UDP port a media thread's WebRTC peers share (each media thread has its own, so a
//! browser's datagrams arrive on the thread of their peer, and no thread hands them over).
//! The thread reads it when it is readable and routes each datagram to its peer: STUN by the
//! local ICE ufrag in its USERNAME, everything else by the source address a STUN request came
//! from. A datagram from any other address is dropped here, and the peer itself passes only
//! what its ICE agent verified on to DTLS/SRTP.

use crate::datagram_pool;
use crate::metrics::Metrics;
use crate::udp_batch;
use crate::webrtc::stun_username::{is_stun, local_ufrag};
use actix::prelude::*;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Socket buffers: a keyframe sent to many viewers is a burst.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;
/// Addresses one peer may be reached from (its candidates); more is an attack or a bug.
const MAX_ADDRESSES_PER_PEER: usize = 8;
/// Datagrams read in one go before the thread's other tasks get a turn: a flood on the port
/// must not stall the peers' timers and sends.
const RECEIVE_BURST: usize = 64;

/// One datagram for one peer.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Datagram {
    pub source: SocketAddr,
    pub received: Instant,
    pub data: Vec<u8>,
}

#[derive(Clone)]
struct Route {
    peer: u64,
    to: Recipient<Datagram>,
}

#[derive(Default)]
struct Routes {
    by_ufrag: HashMap<String, Route>,
    by_address: HashMap<SocketAddr, Route>,
}

impl Routes {
    /// Where a datagram goes, learning the source address of STUN requests.
    fn route(&mut self, source: SocketAddr, data: &[u8]) -> Result<&Route, &'static str> {
        if is_stun(data) {
            let ufrag = local_ufrag(data).ok_or("stun_without_username")?;
            let route = self.by_ufrag.get(ufrag).ok_or("unknown_ufrag")?;
            if !self.by_address.contains_key(&source) {
                let known = self.by_address.values().filter(|r| r.peer == route.peer).count();
                if known < MAX_ADDRESSES_PER_PEER {
                    self.by_address.insert(source, route.clone());
                }
            }
            Ok(route)
        } else {
            self.by_address.get(&source).ok_or("unknown_source")
        }
    }
}

pub struct MediaSocket {
    socket: UdpSocket,
    local: SocketAddr,
    /// Its own thread's peers only, so the lock is never contended; it is a lock because
    /// peers register from their actor, which the type system cannot tell is on that thread.
    routes: Mutex<Routes>,
    /// Whether runs of datagrams to one peer go as one message the kernel cuts (UDP GSO).
    segmentation: AtomicBool,
    metrics: Metrics,
}

impl MediaSocket {
    /// Binds a media port; `receive` then reads it on its media thread.
    pub fn bind(address: SocketAddr, metrics: Metrics) -> io::Result<Arc<MediaSocket>> {
        let socket = Socket::new(Domain::for_address(address), Type::DGRAM, Some(Protocol::UDP))?;
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
        socket.bind(&address.into())?;
        socket.set_nonblocking(true)?;
        let socket: UdpSocket = socket.into();
        let local = socket.local_addr()?;
        let segmentation = AtomicBool::new(udp_batch::can_segment(&socket));
        Ok(Arc::new(MediaSocket { socket, local, routes: Mutex::new(Routes::default()), segmentation, metrics }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn register(&self, peer: u64, ufrag: &str, to: Recipient<Datagram>) {
        self.routes.lock().unwrap().by_ufrag.insert(ufrag.to_owned(), Route { peer, to });
    }

    pub fn unregister(&self, peer: u64, ufrag: &str) {
        let mut routes = self.routes.lock().unwrap();
        routes.by_ufrag.remove(ufrag);
        routes.by_address.retain(|_, r| r.peer != peer);
    }

    /// Sends a batch of datagrams (of any peers) with as few system calls as the kernel allows
    /// (sendmmsg, and segmentation where it can), without blocking: what the socket buffer
    /// cannot take is dropped and counted, and so is what the kernel refuses for its
    /// destination, without the rest. Empties `batch`.
    pub fn send_batch(&self, batch: &mut Vec<(SocketAddr, Vec<u8>)>) {
        let (mut at, mut sent) = (0, 0);
        while at < batch.len() {
            match udp_batch::send_some(&self.socket, &batch[at..], self.segmentation.load(Ordering::Relaxed)) {
                Ok(0) => break,
                Ok(n) => {
                    at += n;
                    sent += n;
                }
                // A device that cannot segment (no checksum offload) or a path MTU below the
                // packets, or a destination the kernel refuses anyway: the same datagrams one
                // by one tell which.
                Err(refused) if refused.segmented && matches!(refused.error.raw_os_error(), Some(libc::EIO | libc::EINVAL)) => {
                    match udp_batch::send_some(&self.socket, &batch[at..at + refused.datagrams], false) {
                        Ok(0) => break,
                        Ok(n) => {
                            tracing::warn!(error = %refused.error, port = self.local.port(), "UDP segmentation refused: sending datagrams one by one");
                            self.segmentation.store(false, Ordering::Relaxed);
                            at += n;
                            sent += n;
                        }
                        Err(single) if is_full(&single.error) => break,
                        Err(_) => at += self.dropped(refused.datagrams),
                    }
                }
                Err(refused) if !is_full(&refused.error) => at += self.dropped(refused.datagrams),
                Err(_) => break,
            }
        }
        self.metrics.media_datagrams_out.inc_by(sent as u64);
        for _ in at..batch.len() {
            self.metrics.media_dropped("send_failed");
        }
        datagram_pool::give_back(batch.drain(..).map(|(_, datagram)| datagram));
    }

    /// Counts `datagrams` the kernel refused for their destination; gives their number.
    fn dropped(&self, datagrams: usize) -> usize {
        for _ in 0..datagrams {
            self.metrics.media_dropped("send_failed");
        }
        datagrams
    }

    /// Reads the socket for as long as the media thread runs: spawn it on the thread whose
    /// peers use this socket (it registers with that thread's reactor).
    pub async fn receive(self: Arc<Self>) {
        // A second descriptor of the same socket, registered with this thread's reactor; sends
        // keep to the first (see `send_batch`).
        let readable = match self.socket.try_clone().and_then(tokio::net::UdpSocket::from_std) {
            Ok(readable) => readable,
            Err(e) => return tracing::error!(error = %e, port = self.local.port(), "the media port cannot be read"),
        };
        let mut buffer = vec![0u8; 2048];
        loop {
            if let Err(e) = readable.readable().await {
                return tracing::error!(error = %e, port = self.local.port(), "the media port cannot be read");
            }
            let mut drained = false;
            for _ in 0..RECEIVE_BURST {
                match readable.try_recv_from(&mut buffer) {
                    Ok((len, source)) => self.deliver(source, &buffer[..len]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        drained = true;
                        break;
                    }
                    // An ICMP error for something sent earlier, reported here: nothing to read.
                    Err(e) => tracing::debug!(error = %e, "media socket receive"),
                }
            }
            if !drained {
                tokio::task::yield_now().await;
            }
        }
    }

    fn deliver(&self, source: SocketAddr, data: &[u8]) {
        self.metrics.media_datagrams_in.inc();
        // Handed over under the lock: a route is not cloned (an allocation) for every datagram.
        let mut routes = self.routes.lock().unwrap();
        match routes.route(source, data) {
            Ok(route) => {
                let datagram = Datagram { source, received: Instant::now(), data: data.to_vec() };
                if route.to.try_send(datagram).is_err() {
                    self.metrics.media_dropped("peer_busy");
                }
            }
            Err(reason) => self.metrics.media_dropped(reason),
        }
    }
}

/// The socket buffer is full for now: what is left of a batch is dropped (media does not wait).
fn is_full(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(libc::ENOBUFS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Sink;
    impl Actor for Sink {
        type Context = Context<Self>;
    }
    impl Handler<Datagram> for Sink {
        type Result = ();
        fn handle(&mut self, _: Datagram, _: &mut Context<Self>) {}
    }

    fn stun(username: &str) -> Vec<u8> {
        let mut attr = vec![0x00, 0x06];
        attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attr.extend_from_slice(username.as_bytes());
        attr.resize(attr.len().div_ceil(4) * 4, 0);
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(attr.len() as u16).to_be_bytes());
        msg.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        msg.extend_from_slice(&[1; 12]);
        msg.extend_from_slice(&attr);
        msg
    }

    /// Passes what it gets on to the test.
    struct Collect(tokio::sync::mpsc::UnboundedSender<Datagram>);
    impl Actor for Collect {
        type Context = Context<Self>;
    }
    impl Handler<Datagram> for Collect {
        type Result = ();
        fn handle(&mut self, datagram: Datagram, _: &mut Context<Self>) {
            let _ = self.0.send(datagram);
        }
    }

    #[actix::test]
    async fn the_thread_reading_the_port_hands_each_datagram_to_its_peer() {
        let metrics = Metrics::new();
        let media = MediaSocket::bind("127.0.0.1:0".parse().unwrap(), metrics.clone()).unwrap();
        let (to_test, mut received) = tokio::sync::mpsc::unbounded_channel();
        media.register(1, "srv", Collect(to_test).start().recipient());
        actix::spawn(media.clone().receive());
        let browser = UdpSocket::bind("127.0.0.1:0").unwrap();
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dtls = [22u8, 254, 253, 0, 0];
        browser.send_to(&stun("srv:abc"), media.local_addr()).unwrap();
        browser.send_to(&dtls, media.local_addr()).unwrap();
        stranger.send_to(&dtls, media.local_addr()).unwrap();
        let within = Duration::from_secs(2);
        let first = tokio::time::timeout(within, received.recv()).await.unwrap().unwrap();
        let second = tokio::time::timeout(within, received.recv()).await.unwrap().unwrap();
        assert_eq!((first.source, first.data), (browser.local_addr().unwrap(), stun("srv:abc")));
        assert_eq!((second.source, second.data), (browser.local_addr().unwrap(), dtls.to_vec()));
        let dropped = |kind| metrics.media_datagrams_dropped.get_or_create(&crate::metrics::KindLabels { kind }).get();
        let start = Instant::now();
        while dropped("unknown_source") < 1 && start.elapsed() < within {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(dropped("unknown_source"), 1, "the stranger's datagram is dropped");
        assert_eq!(metrics.media_datagrams_in.get(), 3);
        assert!(received.try_recv().is_err(), "and reaches no peer");
    }

    #[actix::test]
    async fn only_addresses_that_sent_stun_reach_a_peer() {
        let sink = Sink.start().recipient();
        let mut routes = Routes::default();
        routes.by_ufrag.insert("srv".into(), Route { peer: 1, to: sink });
        let browser: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        let dtls = [22u8, 254, 253, 0, 0];

        assert_eq!(routes.route(browser, &dtls).err(), Some("unknown_source"));
        assert_eq!(routes.route(browser, &stun("other:x")).err(), Some("unknown_ufrag"));
        assert_eq!(routes.route(browser, &stun("srv:abc")).map(|r| r.peer).ok(), Some(1));
        assert_eq!(routes.route(browser, &dtls).map(|r| r.peer).ok(), Some(1));
        assert_eq!(routes.route(stranger, &dtls).err(), Some("unknown_source"));
    }

    /// A peer's socket on loopback (reads time out after 2 s) and a media port to send to it.
    fn receiver_and_media() -> (UdpSocket, Arc<MediaSocket>, Metrics) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let metrics = Metrics::new();
        let media = MediaSocket::bind("127.0.0.1:0".parse().unwrap(), metrics.clone()).unwrap();
        (receiver, media, metrics)
    }

    #[test]
    fn a_batch_arrives_in_order() {
        let (receiver, media, _) = receiver_and_media();
        let to = receiver.local_addr().unwrap();
        let mut batch: Vec<(SocketAddr, Vec<u8>)> = (0..100u8).map(|i| (to, vec![i; 10 + i as usize])).collect();
        media.send_batch(&mut batch);
        assert!(batch.is_empty());
        let mut buffer = [0u8; 256];
        for i in 0..100u8 {
            let (len, _) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], vec![i; 10 + i as usize].as_slice());
        }
    }

    #[test]
    fn a_refused_datagram_costs_only_itself() {
        let (receiver, media, metrics) = receiver_and_media();
        let to = receiver.local_addr().unwrap();
        // Port 0 is no destination: the kernel refuses that one datagram.
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut batch = vec![(to, vec![1]), (nowhere, vec![2]), (to, vec![3])];
        media.send_batch(&mut batch);
        let mut buffer = [0u8; 8];
        for expected in [1u8, 3] {
            let (len, _) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], [expected].as_slice());
        }
        assert_eq!(metrics.media_datagrams_out.get(), 2);
    }

    #[test]
    fn where_the_kernel_refuses_to_segment_datagrams_go_one_by_one() {
        use std::os::fd::AsRawFd;
        let (receiver, media, metrics) = receiver_and_media();
        let to = receiver.local_addr().unwrap();
        assert!(media.segmentation.load(Ordering::Relaxed));
        // Without UDP checksums (SO_NO_CHECK of asm-generic/socket.h) the kernel refuses to segment.
        const SO_NO_CHECK: libc::c_int = 11;
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor and an option value that outlives the call.
        let set = unsafe {
            libc::setsockopt(media.socket.as_raw_fd(), libc::SOL_SOCKET, SO_NO_CHECK, (&on as *const libc::c_int).cast(), 4)
        };
        assert_eq!(set, 0);
        let mut batch: Vec<(SocketAddr, Vec<u8>)> = (0..4u8).map(|i| (to, vec![i; 500])).collect();
        media.send_batch(&mut batch);
        assert!(!media.segmentation.load(Ordering::Relaxed), "segmentation is off from now on");
        let mut buffer = [0u8; 1024];
        for i in 0..4u8 {
            let (len, _) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], vec![i; 500].as_slice());
        }
        assert_eq!(metrics.media_datagrams_out.get(), 4, "nothing was lost on the way");
    }

    #[test]
    fn a_destination_the_kernel_refuses_leaves_segmentation_on() {
        let (receiver, media, metrics) = receiver_and_media();
        let to = receiver.local_addr().unwrap();
        // Port 0 is no destination: a run to it is refused whether or not it is segmented.
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut batch: Vec<(SocketAddr, Vec<u8>)> = (0..3u8).map(|i| (nowhere, vec![i; 500])).collect();
        batch.extend((0..3u8).map(|i| (to, vec![i; 500])));
        media.send_batch(&mut batch);
        assert!(media.segmentation.load(Ordering::Relaxed), "one bad destination does not turn segmentation off");
        let mut buffer = [0u8; 1024];
        for i in 0..3u8 {
            let (len, _) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], vec![i; 500].as_slice());
        }
        assert_eq!(metrics.media_datagrams_out.get(), 3);
    }

    #[actix::test]
    async fn a_peer_learns_a_bounded_number_of_addresses() {
        let sink = Sink.start().recipient();
        let mut routes = Routes::default();
        routes.by_ufrag.insert("srv".into(), Route { peer: 1, to: sink });
        for port in 0..100 {
            let _ = routes.route(SocketAddr::from(([127, 0, 0, 1], 7000 + port)), &stun("srv:x"));
        }
        assert_eq!(routes.by_address.len(), MAX_ADDRESSES_PER_PEER);
    }
}
