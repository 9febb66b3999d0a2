//! Minimal RTCP (RFC 3550 §6) for a symmetric two-party SIP leg. SIP endpoints and SBCs expect periodic reports (for call
//! quality statistics, some as a sign of life), every compound packet must carry an SDES CNAME, and a BYE from the remote
//! is a hint that the call is over. Only that much: SR or RR with report blocks, SDES CNAME and BYE are written; incoming
//! compound packets are walked packet by packet, with SR, RR and BYE read and everything else passed on raw. For video,
//! keyframe requests (RFC 4585 PLI, RFC 5104 FIR) are written and recognized.

use super::packet::RTP_VERSION;
use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

pub const RTCP_SENDER_REPORT: u8 = 200;
pub const RTCP_RECEIVER_REPORT: u8 = 201;
pub const RTCP_SOURCE_DESCRIPTION: u8 = 202;
pub const RTCP_BYE: u8 = 203;
/// Payload-specific feedback (RFC 4585 §6.1); its count field is the feedback type.
pub const RTCP_PAYLOAD_FEEDBACK: u8 = 206;
const FEEDBACK_PLI: u8 = 1;
const FEEDBACK_FIR: u8 = 4;

const SDES_CNAME: u8 = 1;
const SENDER_INFO_LEN: usize = 20;
const REPORT_BLOCK_LEN: usize = 24;
/// What the 5-bit count field holds.
const MAX_COUNT: usize = 31;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECONDS: u64 = 2_208_988_800;

/// Wallclock time as RTCP carries it: seconds since 1900 and a binary fraction of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NtpTimestamp {
    pub seconds: u32,
    pub fraction: u32,
}

impl NtpTimestamp {
    /// Times before 1970 count as 1970; the seconds wrap in 2036 as NTP's own do.
    pub fn from_system_time(time: SystemTime) -> Self {
        let since_unix = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self {
            seconds: since_unix.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECONDS) as u32,
            fraction: ((u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000) as u32,
        }
    }

    /// The middle 32 bits, which a report block echoes as LSR.
    pub fn middle_bits(&self) -> u32 {
        self.seconds << 16 | self.fraction >> 16
    }
}

/// The sender information of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    pub ntp_timestamp: NtpTimestamp,
    /// The same instant as `ntp_timestamp` on the RTP clock of the stream.
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    /// Payload bytes sent, headers and padding not counted.
    pub octet_count: u32,
}

/// Reception statistics about one source (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Lost since the previous report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Since the start; 24 bits, signed (duplicates can make it negative), clamped when writing.
    pub cumulative_lost: i32,
    /// The highest sequence number received, with the count of wraps in the upper 16 bits.
    pub extended_highest_sequence: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle bits of the NTP timestamp of the last SR received from the source, 0 if none.
    pub last_sender_report: u32,
    /// Since that SR was received, in 1/65536 s.
    pub delay_since_last_sender_report: u32,
}

impl ReportBlock {
    fn write(&self, out: &mut Vec<u8>) {
        let cumulative_lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&(u32::from(self.fraction_lost) << 24 | cumulative_lost).to_be_bytes());
        out.extend_from_slice(&self.extended_highest_sequence.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sender_report.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sender_report.to_be_bytes());
    }

    fn read(block: &[u8; REPORT_BLOCK_LEN]) -> Self {
        let loss = be_u32(block, 4);
        Self {
            ssrc: be_u32(block, 0),
            fraction_lost: (loss >> 24) as u8,
            cumulative_lost: ((loss << 8) as i32) >> 8,
            extended_highest_sequence: be_u32(block, 8),
            jitter: be_u32(block, 12),
            last_sender_report: be_u32(block, 16),
            delay_since_last_sender_report: be_u32(block, 20),
        }
    }
}

