//! VP8 over plain RTP for the SIP side of calls (RFC 7741): frames cut into packets behind a
//! one-byte payload descriptor, and read back from packets with any descriptor extension.

use super::video_depacketizer::{Assembled, PayloadFormat, VideoDepacketizer};

/// The descriptor's first byte: extension present, start of a partition.
const EXTENDED: u8 = 0x80;
const START: u8 = 0x10;
const PARTITION_ID: u8 = 0x07;
/// The extension byte: picture ID, TL0PICIDX, TID and KEYIDX present.
const HAS_PICTURE_ID: u8 = 0x80;
const HAS_TL0PICIDX: u8 = 0x40;
const HAS_TID_OR_KEYIDX: u8 = 0x30;

/// The RTP payloads of one frame, in order; the last one carries the marker bit.
pub fn packetize_vp8(frame: &[u8], max_payload: usize) -> Vec<Vec<u8>> {
    frame
        .chunks(max_payload - 1)
        .enumerate()
        .map(|(i, chunk)| {
            let mut payload = Vec::with_capacity(chunk.len() + 1);
            payload.push(if i == 0 { START } else { 0 });
            payload.extend_from_slice(chunk);
            payload
        })
        .collect()
}

/// Frames from the phone's VP8 packets.
pub type Vp8Depacketizer = VideoDepacketizer<Vp8Payload>;

#[derive(Debug, Default)]
pub struct Vp8Payload;

impl PayloadFormat for Vp8Payload {
    fn read(&mut self, payload: &[u8], first: bool, picture: &mut Vec<u8>) -> bool {
        let Some(data) = descriptor_end(payload).and_then(|at| payload.get(at..)) else { return false };
        let starts_frame = payload[0] & START != 0 && payload[0] & PARTITION_ID == 0;
        // A frame's first packet starts partition 0; later ones must not claim to.
        if first != starts_frame {
            return false;
        }
        picture.extend_from_slice(data);
        true
    }

    fn finish(&mut self, picture: Vec<u8>, broken: bool) -> Assembled {
        match picture.first() {
            // The frame tag's lowest bit is 0 for a key frame (RFC 6386 §9.1).
            Some(&tag) if !broken => Assembled::Picture(picture, tag & 1 == 0),
            _ => Assembled::Lost,
        }
    }
}

/// Where the VP8 data starts after the payload descriptor, if it is whole.
fn descriptor_end(payload: &[u8]) -> Option<usize> {
    let first = *payload.first()?;
    if first & EXTENDED == 0 {
        return Some(1);
    }
    let extension = *payload.get(1)?;
    let mut at = 2;
    if extension & HAS_PICTURE_ID != 0 {
        // A 15-bit picture ID when its first bit says so, else 7 bits.
        at += if payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
    }
    if extension & HAS_TL0PICIDX != 0 {
        at += 1;
    }
    if extension & HAS_TID_OR_KEYIDX != 0 {
        at += 1;
    }
    (at <= payload.len()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::video_depacketizer::Picture;

    fn frame(key: bool, len: usize, seed: u8) -> Vec<u8> {
        std::iter::once(if key { 0x10 } else { 0x11 }).chain((1..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))).collect()
    }

    #[test]
    fn frames_come_back_whole_after_packetizing() {
        let frames = [frame(true, 3000, 1), frame(false, 500, 2), frame(false, 1199, 3)];
        let mut depacketizer = Vp8Depacketizer::new();
        let (mut out, mut sequence) = (Vec::new(), 0u16);
        for (n, f) in frames.iter().enumerate() {
            let payloads = packetize_vp8(f, 1200);
            assert!(payloads.iter().all(|p| p.len() <= 1200));
            let count = payloads.len();
            for (i, p) in payloads.iter().enumerate() {
                sequence = sequence.wrapping_add(1);
                depacketizer.push(sequence, 3000 * n as u32, i + 1 == count, p, |picture| out.push(picture));
            }
        }
        let expected: Vec<Picture> = frames.iter().enumerate().map(|(n, f)| Picture { data: f.clone(), timestamp: 3000 * n as u32, keyframe: n == 0 }).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn extended_descriptors_are_skipped_and_a_loss_waits_for_a_keyframe() {
        let mut depacketizer = Vp8Depacketizer::new();
        let mut out = Vec::new();
        // X, S; I with a 15-bit picture ID, L, T/K: 1 + 1 + 2 + 1 + 1 bytes before the frame.
        let key = frame(true, 40, 4);
        let mut packet = vec![EXTENDED | START, 0xf0, 0x80 | 0x12, 0x34, 0x05, 0x20];
        packet.extend_from_slice(&key);
        depacketizer.push(10, 0, true, &packet, |p| out.push(p));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].data.clone(), out[0].keyframe), (key, true));
        // Packet 11 is lost: the next delta frame is dropped and a keyframe asked for.
        let mut delta = vec![START];
        delta.extend_from_slice(&frame(false, 30, 5));
        depacketizer.push(12, 3000, true, &delta, |p| out.push(p));
        assert_eq!(out.len(), 1);
        assert!(depacketizer.take_keyframe_wanted());
        // A continuation without a start, or a cut descriptor: no picture, no panic.
        for (sequence, bad) in [(13u16, vec![0x00, 1, 2]), (14, vec![EXTENDED]), (15, vec![EXTENDED | START, 0x80])] {
            depacketizer.push(sequence, 6000 + u32::from(sequence), true, &bad, |p| out.push(p));
        }
        assert_eq!(out.len(), 1);
    }
}
