//! H.264 over plain RTP for the SIP side of calls (RFC 6184, packetization mode 1): access
//! units in Annex B cut into single-NAL and FU-A packets, and read back from single-NAL,
//! STAP-A and FU-A packets.

use super::video_depacketizer::{Assembled, PayloadFormat, VideoDepacketizer};
use crate::media::h264::{nal_type, nal_units, NAL_IDR, NAL_PPS, NAL_SPS};

/// RTP payload bytes per packet: with the headers well inside a 1500-byte Ethernet MTU.
pub const MAX_VIDEO_PAYLOAD: usize = 1200;

const STAP_A: u8 = 24;
const FU_A: u8 = 28;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The RTP payloads of one access unit, in order; the last one carries the marker bit.
pub fn packetize_h264(annex_b: &[u8], max_payload: usize) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    for nal in nal_units(annex_b) {
        if nal.len() <= max_payload {
            payloads.push(nal.to_vec());
            continue;
        }
        // FU-A: the NAL header's F and NRI bits in the indicator, its type in the FU header.
        let indicator = (nal[0] & 0xe0) | FU_A;
        let body = &nal[1..];
        let chunk = max_payload - 2;
        let count = body.len().div_ceil(chunk);
        for (i, part) in body.chunks(chunk).enumerate() {
            let start = if i == 0 { 0x80 } else { 0 };
            let end = if i + 1 == count { 0x40 } else { 0 };
            let mut payload = Vec::with_capacity(part.len() + 2);
            payload.extend_from_slice(&[indicator, start | end | (nal[0] & 0x1f)]);
            payload.extend_from_slice(part);
            payloads.push(payload);
        }
    }
    payloads
}

/// Access units from the phone's H.264 packets (Annex B, 4-byte start codes).
pub type H264Depacketizer = VideoDepacketizer<H264Payload>;

#[derive(Debug, Default)]
pub struct H264Payload {
    /// A FU-A NAL unit is open in the picture.
    in_fragment: bool,
    /// SPS/PPS sent in an access unit of their own, kept for the picture that follows.
    parameter_sets: Vec<u8>,
}

impl PayloadFormat for H264Payload {
    fn read(&mut self, payload: &[u8], _first: bool, picture: &mut Vec<u8>) -> bool {
        let Some(&header) = payload.first() else { return false };
        match header & 0x1f {
            1..=23 => {
                self.in_fragment = false;
                push_nal(picture, payload);
            }
            STAP_A => {
                self.in_fragment = false;
                let mut rest = &payload[1..];
                while let [high, low, tail @ ..] = rest {
                    let size = usize::from(u16::from_be_bytes([*high, *low]));
                    if size == 0 || size > tail.len() {
                        return false;
                    }
                    push_nal(picture, &tail[..size]);
                    rest = &tail[size..];
                }
            }
            FU_A => {
                let Some(&fu_header) = payload.get(1) else { return false };
                let (start, end) = (fu_header & 0x80 != 0, fu_header & 0x40 != 0);
                if start {
                    push_nal(picture, &[(header & 0xe0) | (fu_header & 0x1f)]);
                    self.in_fragment = true;
                } else if !self.in_fragment {
                    return false;
                }
                picture.extend_from_slice(&payload[2..]);
                if end {
                    self.in_fragment = false;
                }
            }
            // STAP-B, MTAP, FU-B belong to the interleaved mode, which we never agree to.
            _ => return false,
        }
        true
    }

    fn finish(&mut self, picture: Vec<u8>, broken: bool) -> Assembled {
        // A fragment still open at the end lost its last packets.
        if std::mem::take(&mut self.in_fragment) || broken {
            return Assembled::Lost;
        }
        let units = nal_units(&picture);
        if units.iter().all(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS)) {
            self.parameter_sets = picture;
            return Assembled::Held;
        }
        let keyframe = units.iter().any(|n| nal_type(n) == NAL_IDR);
        if self.parameter_sets.is_empty() {
            return Assembled::Picture(picture, keyframe);
        }
        let mut joined = std::mem::take(&mut self.parameter_sets);
        joined.extend_from_slice(&picture);
        Assembled::Picture(joined, keyframe)
    }
}

fn push_nal(picture: &mut Vec<u8>, nal: &[u8]) {
    picture.extend_from_slice(&START_CODE);
    picture.extend_from_slice(nal);
}

#[cfg(test)]
mod tests;
