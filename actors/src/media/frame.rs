use super::TrackCodec;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

/// One depacketized frame (an Opus packet, an H.264 access unit in Annex B, a VP8 frame).
/// Cloning shares the payload, so fan-out copies no media.
#[derive(Debug, Clone)]
pub struct MediaFrame {
    pub kind: MediaKind,
    /// Media time in units of `clock_rate` (the RTP timestamp, extended).
    pub time: u64,
    pub clock_rate: u32,
    /// When the first packet of the frame arrived.
    pub received: Instant,
    /// A video frame a decoder can start from; always true for audio.
    pub keyframe: bool,
    pub data: Arc<[u8]>,
}

/// The codecs of a published stream's tracks; a stream has at most one of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamTracks {
    pub audio: Option<TrackCodec>,
    pub video: Option<TrackCodec>,
}