/// Replaces the contents of `out` with a compound packet: an SR (with at most 31 report blocks) and an SDES with `cname`.
pub fn write_sender_report(ssrc: u32, sender_info: &SenderInfo, report_blocks: &[ReportBlock], cname: &str, out: &mut Vec<u8>) {
    out.clear();
    let report_blocks = &report_blocks[..report_blocks.len().min(MAX_COUNT)];
    let start = begin_packet(report_blocks.len(), RTCP_SENDER_REPORT, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&sender_info.ntp_timestamp.seconds.to_be_bytes());
    out.extend_from_slice(&sender_info.ntp_timestamp.fraction.to_be_bytes());
    out.extend_from_slice(&sender_info.rtp_timestamp.to_be_bytes());
    out.extend_from_slice(&sender_info.packet_count.to_be_bytes());
    out.extend_from_slice(&sender_info.octet_count.to_be_bytes());
    report_blocks.iter().for_each(|block| block.write(out));
    finish_packet(start, out);
    append_cname(ssrc, cname, out);
}

/// Replaces the contents of `out` with a compound packet: an RR (with at most 31 report blocks) and an SDES with `cname`.
/// For when nothing was sent since the last report.
pub fn write_receiver_report(ssrc: u32, report_blocks: &[ReportBlock], cname: &str, out: &mut Vec<u8>) {
    out.clear();
    let report_blocks = &report_blocks[..report_blocks.len().min(MAX_COUNT)];
    let start = begin_packet(report_blocks.len(), RTCP_RECEIVER_REPORT, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    report_blocks.iter().for_each(|block| block.write(out));
    finish_packet(start, out);
    append_cname(ssrc, cname, out);
}

/// Appends a BYE to a compound packet written by `write_sender_report` or `write_receiver_report` (a BYE goes last and
/// never alone). The reason is cut to 255 bytes.
pub fn append_rtcp_bye(ssrc: u32, reason: Option<&str>, out: &mut Vec<u8>) {
    let start = begin_packet(1, RTCP_BYE, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(reason) = reason {
        let reason = truncated(reason, 255);
        out.push(reason.len() as u8);
        out.extend_from_slice(reason.as_bytes());
        pad_to_word(start, out);
    }
    finish_packet(start, out);
}

/// What one of our sources has sent, for its reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SentCounts {
    pub packets: u32,
    pub octets: u32,
}

impl SentCounts {
    /// One RTP packet with `payload_len` bytes of payload went out.
    pub fn count(&mut self, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
    }

    /// Replaces the contents of `out` with our report: a sender report while we send and have
    /// sent something (`rtp_timestamp` the media time now), else a receiver report (RFC 3550 §6.4).
    pub fn write_report(&self, ssrc: u32, rtp_timestamp: u32, sending: bool, cname: &str, out: &mut Vec<u8>) {
        if self.packets > 0 && sending {
            let info = SenderInfo {
                ntp_timestamp: NtpTimestamp::from_system_time(SystemTime::now()),
                rtp_timestamp,
                packet_count: self.packets,
                octet_count: self.octets,
            };
            write_sender_report(ssrc, &info, &[], cname, out);
        } else {
            write_receiver_report(ssrc, &[], cname, out);
        }
    }
}

/// Appends a Picture Loss Indication and a Full Intra Request (number `fir_sequence`) for `media_ssrc` to a compound
/// packet written by `write_receiver_report` or `write_sender_report`: phones answer one or the other with a keyframe.
pub fn append_keyframe_request(ssrc: u32, media_ssrc: u32, fir_sequence: u8, out: &mut Vec<u8>) {
    let start = begin_packet(usize::from(FEEDBACK_PLI), RTCP_PAYLOAD_FEEDBACK, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
    finish_packet(start, out);
    // FIR: the media source field is unused (0); the request names the SSRC in its FCI entry.
    let start = begin_packet(usize::from(FEEDBACK_FIR), RTCP_PAYLOAD_FEEDBACK, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
    out.extend_from_slice(&[fir_sequence, 0, 0, 0]);
    finish_packet(start, out);
}

/// Whether an RTCP packet asks the sender for a keyframe (PLI or FIR).
pub fn is_keyframe_request(packet: &RtcpPacket<'_>) -> bool {
    matches!(packet, RtcpPacket::Other { packet_type: RTCP_PAYLOAD_FEEDBACK, count: FEEDBACK_PLI | FEEDBACK_FIR, .. })
}

fn append_cname(ssrc: u32, cname: &str, out: &mut Vec<u8>) {
    let start = begin_packet(1, RTCP_SOURCE_DESCRIPTION, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    let cname = truncated(cname, 255);
    out.push(SDES_CNAME);
    out.push(cname.len() as u8);
    out.extend_from_slice(cname.as_bytes());
    // The item list ends with a null octet, and nulls fill up to the next 32-bit boundary.
    out.push(0);
    pad_to_word(start, out);
    finish_packet(start, out);
}

fn begin_packet(count: usize, packet_type: u8, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[RTP_VERSION << 6 | count as u8, packet_type, 0, 0]);
    start
}

/// Fills in the length: 32-bit words after the first.
fn finish_packet(start: usize, out: &mut [u8]) {
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn pad_to_word(start: usize, out: &mut Vec<u8>) {
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
}

fn truncated(text: &str, max_len: usize) -> &str {
    let end = (0..=text.len().min(max_len)).rev().find(|&end| text.is_char_boundary(end)).unwrap_or(0);
    &text[..end]
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpError {
    /// A header, length or count runs past the end of the datagram or of its packet.
    Truncated,
    UnsupportedVersion(u8),
    /// The padding bit is set but the count in the last byte is 0 or longer than the packet.
    BadPadding(u8),
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("RTCP packet truncated"),
            Self::UnsupportedVersion(version) => write!(f, "RTCP version {version}, expected {RTP_VERSION}"),
            Self::BadPadding(count) => write!(f, "RTCP padding count {count} does not fit the packet"),
        }
    }
}

impl std::error::Error for RtcpError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    SenderReport {
        ssrc: u32,
        sender_info: SenderInfo,
        report_blocks: ReportBlocks<'a>,
    },
    ReceiverReport {
        ssrc: u32,
        report_blocks: ReportBlocks<'a>,
    },
    Bye(Bye<'a>),
    /// SDES, APP, feedback and anything else: the header's count field and what follows the 4-byte header, unpadded.
    Other {
        packet_type: u8,
        count: u8,
        body: &'a [u8],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    bytes: &'a [u8],
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.bytes.split_first_chunk::<REPORT_BLOCK_LEN>()?;
        self.bytes = rest;
        Some(ReportBlock::read(block))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    sources: &'a [u8],
    reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    /// The SSRCs leaving.
    pub fn sources(&self) -> impl Iterator<Item = u32> + 'a {
        self.sources.chunks_exact(4).map(|source| be_u32(source, 0))
    }

    pub fn reason(&self) -> Option<Cow<'a, str>> {
        self.reason.map(String::from_utf8_lossy)
    }
}

/// Walks the packets of a compound RTCP datagram. After an error the walk ends: what follows cannot be trusted.
pub fn parse_rtcp(datagram: &[u8]) -> RtcpPackets<'_> {
    RtcpPackets { rest: datagram }
}

#[derive(Debug, Clone)]
pub struct RtcpPackets<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RtcpPackets<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match parse_packet(self.rest) {
            Ok((packet, len)) => {
                self.rest = &self.rest[len..];
                Some(Ok(packet))
            }
            Err(error) => {
                self.rest = &[];
                Some(Err(error))
            }
        }
    }
}

