use super::MediaKind;
use crate::sdp::fmtp_value;
use serde::Serialize;

/// The codecs a stream can carry today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CodecName {
    Opus,
    Pcmu,
    Pcma,
    G722,
    H264,
    Vp8,
    /// AAC-LC: what RTMP takes, made by transcoding; never negotiated with a browser.
    Aac,
}

impl CodecName {
    /// From an `a=rtpmap` encoding name (case-insensitive).
    pub fn from_rtpmap(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "opus" => CodecName::Opus,
            "pcmu" => CodecName::Pcmu,
            "pcma" => CodecName::Pcma,
            "g722" => CodecName::G722,
            "h264" => CodecName::H264,
            "vp8" => CodecName::Vp8,
            _ => return None,
        })
    }

    pub fn kind(self) -> MediaKind {
        match self {
            CodecName::H264 | CodecName::Vp8 => MediaKind::Video,
            _ => MediaKind::Audio,
        }
    }

    /// As SDP writes it.
    pub fn sdp_name(self) -> &'static str {
        match self {
            CodecName::Opus => "opus",
            CodecName::Pcmu => "PCMU",
            CodecName::Pcma => "PCMA",
            CodecName::G722 => "G722",
            CodecName::H264 => "H264",
            CodecName::Vp8 => "VP8",
            CodecName::Aac => "mpeg4-generic",
        }
    }
}

/// What one track of a stream carries, as negotiated with its publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackCodec {
    pub name: CodecName,
    pub clock_rate: u32,
    pub channels: Option<u8>,
    /// The `a=fmtp` parameters (`packetization-mode=1;profile-level-id=42e01f`), possibly empty.
    pub fmtp: String,
}

impl TrackCodec {
    pub fn kind(&self) -> MediaKind {
        self.name.kind()
    }

    /// H.264 packetization mode; RFC 6184 makes 0 the default.
    pub fn packetization_mode(&self) -> u8 {
        fmtp_value(&self.fmtp, "packetization-mode").and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn profile_level_id(&self) -> Option<u32> {
        fmtp_value(&self.fmtp, "profile-level-id").and_then(|v| u32::from_str_radix(v, 16).ok())
    }

    /// `H264/90000`, `opus/48000/2`: the form `/stream/find` shows.
    pub fn describe(&self) -> String {
        match self.channels {
            Some(ch) if ch > 1 => format!("{}/{}/{}", self.name.sdp_name(), self.clock_rate, ch),
            _ => format!("{}/{}", self.name.sdp_name(), self.clock_rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_h264_parameters() {
        let c = TrackCodec {
            name: CodecName::H264,
            clock_rate: 90000,
            channels: None,
            fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into(),
        };
        assert_eq!(c.packetization_mode(), 1);
        assert_eq!(c.profile_level_id(), Some(0x42e01f));
        assert_eq!(c.describe(), "H264/90000");
        assert_eq!(CodecName::from_rtpmap("OPUS"), Some(CodecName::Opus));
        assert_eq!(CodecName::from_rtpmap("rtx"), None);
    }
}
