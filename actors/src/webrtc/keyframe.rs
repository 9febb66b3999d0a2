//! Whether a frame str0m depacketized is one a decoder can start from.

use str0m::format::CodecExtra;

/// A video frame a decoder can start from, as str0m's depacketizer saw it (H.264 IDR, VP8 key
/// frame); false for anything else, audio included.
pub fn is_keyframe(extra: &CodecExtra) -> bool {
    match extra {
        CodecExtra::H264(h264) => h264.is_keyframe,
        CodecExtra::Vp8(vp8) => vp8.is_keyframe,
        _ => false,
    }
}
