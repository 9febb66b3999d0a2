//! RTP packets (RFC 3550 §5.1) as they cross a SIP leg's UDP socket: a datagram read into its header fields and payload,
//! a packet written into a buffer the caller reuses (50 packets a second per call, so no allocation each), and RTP told
//! from RTCP when both share one port (RFC 5761).

use std::fmt;

pub const RTP_VERSION: u8 = 2;
/// The fixed header, without CSRCs or extension.
pub const RTP_HEADER_LEN: usize = 12;

/// The header fields a media leg acts on; CSRCs and header extensions are skipped when parsing and never written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    pub marker: bool,
    /// 7 bits; higher bits are dropped when writing.
    pub payload_type: u8,
    pub sequence_number: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A parsed datagram, borrowing its payload (padding removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    TooShort {
        len: usize,
    },
    UnsupportedVersion(u8),
    /// The CSRC list or the header extension runs past the end of the datagram.
    TruncatedHeader,
    /// The padding bit is set but the count in the last byte is 0 or longer than the payload.
    BadPadding(u8),
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(f, "RTP packet of {len} bytes is shorter than the fixed header"),
            Self::UnsupportedVersion(version) => write!(f, "RTP version {version}, expected {RTP_VERSION}"),
            Self::TruncatedHeader => f.write_str("RTP CSRC list or header extension runs past the end of the packet"),
            Self::BadPadding(count) => write!(f, "RTP padding count {count} does not fit the packet"),
        }
    }
}

impl std::error::Error for RtpError {}

impl<'a> RtpPacket<'a> {
    pub fn parse(datagram: &'a [u8]) -> Result<Self, RtpError> {
        let len = datagram.len();
        if len < RTP_HEADER_LEN {
            return Err(RtpError::TooShort { len });
        }
        let version = datagram[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::UnsupportedVersion(version));
        }
        let has_padding = datagram[0] & 0x20 != 0;
        let has_extension = datagram[0] & 0x10 != 0;
        let csrc_count = usize::from(datagram[0] & 0x0f);
        let mut payload_start = RTP_HEADER_LEN + 4 * csrc_count;
        if has_extension {
            // 16 bits defined by profile, 16 bits length in 32-bit words not counting this 4-byte header.
            let extension = datagram.get(payload_start..payload_start + 4).ok_or(RtpError::TruncatedHeader)?;
            let words = usize::from(u16::from_be_bytes([extension[2], extension[3]]));
            payload_start += 4 + 4 * words;
        }
        if payload_start > len {
            return Err(RtpError::TruncatedHeader);
        }
        let mut payload_end = len;
        if has_padding {
            let count = datagram[len - 1];
            if count == 0 || usize::from(count) > len - payload_start {
                return Err(RtpError::BadPadding(count));
            }
            payload_end -= usize::from(count);
        }
        let header = RtpHeader {
            marker: datagram[1] & 0x80 != 0,
            payload_type: datagram[1] & 0x7f,
            sequence_number: u16::from_be_bytes([datagram[2], datagram[3]]),
            timestamp: u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]),
            ssrc: u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
        };
        Ok(Self { header, payload: &datagram[payload_start..payload_end] })
    }
}

impl RtpHeader {
    /// Replaces the contents of `out` with this header (no CSRCs, extension or padding) and `payload`.
    pub fn write_packet(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(RTP_HEADER_LEN + payload.len());
        out.extend_from_slice(&self.to_bytes());
        out.extend_from_slice(payload);
    }

