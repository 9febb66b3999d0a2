use super::{CodecName, TrackCodec};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
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
    /// The frame cut into RTP payloads by the first WebRTC viewer that sends it, for the rest.
    pub rtp_payloads: RtpPayloadCache,
}

/// A frame's RTP payloads, cut once and shared (clones of a frame share its cache): every viewer
/// of a stream then sends the same payload bytes, and its resend buffer holds references to them
/// rather than copies.
#[derive(Debug, Clone, Default)]
pub struct RtpPayloadCache(Arc<OnceLock<CutFrame>>);

#[derive(Debug)]
struct CutFrame {
    codec: CodecName,
    payloads: Vec<Arc<[u8]>>,
}

impl RtpPayloadCache {
    /// The payloads for a viewer in `codec`: cut by `cut` the first time, the same ones after.
    /// A frame is in one codec, so another codec asked for (a bug elsewhere) is cut afresh, never
    /// taken from the cache.
    pub fn get_or_cut(&self, codec: CodecName, cut: impl FnOnce() -> Vec<Arc<[u8]>>) -> Cow<'_, [Arc<[u8]>]> {
        let mut cut = Some(cut);
        let cached = self.0.get_or_init(|| CutFrame { codec, payloads: cut.take().map(|cut| cut()).unwrap_or_default() });
        match cut {
            Some(cut) if cached.codec != codec => Cow::Owned(cut()),
            _ => Cow::Borrowed(&cached.payloads),
        }
    }
}

impl RtpPayloadCache {
    /// The payloads in `codec` once a viewer has cut them.
    pub fn cut(&self, codec: CodecName) -> Option<&[Arc<[u8]>]> {
        self.0.get().filter(|cut| cut.codec == codec).map(|cut| cut.payloads.as_slice())
    }
}

/// The codecs of a published stream's tracks; a stream has at most one of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamTracks {
    pub audio: Option<TrackCodec>,
    pub video: Option<TrackCodec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_cut_once_for_all_its_clones_and_only_for_its_own_codec() {
        let frame = RtpPayloadCache::default();
        let viewer = frame.clone();
        let mut cuts = 0;
        let mut cut = || {
            cuts += 1;
            vec![Arc::from(vec![1u8, 2]), Arc::from(vec![3u8])]
        };
        let first = frame.get_or_cut(CodecName::H264, &mut cut).into_owned();
        let second = viewer.get_or_cut(CodecName::H264, &mut cut);
        assert!(first.iter().zip(second.iter()).all(|(a, b)| Arc::ptr_eq(a, b)), "the same bytes, not copies");
        let other = viewer.get_or_cut(CodecName::Vp8, &mut cut);
        assert!(matches!(other, Cow::Owned(_)), "another codec is never served from the cache");
        drop((second, other));
        assert_eq!(cuts, 2);
    }
}
