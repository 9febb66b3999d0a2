//! Many datagrams in few system calls: `sendmmsg(2)`, where a run of datagrams to one
//! destination can go as one message that the kernel cuts back into those datagrams (UDP
//! segmentation offload, Linux 4.18 and later). The several packets of a video frame for one
//! viewer then pass through the network stack once rather than once each.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};

/// `UDP_SEGMENT` of linux/udp.h (the libc crate defines it for uClibc only).
const UDP_SEGMENT: libc::c_int = 103;
/// Messages in one `sendmmsg` call.
const MAX_MESSAGES: usize = 64;
/// Datagrams the kernel cuts one message into at most (`UDP_MAX_SEGMENTS`), and the bytes of
/// such a message (its UDP length field is 16 bits).
const MAX_SEGMENTS: usize = 64;
const MAX_SEGMENTED_BYTES: usize = 60_000;

/// Whether the kernel can cut messages sent on `socket` into datagrams.
pub fn can_segment(socket: &UdpSocket) -> bool {
    set_udp_option(socket.as_raw_fd(), UDP_SEGMENT, 0)
}

/// Sets the `SOL_UDP` option `option` of the socket `fd` to `value`; false where the kernel
/// does not know it.
pub fn set_udp_option(fd: RawFd, option: libc::c_int, value: libc::c_int) -> bool {
    // SAFETY: an option value that outlives the call; a bad descriptor is only an error.
    unsafe {
        libc::setsockopt(fd, libc::SOL_UDP, option, (&value as *const libc::c_int).cast(), std::mem::size_of::<libc::c_int>() as libc::socklen_t)
            == 0
    }
}

/// The messages of one call: with `segment`, consecutive datagrams to one destination that are
/// as long as the first of them, but for the last, which may be shorter; else one each.
fn messages(datagrams: &[(SocketAddr, Vec<u8>)], segment: bool) -> Vec<Range<usize>> {
    let mut messages = Vec::new();
    let mut start = 0;
    while start < datagrams.len() && messages.len() < MAX_MESSAGES {
        let (to, first) = &datagrams[start];
        let (size, mut bytes, mut end) = (first.len(), first.len(), start + 1);
        while segment && size > 0 && end < datagrams.len() && end - start < MAX_SEGMENTS {
            let (next_to, next) = &datagrams[end];
            if next_to != to || next.len() > size || bytes + next.len() > MAX_SEGMENTED_BYTES {
                break;
            }
            bytes += next.len();
            end += 1;
            if next.len() < size {
                break;
            }
        }
        messages.push(start..end);
        start = end;
    }
    messages
}

/// A message the kernel refused: why, how many datagrams it held and whether it was cut.
#[derive(Debug)]
pub struct Refused {
    pub error: io::Error,
    pub datagrams: usize,
    pub segmented: bool,
}

/// One `sendmmsg` call for the first datagrams of `datagrams`; how many of them the kernel took.
/// An error is about the first message: nothing was sent.
pub fn send_some(socket: &UdpSocket, datagrams: &[(SocketAddr, Vec<u8>)], segment: bool) -> Result<usize, Refused> {
    /// Room for one control message carrying a u16, aligned as `cmsghdr` must be.
    #[repr(C, align(8))]
    #[derive(Clone, Copy)]
    struct Control([u8; 32]);

    let messages = messages(datagrams, segment);
    let covered = messages.last().map_or(0, |m| m.end);
    let addresses: Vec<socket2::SockAddr> = messages.iter().map(|m| socket2::SockAddr::from(datagrams[m.start].0)).collect();
    let mut iovecs: Vec<libc::iovec> = datagrams[..covered]
        .iter()
        .map(|(_, data)| libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() })
        .collect();
    let mut controls = vec![Control([0; 32]); messages.len()];
    // SAFETY: CMSG_SPACE only computes a size.
    let control_len = unsafe { libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) } as usize;
    let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(messages.len());
    for ((message, address), control) in messages.iter().zip(&addresses).zip(controls.iter_mut()) {
        // SAFETY: mmsghdr is plain data; every field the kernel reads is set below, and the
        // pointers go to addresses, iovecs, controls and payloads that outlive the call.
        let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
        header.msg_hdr.msg_name = address.as_ptr() as *mut libc::c_void;
        header.msg_hdr.msg_namelen = address.len();
        header.msg_hdr.msg_iov = iovecs[message.start..].as_mut_ptr();
        header.msg_hdr.msg_iovlen = message.len();
        if message.len() > 1 {
            header.msg_hdr.msg_control = control.0.as_mut_ptr().cast();
            header.msg_hdr.msg_controllen = control_len;
            let segment_size = datagrams[message.start].1.len() as u16;
            // SAFETY: the control buffer has room for one header and a u16, and is aligned.
            unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(&header.msg_hdr);
                (*cmsg).cmsg_level = libc::SOL_UDP;
                (*cmsg).cmsg_type = UDP_SEGMENT;
                (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment_size);
            }
        }
        headers.push(header);
    }
    // SAFETY: see above.
    let sent = unsafe { libc::sendmmsg(socket.as_raw_fd(), headers.as_mut_ptr(), headers.len() as libc::c_uint, libc::MSG_DONTWAIT) };
    if sent < 0 {
        let first = messages.first().map_or(0, |m| m.len());
        return Err(Refused { error: io::Error::last_os_error(), datagrams: first, segmented: first > 1 });
    }
    Ok(messages[..sent as usize].iter().map(|m| m.len()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn to(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn runs_to_one_destination_of_one_size_go_together_ended_by_a_shorter_one() {
        let batch = vec![
            (to(1), vec![0; 100]),
            (to(1), vec![0; 100]),
            (to(1), vec![0; 40]), // shorter: ends the run
            (to(1), vec![0; 100]),
            (to(2), vec![0; 100]), // another destination
            (to(2), vec![0; 120]), // longer than the first of its run
            (to(3), vec![]),
            (to(3), vec![]), // empty datagrams are never cut
        ];
        assert_eq!(messages(&batch, true), vec![0..3, 3..4, 4..5, 5..6, 6..7, 7..8]);
        assert_eq!(messages(&batch, false).len(), batch.len());
        let long: Vec<_> = (0..100).map(|_| (to(1), vec![0; 1200])).collect();
        assert_eq!(messages(&long, true), vec![0..50, 50..100], "within the bytes of one message");
    }

    #[test]
    fn the_receiver_gets_each_datagram_of_a_cut_message_on_its_own_in_order() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(can_segment(&sender), "Linux 4.18 or later segments UDP");
        let destination = receiver.local_addr().unwrap();
        let mut batch: Vec<_> = (0..5u8).map(|i| (destination, vec![i; 1000])).collect();
        batch.push((destination, vec![9; 10]));
        assert_eq!(messages(&batch, true).len(), 1);
        assert_eq!(send_some(&sender, &batch, true).unwrap(), 6);
        let mut buffer = [0u8; 2048];
        for (_, expected) in &batch {
            let (len, _) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], expected.as_slice());
        }
    }
}
