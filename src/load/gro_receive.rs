//! Reading with UDP GRO (Linux 5.0 and later): the kernel hands over a run of datagrams from
//! one sender in one read, with their size, instead of one read per datagram. The server sends
//! the packets of a video frame for one viewer as one segmented message; a load viewer then
//! wakes once per frame, and on loopback the kernel no longer cuts that message up for it.

use ferrophone_actors::udp_batch;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// `UDP_GRO` of linux/udp.h (the libc crate does not define it).
const UDP_GRO: libc::c_int = 104;
/// A buffer this long holds any run: a UDP length field is 16 bits.
pub const RUN_BUFFER_BYTES: usize = 65_536;

/// Asks the kernel to join runs of datagrams on `socket`. False where it cannot: every read is
/// then one datagram, which is still correct.
pub fn enable_gro(socket: &UdpSocket) -> bool {
    udp_batch::set_udp_option(socket.as_raw_fd(), UDP_GRO, 1)
}

/// What one read returned: `len` bytes from `source`, datagrams of `segment` bytes each (the
/// last may be shorter) when the kernel joined several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub len: usize,
    pub source: SocketAddr,
    pub segment: Option<usize>,
}

impl Run {
    /// The datagrams of this run, read into `buffer`.
    pub fn datagrams<'a>(&self, buffer: &'a [u8]) -> std::slice::Chunks<'a, u8> {
        buffer[..self.len].chunks(self.segment.unwrap_or(self.len).max(1))
    }
}

/// Waits for and reads the next run; `buffer` should be [`RUN_BUFFER_BYTES`] long, or a long run
/// is cut short.
pub async fn receive(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<Run> {
    let fd = socket.as_raw_fd();
    socket.async_io(Interest::READABLE, || receive_now(fd, buffer)).await
}

fn receive_now(fd: RawFd, buffer: &mut [u8]) -> io::Result<Run> {
    /// Room for a few control messages, aligned as `cmsghdr` must be.
    #[repr(C, align(8))]
    struct Control([u8; 64]);

    let mut control = Control([0; 64]);
    // SAFETY: plain data, filled in by the kernel.
    let mut source: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    // SAFETY: plain data; every pointer set below outlives the call.
    let mut header: libc::msghdr = unsafe { zeroed() };
    header.msg_name = (&mut source as *mut libc::sockaddr_storage).cast();
    header.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.0.as_mut_ptr().cast();
    header.msg_controllen = control.0.len();
    // SAFETY: see above.
    let len = unsafe { libc::recvmsg(fd, &mut header, libc::MSG_DONTWAIT) };
    if len < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut segment = None;
    // SAFETY: the kernel wrote `msg_controllen` bytes of well-formed control messages.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == UDP_GRO {
                let size = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                segment = usize::try_from(size).ok().filter(|&s| s > 0);
            }
            cmsg = libc::CMSG_NXTHDR(&header, cmsg);
        }
    }
    let source = socket_address(&source).ok_or_else(|| io::Error::other("datagram from an address that is not IP"))?;
    Ok(Run { len: (len as usize).min(buffer.len()), source, segment })
}

fn socket_address(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let v4 = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(v4.sin_port)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let v6 = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddrV6::new(ip, u16::from_be(v6.sin6_port), v6.sin6_flowinfo, v6.sin6_scope_id).into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn receiver() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert!(enable_gro(&socket), "this kernel joins UDP runs");
        socket
    }

    #[tokio::test]
    async fn a_segmented_message_arrives_as_one_run_of_its_datagrams() {
        let socket = receiver().await;
        let to = socket.local_addr().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(udp_batch::can_segment(&sender));
        let sent: Vec<Vec<u8>> = vec![vec![1; 300], vec![2; 300], vec![3; 120]];
        let batch: Vec<(SocketAddr, Vec<u8>)> = sent.iter().map(|d| (to, d.clone())).collect();
        assert_eq!(udp_batch::send_some(&sender, &batch, true).unwrap(), 3);

        let mut buffer = vec![0; RUN_BUFFER_BYTES];
        let run = receive(&socket, &mut buffer).await.unwrap();
        assert_eq!(run, Run { len: 720, source: sender.local_addr().unwrap(), segment: Some(300) });
        let received: Vec<Vec<u8>> = run.datagrams(&buffer).map(<[u8]>::to_vec).collect();
        assert_eq!(received, sent);
    }

    #[tokio::test]
    async fn a_lone_datagram_is_a_run_of_one() {
        let socket = receiver().await;
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"stun or dtls", socket.local_addr().unwrap()).unwrap();
        let mut buffer = vec![0; RUN_BUFFER_BYTES];
        let run = receive(&socket, &mut buffer).await.unwrap();
        assert_eq!(run.segment, None);
        assert_eq!(run.datagrams(&buffer).collect::<Vec<_>>(), vec![b"stun or dtls".as_slice()]);
    }
}