    /// The header on the wire (no CSRCs, extension or padding).
    pub fn to_bytes(&self) -> [u8; RTP_HEADER_LEN] {
        let mut header = [0; RTP_HEADER_LEN];
        header[0] = RTP_VERSION << 6;
        header[1] = u8::from(self.marker) << 7 | (self.payload_type & 0x7f);
        header[2..4].copy_from_slice(&self.sequence_number.to_be_bytes());
        header[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        header[8..].copy_from_slice(&self.ssrc.to_be_bytes());
        header
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuxedPacketKind {
    Rtp,
    Rtcp,
}

/// What arrived on a port carrying both RTP and RTCP (RFC 5761 §4: a second byte of 192–223 is an RTCP packet type,
/// which RTP payload types avoid). `None` for datagrams too short to tell or not of version 2 (STUN, DTLS, garbage).
pub fn muxed_packet_kind(datagram: &[u8]) -> Option<MuxedPacketKind> {
    match datagram {
        [first, second, ..] if first >> 6 == RTP_VERSION => {
            Some(if (192..=223).contains(second) { MuxedPacketKind::Rtcp } else { MuxedPacketKind::Rtp })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const HEADER: RtpHeader = RtpHeader { marker: true, payload_type: 8, sequence_number: 0xfffe, timestamp: 0xdead_beef, ssrc: 0x0102_0304 };

    #[test]
    fn written_packets_parse_back() {
        let mut buffer = Vec::new();
        HEADER.write_packet(&[1, 2, 3], &mut buffer);
        assert_eq!(buffer, [0x80, 0x88, 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 1, 2, 3]);
        let packet = RtpPacket::parse(&buffer).unwrap();
        assert_eq!(packet, RtpPacket { header: HEADER, payload: &[1, 2, 3] });

        // The buffer is reused: no leftovers from the longer previous packet, and no new allocation.
        let capacity = buffer.capacity();
        let header = RtpHeader { marker: false, payload_type: 0x80 | 101, ..HEADER };
        header.write_packet(&[9], &mut buffer);
        assert_eq!(buffer.capacity(), capacity);
        assert_eq!(RtpPacket::parse(&buffer).unwrap(), RtpPacket { header: RtpHeader { payload_type: 101, ..header }, payload: &[9] });
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut datagram = vec![0x80 | 0x20 | 0x10 | 2, 0, 0, 7, 0, 0, 0, 160, 0, 0, 0, 1];
        datagram.extend_from_slice(&[0xaa; 8]); // two CSRCs
        datagram.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]); // one-byte-header extension, one word
        datagram.extend_from_slice(&[5, 6, 7]);
        datagram.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let packet = RtpPacket::parse(&datagram).unwrap();
        assert_eq!(packet.payload, [5, 6, 7]);
        assert_eq!((packet.header.sequence_number, packet.header.timestamp, packet.header.ssrc), (7, 160, 1));
        assert!(!packet.header.marker);
    }

    #[test]
    fn bad_packets_are_errors() {
        let fixed = [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(RtpPacket::parse(&fixed[..11]), Err(RtpError::TooShort { len: 11 }));
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::UnsupportedVersion(1)));
        let mut with_csrc = fixed;
        with_csrc[0] = 0x81;
        assert_eq!(RtpPacket::parse(&with_csrc), Err(RtpError::TruncatedHeader));
        let mut with_extension = fixed.to_vec();
        with_extension[0] = 0x90;
        with_extension.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(RtpPacket::parse(&with_extension), Err(RtpError::TruncatedHeader));
        let mut padded = fixed.to_vec();
        padded[0] = 0xa0;
        padded.extend_from_slice(&[1, 0]);
        assert_eq!(RtpPacket::parse(&padded), Err(RtpError::BadPadding(0)));
        padded[13] = 3;
        assert_eq!(RtpPacket::parse(&padded), Err(RtpError::BadPadding(3)));
        padded[13] = 2;
        assert_eq!(RtpPacket::parse(&padded).map(|packet| packet.payload.len()), Ok(0));
    }

    #[test]
    fn rtcp_is_told_from_rtp_on_a_muxed_port() {
        assert_eq!(muxed_packet_kind(&[0x80, 0]), Some(MuxedPacketKind::Rtp));
        assert_eq!(muxed_packet_kind(&[0x80, 0x80 | 101]), Some(MuxedPacketKind::Rtp));
        assert_eq!(muxed_packet_kind(&[0x81, 200, 0, 12]), Some(MuxedPacketKind::Rtcp));
        assert_eq!(muxed_packet_kind(&[0x80, 192]), Some(MuxedPacketKind::Rtcp));
        assert_eq!(muxed_packet_kind(&[0x80, 223]), Some(MuxedPacketKind::Rtcp));
        assert_eq!(muxed_packet_kind(&[0x80, 224]), Some(MuxedPacketKind::Rtp));
        assert_eq!(muxed_packet_kind(&[0x00, 0x01, 0, 0]), None); // STUN binding request
        assert_eq!(muxed_packet_kind(&[22, 0xfe]), None); // DTLS handshake
        assert_eq!(muxed_packet_kind(&[0x80]), None);
    }

    #[test]
    fn random_datagrams_never_panic() {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        for round in 0..20_000 {
            let len = rng.random_range(0..64);
            let mut datagram: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            // Most rounds look like version 2, so the deeper paths get exercised too.
            if round % 4 != 0 && !datagram.is_empty() {
                datagram[0] = 0x80 | (datagram[0] & 0x3f);
            }
            if let Ok(packet) = RtpPacket::parse(&datagram) {
                assert!(packet.payload.len() + RTP_HEADER_LEN <= datagram.len());
            }
            let _ = muxed_packet_kind(&datagram);
        }
    }
}