/// One packet from the start of `bytes`, and its length.
fn parse_packet(bytes: &[u8]) -> Result<(RtcpPacket<'_>, usize), RtcpError> {
    let &[first, packet_type, length_high, length_low, ..] = bytes else {
        return Err(RtcpError::Truncated);
    };
    let version = first >> 6;
    if version != RTP_VERSION {
        return Err(RtcpError::UnsupportedVersion(version));
    }
    let len = (usize::from(u16::from_be_bytes([length_high, length_low])) + 1) * 4;
    let packet = bytes.get(..len).ok_or(RtcpError::Truncated)?;
    let mut body = &packet[4..];
    if first & 0x20 != 0 {
        let padding = packet[len - 1];
        if padding == 0 || usize::from(padding) > body.len() {
            return Err(RtcpError::BadPadding(padding));
        }
        body = &body[..body.len() - usize::from(padding)];
    }
    let count = first & 0x1f;
    let blocks_len = usize::from(count) * REPORT_BLOCK_LEN;
    let parsed = match packet_type {
        RTCP_SENDER_REPORT => {
            let fixed = body.get(..4 + SENDER_INFO_LEN).ok_or(RtcpError::Truncated)?;
            let blocks = body.get(4 + SENDER_INFO_LEN..4 + SENDER_INFO_LEN + blocks_len).ok_or(RtcpError::Truncated)?;
            let sender_info = SenderInfo {
                ntp_timestamp: NtpTimestamp { seconds: be_u32(fixed, 4), fraction: be_u32(fixed, 8) },
                rtp_timestamp: be_u32(fixed, 12),
                packet_count: be_u32(fixed, 16),
                octet_count: be_u32(fixed, 20),
            };
            RtcpPacket::SenderReport { ssrc: be_u32(fixed, 0), sender_info, report_blocks: ReportBlocks { bytes: blocks } }
        }
        RTCP_RECEIVER_REPORT => {
            let fixed = body.get(..4).ok_or(RtcpError::Truncated)?;
            let blocks = body.get(4..4 + blocks_len).ok_or(RtcpError::Truncated)?;
            RtcpPacket::ReceiverReport { ssrc: be_u32(fixed, 0), report_blocks: ReportBlocks { bytes: blocks } }
        }
        RTCP_BYE => {
            let sources_len = usize::from(count) * 4;
            let sources = body.get(..sources_len).ok_or(RtcpError::Truncated)?;
            let reason = match body.get(sources_len..) {
                Some([reason_len, rest @ ..]) if *reason_len > 0 => Some(rest.get(..usize::from(*reason_len)).ok_or(RtcpError::Truncated)?),
                _ => None,
            };
            RtcpPacket::Bye(Bye { sources, reason })
        }
        _ => RtcpPacket::Other { packet_type, count, body },
    };
    Ok((parsed, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::time::Duration;

    const OURS: u32 = 0x1111_2222;
    const THEIRS: u32 = 0x3333_4444;

    fn sender_info() -> SenderInfo {
        SenderInfo {
            ntp_timestamp: NtpTimestamp::from_system_time(UNIX_EPOCH + Duration::from_millis(1_700_000_000_250)),
            rtp_timestamp: 123_456,
            packet_count: 500,
            octet_count: 80_000,
        }
    }

    fn report_block() -> ReportBlock {
        ReportBlock {
            ssrc: THEIRS,
            fraction_lost: 12,
            cumulative_lost: -3,
            extended_highest_sequence: 0x0001_0005,
            jitter: 40,
            last_sender_report: 0xabcd_0123,
            delay_since_last_sender_report: 0x0001_8000,
        }
    }

    #[test]
    fn ntp_timestamps_count_from_1900() {
        assert_eq!(NtpTimestamp::from_system_time(UNIX_EPOCH), NtpTimestamp { seconds: 2_208_988_800, fraction: 0 });
        let later = NtpTimestamp::from_system_time(UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(later, NtpTimestamp { seconds: 2_208_988_801, fraction: 0x8000_0000 });
        assert_eq!(later.middle_bits(), (2_208_988_801_u32 & 0xffff) << 16 | 0x8000);
        let before_1970 = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(NtpTimestamp::from_system_time(before_1970).seconds, 2_208_988_800);
    }

    #[test]
    fn a_sender_report_with_cname_round_trips() {
        let mut buffer = Vec::new();
        write_sender_report(OURS, &sender_info(), &[report_block()], "ferrophone@example", &mut buffer);
        // SR: header, SSRC, sender info, one block: 52 bytes, length 12. SDES: header, SSRC, CNAME item of 2 + 18, null, pad: 32.
        assert_eq!(buffer[..4], [0x81, 200, 0, 12]);
        assert_eq!(buffer[52..56], [0x81, 202, 0, 7]);
        assert_eq!(buffer[60..62], [1, 18]);
        assert_eq!(buffer[80..], [0, 0, 0, 0]);

        let packets: Vec<_> = parse_rtcp(&buffer).collect::<Result<_, _>>().unwrap();
        let [RtcpPacket::SenderReport { ssrc, sender_info: info, report_blocks }, RtcpPacket::Other { packet_type: RTCP_SOURCE_DESCRIPTION, count: 1, body }] =
            packets[..]
        else {
            panic!("unexpected packets {packets:?}");
        };
        assert_eq!((ssrc, info), (OURS, sender_info()));
        assert_eq!(report_blocks.collect::<Vec<_>>(), [report_block()]);
        assert_eq!(body[..4], OURS.to_be_bytes());
        assert_eq!(&body[6..24], b"ferrophone@example");
    }

    #[test]
    fn a_source_reports_as_a_sender_only_while_it_sends() {
        let mut sent = SentCounts::default();
        let mut buffer = Vec::new();
        sent.write_report(OURS, 1234, true, "a", &mut buffer);
        assert_eq!(buffer[1], RTCP_RECEIVER_REPORT, "nothing sent yet");
        sent.count(160);
        sent.count(160);
        sent.write_report(OURS, 1234, true, "a", &mut buffer);
        let Some(Ok(RtcpPacket::SenderReport { sender_info, .. })) = parse_rtcp(&buffer).next() else { panic!("{buffer:?}") };
        assert_eq!((sender_info.rtp_timestamp, sender_info.packet_count, sender_info.octet_count), (1234, 2, 320));
        sent.write_report(OURS, 1234, false, "a", &mut buffer);
        assert_eq!(buffer[1], RTCP_RECEIVER_REPORT, "on hold");
    }

    #[test]
    fn keyframe_requests_are_pli_and_fir_after_a_report() {
        let mut buffer = Vec::new();
        write_receiver_report(OURS, &[], "a", &mut buffer);
        let report_len = buffer.len();
        append_keyframe_request(OURS, THEIRS, 7, &mut buffer);
        // PLI: header, sender SSRC, media SSRC (length 2); FIR: header, sender, 0, FCI of SSRC and sequence (length 4).
        assert_eq!(buffer[report_len..report_len + 4], [0x81, 206, 0, 2]);
        assert_eq!(buffer[report_len + 12..report_len + 16], [0x84, 206, 0, 4]);
        assert_eq!(buffer[buffer.len() - 4..], [7, 0, 0, 0]);
        let packets: Vec<_> = parse_rtcp(&buffer).collect::<Result<_, _>>().unwrap();
        assert_eq!(packets.iter().filter(|p| is_keyframe_request(p)).count(), 2);
        assert!(!packets[..2].iter().any(is_keyframe_request), "a report asks for nothing");
    }

    #[test]
    fn a_receiver_report_and_bye_round_trip() {
        let mut buffer = vec![9; 100]; // leftovers of an earlier use
        write_receiver_report(OURS, &[], "a", &mut buffer);
        assert_eq!(buffer[..8], [0x80, 201, 0, 1, 0x11, 0x11, 0x22, 0x22]);
        append_rtcp_bye(OURS, Some("hangup"), &mut buffer);
        assert_eq!(buffer.len() % 4, 0);
        let packets: Vec<_> = parse_rtcp(&buffer).collect::<Result<_, _>>().unwrap();
        assert_eq!(packets.len(), 3);
        assert!(matches!(packets[0], RtcpPacket::ReceiverReport { ssrc: OURS, report_blocks } if report_blocks.count() == 0));
        let RtcpPacket::Bye(bye) = packets[2] else { panic!("no BYE in {packets:?}") };
        assert_eq!(bye.sources().collect::<Vec<_>>(), [OURS]);
        assert_eq!(bye.reason().as_deref(), Some("hangup"));

        write_receiver_report(OURS, &[report_block(); 40], "a", &mut buffer);
        append_rtcp_bye(OURS, None, &mut buffer);
        let packets: Vec<_> = parse_rtcp(&buffer).collect::<Result<_, _>>().unwrap();
        assert!(matches!(packets[0], RtcpPacket::ReceiverReport { report_blocks, .. } if report_blocks.count() == 31));
        assert!(matches!(packets[2], RtcpPacket::Bye(bye) if bye.reason().is_none() && bye.sources().count() == 1));
    }

    #[test]
    fn cumulative_loss_is_24_bits_signed() {
        let mut buffer = Vec::new();
        for (written, read) in [(-3, -3), (0x7f_ffff, 0x7f_ffff), (0x100_0000, 0x7f_ffff), (-0x100_0000, -0x80_0000)] {
            write_receiver_report(OURS, &[ReportBlock { cumulative_lost: written, ..report_block() }], "a", &mut buffer);
            let Some(Ok(RtcpPacket::ReceiverReport { mut report_blocks, .. })) = parse_rtcp(&buffer).next() else { panic!() };
            let block = report_blocks.next().unwrap();
            assert_eq!((block.cumulative_lost, block.fraction_lost), (read, 12));
        }
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let mut buffer = Vec::new();
        write_receiver_report(OURS, &[], &"é".repeat(200), &mut buffer);
        assert_eq!(buffer[17], 254);
        assert!(parse_rtcp(&buffer).all(|packet| packet.is_ok()));
    }

    #[test]
    fn other_packets_and_padding_pass_through() {
        // A padded RR with no blocks, then an RTPFB (generic NACK) packet.
        let datagram = [0xa0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        let packets: Vec<_> = parse_rtcp(&datagram).collect::<Result<_, _>>().unwrap();
        assert!(matches!(packets[0], RtcpPacket::ReceiverReport { ssrc: 1, .. }));
        assert_eq!(packets[1], RtcpPacket::Other { packet_type: 205, count: 1, body: &[0, 0, 0, 1, 0, 0, 0, 2] });
    }

    #[test]
    fn bad_packets_end_the_walk_with_an_error() {
        let mut buffer = Vec::new();
        write_sender_report(OURS, &sender_info(), &[report_block()], "x", &mut buffer);
        assert_eq!(parse_rtcp(&buffer[..51]).collect::<Vec<_>>(), [Err(RtcpError::Truncated)]);
        let mut lying_count = buffer.clone();
        lying_count[0] = 0x82; // two report blocks claimed, one present
        assert_eq!(parse_rtcp(&lying_count).next(), Some(Err(RtcpError::Truncated)));
        let mut after_good = buffer.clone();
        after_good.extend_from_slice(&[0x40, 200, 0, 0]);
        let walked: Vec<_> = parse_rtcp(&after_good).collect();
        assert_eq!(walked.len(), 3);
        assert_eq!(walked[2], Err(RtcpError::UnsupportedVersion(1)));
        assert_eq!(parse_rtcp(&[0xa0, 201, 0, 0]).next(), Some(Err(RtcpError::BadPadding(0))));
        assert_eq!(parse_rtcp(&[0x81, 203, 0, 0]).next(), Some(Err(RtcpError::Truncated)));
        assert_eq!(parse_rtcp(&[0x81, 203, 0, 2, 0, 0, 0, 1, 9, b'a', 0, 0]).next(), Some(Err(RtcpError::Truncated)));
        assert_eq!(parse_rtcp(&[0x81]).next(), Some(Err(RtcpError::Truncated)));
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = StdRng::seed_from_u64(0xc0ffee);
        let mut valid = Vec::new();
        write_sender_report(OURS, &sender_info(), &[report_block()], "ferrophone", &mut valid);
        append_rtcp_bye(OURS, Some("bye"), &mut valid);
        for round in 0..20_000 {
            let datagram: Vec<u8> = if round % 2 == 0 {
                let len = rng.random_range(0..80);
                (0..len).map(|_| rng.random()).collect()
            } else {
                // A valid compound with a few bytes changed and maybe cut short.
                let mut mutated = valid.clone();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..mutated.len());
                    mutated[at] = rng.random();
                }
                mutated.truncate(rng.random_range(0..=valid.len()));
                mutated
            };
            for packet in parse_rtcp(&datagram).flatten() {
                match packet {
                    RtcpPacket::SenderReport { report_blocks, .. } | RtcpPacket::ReceiverReport { report_blocks, .. } => {
                        report_blocks.for_each(drop);
                    }
                    RtcpPacket::Bye(bye) => {
                        bye.sources().for_each(drop);
                        let _ = bye.reason();
                    }
                    RtcpPacket::Other { .. } => {}
                }
            }
        }
    }
}
