//! H.264 over plain RTP for the SIP side of calls (RFC 6184, packetization mode 1): access
//! units in Annex B cut into single-NAL and FU-A packets, and packets put back together into
//! access units. A lost packet spoils its access unit and every one after it until the next
//! keyframe, which the receiver is told to ask for.

use crate::media::h264::{nal_type, nal_units, NAL_IDR, NAL_PPS, NAL_SPS};

/// RTP payload bytes per packet: with the headers well inside a 1500-byte Ethernet MTU.
pub const MAX_H264_PAYLOAD: usize = 1200;

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

/// A whole access unit from the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// Annex B, 4-byte start codes.
    pub data: Vec<u8>,
    pub timestamp: u32,
    pub keyframe: bool,
}

#[derive(Debug, Default)]
pub struct H264Depacketizer {
    /// The access unit being assembled and its RTP timestamp.
    current: Vec<u8>,
    timestamp: Option<u32>,
    /// A FU-A NAL unit is open in `current`.
    in_fragment: bool,
    /// The current access unit lost a packet or had one we cannot read.
    spoiled: bool,
    /// Nothing decodes until a keyframe: after a loss, and at the start.
    waiting_for_keyframe: bool,
    /// SPS/PPS sent in an access unit of their own, kept for the picture that follows.
    parameter_sets: Vec<u8>,
    last_sequence: Option<u16>,
    keyframe_wanted: bool,
}

impl H264Depacketizer {
    pub fn new() -> Self {
        H264Depacketizer { waiting_for_keyframe: true, ..Default::default() }
    }

    /// One packet; `complete` gets each access unit it finishes (the previous one, when a new
    /// timestamp shows that its marker was lost, and this one, when it carries the marker).
    pub fn push(&mut self, sequence: u16, timestamp: u32, marker: bool, payload: &[u8], mut complete: impl FnMut(AccessUnit)) {
        if let Some(last) = self.last_sequence {
            let gap = sequence.wrapping_sub(last);
            if gap == 0 || gap > 0x8000 {
                return; // a duplicate or a late packet: its access unit is gone already
            }
            if gap != 1 {
                self.lose();
            }
        }
        self.last_sequence = Some(sequence);
        if self.timestamp.is_some_and(|t| t != timestamp) {
            self.finish(&mut complete);
        }
        self.timestamp = Some(timestamp);
        self.read_payload(payload);
        if marker {
            self.finish(&mut complete);
        }
    }

    /// True once after the stream broke (or started without a keyframe): time to send a PLI.
    pub fn take_keyframe_wanted(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_wanted)
    }

    /// The access unit being assembled is lost, and with it the pictures up to the next keyframe.
    fn lose(&mut self) {
        self.spoiled = true;
        self.wait_for_keyframe();
    }

    fn wait_for_keyframe(&mut self) {
        self.waiting_for_keyframe = true;
        self.keyframe_wanted = true;
    }

    fn read_payload(&mut self, payload: &[u8]) {
        let Some(&header) = payload.first() else { return self.lose() };
        match header & 0x1f {
            1..=23 => {
                self.in_fragment = false;
                self.push_nal(payload);
            }
            STAP_A => {
                self.in_fragment = false;
                let mut rest = &payload[1..];
                while let [high, low, tail @ ..] = rest {
                    let size = usize::from(u16::from_be_bytes([*high, *low]));
                    if size == 0 || size > tail.len() {
                        return self.lose();
                    }
                    self.push_nal(&tail[..size]);
                    rest = &tail[size..];
                }
            }
            FU_A => {
                let Some(&fu_header) = payload.get(1) else { return self.lose() };
                let (start, end) = (fu_header & 0x80 != 0, fu_header & 0x40 != 0);
                if start {
                    self.push_nal(&[(header & 0xe0) | (fu_header & 0x1f)]);
                    self.in_fragment = true;
                } else if !self.in_fragment {
                    return self.lose();
                }
                self.current.extend_from_slice(&payload[2..]);
                if end {
                    self.in_fragment = false;
                }
            }
            // STAP-B, MTAP, FU-B belong to the interleaved mode, which we never agree to.
            _ => self.lose(),
        }
    }

    fn push_nal(&mut self, nal: &[u8]) {
        self.current.extend_from_slice(&START_CODE);
        self.current.extend_from_slice(nal);
    }

    fn finish(&mut self, complete: &mut impl FnMut(AccessUnit)) {
        let data = std::mem::take(&mut self.current);
        let timestamp = self.timestamp.take().unwrap_or_default();
        let (spoiled, in_fragment) = (std::mem::take(&mut self.spoiled), std::mem::take(&mut self.in_fragment));
        if data.is_empty() {
            return;
        }
        if spoiled || in_fragment {
            return self.wait_for_keyframe();
        }
        let units = nal_units(&data);
        if units.iter().all(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS)) {
            self.parameter_sets = data;
            return;
        }
        let keyframe = units.iter().any(|n| nal_type(n) == NAL_IDR);
        if self.waiting_for_keyframe && !keyframe {
            self.keyframe_wanted = true;
            return;
        }
        self.waiting_for_keyframe = false;
        let data = if self.parameter_sets.is_empty() {
            data
        } else {
            let mut joined = std::mem::take(&mut self.parameter_sets);
            joined.extend_from_slice(&data);
            joined
        };
        complete(AccessUnit { data, timestamp, keyframe });
    }
}

#[cfg(test)]
mod tests;
