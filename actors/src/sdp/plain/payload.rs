//! Payload types as plain SIP SDP uses them: the static ones of RFC 3551, the RTP clock each codec
//! must use, and RFC 4733 telephone events.

use crate::media::{CodecName, TrackCodec};

/// RFC 3551 §6: payload types a peer may list without `a=rtpmap`, as (pt, encoding name, RTP clock).
/// G.722 samples at 16 kHz but its RTP clock is 8000 (an RFC 1890 mistake kept for compatibility).
/// The ones we cannot carry are here only so that logs and 488 reasons can name them.
const STATIC_PAYLOAD_TYPES: [(u8, &str, u32); 7] =
    [(0, "PCMU", 8000), (3, "GSM", 8000), (4, "G723", 8000), (8, "PCMA", 8000), (9, "G722", 8000), (13, "CN", 8000), (18, "G729", 8000)];

/// The encoding name and RTP clock of a static payload type.
pub(super) fn static_payload_type(pt: u8) -> Option<(&'static str, u32)> {
    STATIC_PAYLOAD_TYPES.iter().find(|(p, _, _)| *p == pt).map(|&(_, name, clock)| (name, clock))
}

/// The static payload type of a codec, if it has one; the others need a dynamic type (96–127).
pub fn static_payload_type_of(codec: CodecName) -> Option<u8> {
    STATIC_PAYLOAD_TYPES.iter().find(|(_, name, _)| CodecName::from_rtpmap(name) == Some(codec)).map(|&(pt, _, _)| pt)
}

/// The only RTP clock we carry a codec at: a `PCMU/16000` or `opus/16000` is not the codec we know.
pub fn rtp_clock_rate(codec: CodecName) -> Option<u32> {
    match codec {
        CodecName::Opus => Some(48_000),
        CodecName::Pcmu | CodecName::Pcma | CodecName::G722 => Some(8_000),
        CodecName::H264 | CodecName::Vp8 => Some(90_000),
        // AAC goes to RTMP only, never into an RTP/AVP call.
        CodecName::Aac => None,
    }
}

/// The codec as we put it into an SDP of our own: standard clock, Opus as `opus/48000/2` (RFC 7587),
/// H.264 in packetization mode 1 at Constrained Baseline 3.1, which is what browsers send.
pub fn local_track_codec(codec: CodecName) -> Option<TrackCodec> {
    let clock_rate = rtp_clock_rate(codec)?;
    let (channels, fmtp) = match codec {
        CodecName::Opus => (Some(2), ""),
        CodecName::H264 => (None, "packetization-mode=1;profile-level-id=42e01f"),
        _ => (None, ""),
    };
    Some(TrackCodec { name: codec, clock_rate, channels, fmtp: fmtp.to_owned() })
}

/// A codec with the payload type it has in one SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCodec {
    pub pt: u8,
    pub codec: TrackCodec,
}

/// RFC 4733 DTMF: its payload type and RTP clock (which should be that of the audio codec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub pt: u8,
    pub clock_rate: u32,
}

/// The payload type WCS and most PBXes use for telephone-event.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// The events we write in `a=fmtp`: DTMF 0–9, *, #, A–D and flash (RFC 4733).
pub const TELEPHONE_EVENTS: &str = "0-16";

pub(super) fn is_telephone_event(name: &str) -> bool {
    name.eq_ignore_ascii_case("telephone-event")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_static_types() {
        assert_eq!(static_payload_type(9), Some(("G722", 8000)));
        assert_eq!(static_payload_type(18), Some(("G729", 8000)));
        assert_eq!(static_payload_type(96), None);
        assert_eq!(static_payload_type_of(CodecName::Pcma), Some(8));
        assert_eq!(static_payload_type_of(CodecName::Opus), None);
        assert_eq!(local_track_codec(CodecName::Opus).map(|c| c.describe()).as_deref(), Some("opus/48000/2"));
        assert_eq!(local_track_codec(CodecName::Aac), None);
    }
}
