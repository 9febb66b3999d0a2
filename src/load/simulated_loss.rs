//! A lossy network in front of a client: every nth packet of its video is dropped on arrival,
//! so that the server has to answer NACKs from its resend buffer.

use super::rtp_counter::rtp_ssrc;

/// RTP longer than this is taken for video: audio packets are far shorter.
const VIDEO_MIN_LEN: usize = 300;

#[derive(Debug)]
pub struct SimulatedLoss {
    nth: u32,
    /// The SSRC that first sent video: retransmissions come on another one (RTX) and pass.
    video_ssrc: Option<u32>,
    seen: u32,
    pub dropped: u32,
}

impl SimulatedLoss {
    pub fn every(nth: u32) -> Self {
        SimulatedLoss { nth: nth.max(2), video_ssrc: None, seen: 0, dropped: 0 }
    }

    /// Whether `datagram` (SRTP headers are in the clear) is lost on the way.
    pub fn drops(&mut self, datagram: &[u8]) -> bool {
        let Some(ssrc) = rtp_ssrc(datagram).filter(|_| datagram.len() >= VIDEO_MIN_LEN) else { return false };
        if *self.video_ssrc.get_or_insert(ssrc) != ssrc {
            return false;
        }
        self.seen += 1;
        let drop = self.seen.is_multiple_of(self.nth);
        self.dropped += u32::from(drop);
        drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(ssrc: u32, len: usize) -> Vec<u8> {
        let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.resize(len, 0);
        p
    }

    #[test]
    fn every_nth_video_packet_is_lost_but_not_audio_rtcp_or_retransmissions() {
        let mut loss = SimulatedLoss::every(3);
        let lost: Vec<bool> = (0..6).map(|_| loss.drops(&rtp(7, 1000))).collect();
        assert_eq!(lost, [false, false, true, false, false, true]);
        assert!(!loss.drops(&rtp(8, 1000)), "a retransmission");
        assert!(!loss.drops(&rtp(7, 100)), "audio");
        assert!(!loss.drops(&[0x80, 200, 0, 6, 0, 0, 0, 7]), "RTCP");
        assert_eq!(loss.dropped, 2);
    }
}
