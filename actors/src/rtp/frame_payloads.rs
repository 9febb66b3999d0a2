//! A frame's RTP payloads in its own codec, as a stream's WebRTC viewers send them: H.264 access
//! units cut per RFC 6184 (mode 1), VP8 frames per RFC 7741, an audio frame whole.

use super::{packetize_h264, packetize_vp8};
use crate::media::CodecName;
use std::sync::Arc;

/// Payload bytes per packet for WebRTC: with the RTP header, its extensions and the SRTP tag,
/// a datagram stays within the 1150 bytes browsers and str0m aim at.
pub const WEBRTC_MAX_PAYLOAD: usize = 1100;

/// The payloads of `frame`, each at most `max_payload` bytes; the last ends the frame.
pub fn frame_payloads(codec: CodecName, frame: &Arc<[u8]>, max_payload: usize) -> Vec<Arc<[u8]>> {
    let cut = match codec {
        CodecName::H264 => packetize_h264(frame, max_payload),
        CodecName::Vp8 => packetize_vp8(frame, max_payload),
        CodecName::Opus | CodecName::Pcmu | CodecName::Pcma | CodecName::G722 | CodecName::Aac => return vec![frame.clone()],
    };
    cut.into_iter().map(Arc::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{H264Depacketizer, Vp8Depacketizer};

    #[test]
    fn an_audio_frame_is_one_payload_sharing_the_frames_bytes() {
        let frame: Arc<[u8]> = Arc::from(vec![7u8; 80]);
        let payloads = frame_payloads(CodecName::Opus, &frame, WEBRTC_MAX_PAYLOAD);
        assert_eq!(payloads.len(), 1);
        assert!(Arc::ptr_eq(&payloads[0], &frame));
    }

    #[test]
    fn video_is_cut_within_the_limit_and_reads_back_whole() {
        // An IDR access unit of 5 000 bytes behind its parameter sets.
        let mut idr = vec![0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65];
        idr.extend((0..5000u32).map(|i| (i % 251) as u8 | 1));
        let h264: Arc<[u8]> = Arc::from(idr);
        let payloads = frame_payloads(CodecName::H264, &h264, WEBRTC_MAX_PAYLOAD);
        assert!(payloads.len() > 4 && payloads.iter().all(|p| p.len() <= WEBRTC_MAX_PAYLOAD));
        let mut depacketizer = H264Depacketizer::default();
        let last = payloads.len() - 1;
        let mut pictures = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            depacketizer.push(i as u16, 9000, i == last, payload, |picture| pictures.push(picture));
        }
        assert_eq!(pictures.len(), 1);
        assert_eq!(pictures[0].data, *h264);
        assert!(pictures[0].keyframe);

        let vp8: Arc<[u8]> = Arc::from((0..3000u32).map(|i| i as u8).collect::<Vec<_>>());
        let payloads = frame_payloads(CodecName::Vp8, &vp8, WEBRTC_MAX_PAYLOAD);
        assert_eq!(payloads.len(), 3);
        assert!(payloads.iter().all(|p| p.len() <= WEBRTC_MAX_PAYLOAD));
        let mut depacketizer = Vp8Depacketizer::default();
        let mut pictures = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            depacketizer.push(i as u16, 9000, i == 2, payload, |picture| pictures.push(picture));
        }
        assert_eq!(pictures.len(), 1);
        assert_eq!(pictures[0].data, *vp8);
    }
}
