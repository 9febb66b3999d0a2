//! Counts RTP packets per SSRC from their clear-text headers (SRTP encrypts only the payload),
//! so a load viewer can measure loss without decrypting.

use std::collections::HashMap;

/// The SSRC of `datagram` when it is RTP (version 2, not an RTCP packet type); `None` for RTCP,
/// STUN, DTLS and anything else.
pub fn rtp_ssrc(datagram: &[u8]) -> Option<u32> {
    let is_rtp = datagram.len() >= 12 && (128..192).contains(&datagram[0]) && !(192..224).contains(&datagram[1]);
    is_rtp.then(|| u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]))
}

#[derive(Default)]
pub struct RtpCounter {
    streams: HashMap<u32, SeqTracker>,
}

#[derive(Default)]
struct SeqTracker {
    first: i64,
    highest: i64,
    received: u64,
}

impl RtpCounter {
    /// Counts `datagram` if it is RTP (true); RTCP and everything else is left alone (false).
    pub fn count(&mut self, datagram: &[u8]) -> bool {
        let Some(ssrc) = rtp_ssrc(datagram) else { return false };
        let seq = u16::from_be_bytes([datagram[2], datagram[3]]);
        let tracker = self.streams.entry(ssrc).or_default();
        if tracker.received == 0 {
            tracker.first = i64::from(seq);
            tracker.highest = i64::from(seq);
        } else {
            // Extend the 16-bit sequence number to the value nearest the highest seen.
            let base = tracker.highest & !0xffff;
            let candidates = [base - 0x10000 + i64::from(seq), base + i64::from(seq), base + 0x10000 + i64::from(seq)];
            let extended = candidates.into_iter().min_by_key(|c| (c - tracker.highest).abs()).unwrap();
            tracker.highest = tracker.highest.max(extended);
        }
        tracker.received += 1;
        true
    }

    /// (received, expected) over every SSRC.
    pub fn totals(&self) -> (u64, u64) {
        self.streams.values().fold((0, 0), |(r, e), t| (r + t.received, e + (t.highest - t.first + 1) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&ssrc.to_be_bytes());
        p
    }

    #[test]
    fn counts_loss_across_wraparound() {
        let mut c = RtpCounter::default();
        for seq in [65530u16, 65531, 65533, 65534, 65535, 0, 1, 3] {
            assert!(c.count(&rtp(seq, 7)));
        }
        assert_eq!(c.totals(), (8, 10));
        assert!(!c.count(&[0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), "RTCP is not counted");
        assert!(!c.count(&[0x00, 0x01, 0, 0]), "STUN is not counted");
    }
}
