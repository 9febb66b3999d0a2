//! Just enough STUN (RFC 8489) to route a datagram on the shared media port: is it STUN, and
//! which local ICE username fragment does its USERNAME name. Integrity is checked later, by the
//! peer's ICE agent.

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const HEADER_LEN: usize = 20;
const USERNAME: u16 = 0x0006;

/// RFC 7983 demultiplexing: STUN messages start with a byte 0..=3 and carry the magic cookie.
pub fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER_LEN && datagram[0] < 4 && datagram[4..8] == MAGIC_COOKIE
}

/// The local ufrag of a binding request: the USERNAME is `<receiver ufrag>:<sender ufrag>`.
pub fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    if !is_stun(datagram) {
        return None;
    }
    let declared = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
    let end = (HEADER_LEN + declared).min(datagram.len());
    let mut at = HEADER_LEN;
    while at + 4 <= end {
        let kind = u16::from_be_bytes([datagram[at], datagram[at + 1]]);
        let len = u16::from_be_bytes([datagram[at + 2], datagram[at + 3]]) as usize;
        let value = datagram.get(at + 4..at + 4 + len)?;
        if kind == USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next().filter(|u| !u.is_empty());
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding_request(username: &[u8]) -> Vec<u8> {
        let mut attrs = Vec::new();
        // An attribute before USERNAME, with padding, to exercise the walk.
        attrs.extend_from_slice(&[0x80, 0x2a, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
        attrs.extend_from_slice(&USERNAME.to_be_bytes());
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username);
        attrs.resize(attrs.len().div_ceil(4) * 4, 0);
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(&[7; 12]);
        msg.extend_from_slice(&attrs);
        msg
    }

    #[test]
    fn finds_the_local_ufrag() {
        let msg = binding_request(b"srvUfrag:browserUfrag");
        assert!(is_stun(&msg));
        assert_eq!(local_ufrag(&msg), Some("srvUfrag"));
    }

    #[test]
    fn ignores_other_protocols_and_garbage() {
        assert!(!is_stun(&[0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        assert!(!is_stun(&[22, 254, 253]));
        assert_eq!(local_ufrag(&[0u8; 3]), None);
        let mut truncated = binding_request(b"a:b");
        truncated.truncate(26);
        assert_eq!(local_ufrag(&truncated), None);
        let mut lying = binding_request(b"a:b");
        lying[2] = 0xff;
        assert_eq!(local_ufrag(&lying), Some("a"));
    }
}
