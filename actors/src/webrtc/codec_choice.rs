//! Which of the codecs a browser offers the server takes: for a publisher, the first one it
//! supports in the browser's order of preference (so `stripCodecs` decides); for a viewer, the
//! one that matches what the publisher sends.

use crate::media::{CodecName, MediaKind, StreamTracks, TrackCodec};
use crate::sdp::{MediaSection, SessionDescription};

/// One codec of one m-line, with the payload types the offer gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedCodec {
    pub mid: String,
    pub pt: u8,
    /// The RTX payload type whose `apt` is `pt`, if offered.
    pub rtx: Option<u8>,
    pub codec: TrackCodec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChosenCodecs {
    pub audio: Option<OfferedCodec>,
    pub video: Option<OfferedCodec>,
}

impl ChosenCodecs {
    pub fn tracks(&self) -> StreamTracks {
        StreamTracks { audio: self.audio.as_ref().map(|c| c.codec.clone()), video: self.video.as_ref().map(|c| c.codec.clone()) }
    }

    pub fn is_empty(&self) -> bool {
        self.audio.is_none() && self.video.is_none()
    }
}

/// The codec of every offered codec of a section, in offer order, that the server can carry.
fn supported(section: &MediaSection) -> impl Iterator<Item = OfferedCodec> + '_ {
    let mid = section.mid().unwrap_or_default().to_owned();
    section.payload_types().filter_map(move |pt| {
        let map = section.rtpmap(pt)?;
        let name = CodecName::from_rtpmap(&map.name)?;
        let codec = TrackCodec {
            name,
            clock_rate: map.clock_rate,
            channels: map.channels,
            fmtp: section.fmtp(pt).unwrap_or_default().to_owned(),
        };
        // H.264 only with packetization mode 1 (FU-A/STAP-A), as browsers send it.
        if name == CodecName::H264 && codec.packetization_mode() != 1 {
            return None;
        }
        Some(OfferedCodec { mid: mid.clone(), pt, rtx: section.rtx_for(pt), codec })
    })
}

fn section_kind(section: &MediaSection) -> Option<MediaKind> {
    match section.kind.as_str() {
        "audio" => Some(MediaKind::Audio),
        "video" => Some(MediaKind::Video),
        _ => None,
    }
}

/// For a publish offer: per kind, the first section that sends, and its first supported codec,
/// or `prefer` when offered (H.264 for a stream that goes to RTMP, which saves transcoding).
pub fn choose_publish_codecs(offer: &SessionDescription, prefer: Option<CodecName>) -> ChosenCodecs {
    let mut chosen = ChosenCodecs::default();
    for section in offer.media.iter().filter(|s| s.port != 0 && matches!(s.direction(), "sendonly" | "sendrecv")) {
        let slot = match section_kind(section) {
            Some(MediaKind::Audio) => &mut chosen.audio,
            Some(MediaKind::Video) => &mut chosen.video,
            None => continue,
        };
        if slot.is_none() {
            let kind = section_kind(section);
            let mut candidates = supported(section).filter(|c| Some(c.codec.kind()) == kind).peekable();
            let first = candidates.peek().cloned();
            *slot = candidates.find(|c| Some(c.codec.name) == prefer).or(first);
        }
    }
    chosen
}

/// For a call offer: Opus in the first audio section that both sends and receives (the call
/// transcodes Opus for the phone); `with_video`, from the first such video section, H.264 in
/// packetization mode 1 (constrained baseline when offered) or else VP8, which pass through
/// to the phone.
pub fn choose_call_codecs(offer: &SessionDescription, with_video: bool) -> ChosenCodecs {
    let sendrecv = |kind: MediaKind| offer.media.iter().filter(move |s| s.port != 0 && section_kind(s) == Some(kind) && s.direction() == "sendrecv");
    let audio = sendrecv(MediaKind::Audio).find_map(|s| supported(s).find(|c| c.codec.name == CodecName::Opus));
    let baseline = TrackCodec { name: CodecName::H264, clock_rate: 90_000, channels: None, fmtp: "packetization-mode=1;profile-level-id=42e01f".into() };
    let vp8 = TrackCodec { name: CodecName::Vp8, clock_rate: 90_000, channels: None, fmtp: String::new() };
    let video = sendrecv(MediaKind::Video).next().filter(|_| with_video).and_then(|s| best_match(s, &baseline).or_else(|| best_match(s, &vp8)));
    ChosenCodecs { audio, video }
}

/// For a play offer: per kind the stream carries, the offered codec that carries it. None when
/// the player wants a kind of media the stream has but offers no codec for it (it would need
/// transcoding), or when nothing at all would flow.
pub fn choose_play_codecs(offer: &SessionDescription, tracks: &StreamTracks) -> Option<ChosenCodecs> {
    let mut chosen = ChosenCodecs::default();
    for section in offer.media.iter().filter(|s| s.port != 0 && matches!(s.direction(), "recvonly" | "sendrecv")) {
        let (slot, track) = match section_kind(section) {
            Some(MediaKind::Audio) => (&mut chosen.audio, tracks.audio.as_ref()),
            Some(MediaKind::Video) => (&mut chosen.video, tracks.video.as_ref()),
            None => continue,
        };
        if let (None, Some(track)) = (&slot, track) {
            *slot = Some(best_match(section, track)?);
        }
    }
    (!chosen.is_empty()).then_some(chosen)
}

/// Same codec, clock and channels; for H.264 the same packetization mode and preferably the
/// same profile-level-id, else the same profile.
fn best_match(section: &MediaSection, track: &TrackCodec) -> Option<OfferedCodec> {
    let candidates: Vec<OfferedCodec> = supported(section)
        .filter(|c| c.codec.name == track.name && c.codec.clock_rate == track.clock_rate)
        .filter(|c| c.codec.name != CodecName::H264 || c.codec.packetization_mode() == track.packetization_mode())
        .collect();
    if track.name != CodecName::H264 {
        return candidates.into_iter().next();
    }
    let profile = |c: &TrackCodec| c.profile_level_id().map(|p| p >> 16);
    candidates
        .iter()
        .find(|c| c.codec.profile_level_id() == track.profile_level_id())
        .or_else(|| candidates.iter().find(|c| profile(&c.codec) == profile(track)))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISH: &str = include_str!("testdata/chrome_publish_offer.sdp");
    const PLAY: &str = include_str!("testdata/chrome_play_offer.sdp");

    /// What the SDK's `stripCodecs` does to an offer: drop the codec's PTs, rtpmap, fmtp and
    /// rtcp-fb, but keep RTX lines whose apt points at them.
    fn strip(sdp: &str, codec: &str) -> String {
        let parsed = SessionDescription::parse(sdp).unwrap();
        let pts: Vec<String> = parsed
            .media
            .iter()
            .flat_map(|m| m.payload_types().filter(|pt| m.rtpmap(*pt).is_some_and(|r| r.name.eq_ignore_ascii_case(codec))))
            .map(|pt| pt.to_string())
            .collect();
        sdp.lines()
            .filter(|l| !pts.iter().any(|pt| [format!("a=rtpmap:{pt} "), format!("a=fmtp:{pt} "), format!("a=rtcp-fb:{pt} ")].iter().any(|p| l.starts_with(p.as_str()))))
            .map(|l| {
                if l.starts_with("m=") {
                    l.split(' ').filter(|w| !pts.iter().any(|pt| pt == w)).collect::<Vec<_>>().join(" ")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn publisher_gets_the_browsers_first_choice() {
        let chosen = choose_publish_codecs(&SessionDescription::parse(PUBLISH).unwrap(), None);
        let audio = chosen.audio.unwrap();
        assert_eq!((audio.codec.name, audio.pt, audio.mid.as_str()), (CodecName::Opus, 111, "0"));
        let video = chosen.video.unwrap();
        assert_eq!((video.codec.name, video.pt, video.rtx), (CodecName::Vp8, 96, Some(97)));
    }

    #[test]
    fn a_stream_bound_for_rtmp_prefers_h264() {
        let chosen = choose_publish_codecs(&SessionDescription::parse(PUBLISH).unwrap(), Some(CodecName::H264));
        assert_eq!(chosen.video.unwrap().codec.name, CodecName::H264);
        assert_eq!(chosen.audio.unwrap().codec.name, CodecName::Opus);
    }

    #[test]
    fn strip_codecs_selects_h264_and_stray_rtx_is_tolerated() {
        let offer = strip(PUBLISH, "VP8");
        assert!(offer.contains("a=fmtp:97 apt=96"), "the stray RTX line stays, as the SDK leaves it");
        let chosen = choose_publish_codecs(&SessionDescription::parse(&offer).unwrap(), None);
        let video = chosen.video.unwrap();
        assert_eq!((video.codec.name, video.pt, video.rtx), (CodecName::H264, 102, Some(103)));
        assert_eq!(video.codec.packetization_mode(), 1);
    }

    #[test]
    fn viewer_matches_the_publishers_codec() {
        let tracks = StreamTracks {
            audio: Some(TrackCodec { name: CodecName::Opus, clock_rate: 48000, channels: Some(2), fmtp: String::new() }),
            video: Some(TrackCodec {
                name: CodecName::H264,
                clock_rate: 90000,
                channels: None,
                fmtp: "packetization-mode=1;profile-level-id=42e01f".into(),
            }),
        };
        let chosen = choose_play_codecs(&SessionDescription::parse(PLAY).unwrap(), &tracks).unwrap();
        assert_eq!(chosen.audio.unwrap().pt, 111);
        let video = chosen.video.unwrap();
        assert_eq!(video.codec.profile_level_id(), Some(0x42e01f));
        assert_eq!(video.codec.packetization_mode(), 1);
    }

    #[test]
    fn a_viewer_without_the_video_codec_is_refused_even_if_audio_fits() {
        let opus = TrackCodec { name: CodecName::Opus, clock_rate: 48000, channels: Some(2), fmtp: String::new() };
        let tracks = StreamTracks {
            audio: Some(opus.clone()),
            video: Some(TrackCodec { name: CodecName::Vp8, clock_rate: 90000, channels: None, fmtp: String::new() }),
        };
        let offer = strip(PLAY, "VP8");
        assert_eq!(choose_play_codecs(&SessionDescription::parse(&offer).unwrap(), &tracks), None);
        // An audio-only player of that stream is fine.
        let audio_only = StreamTracks { audio: Some(opus), video: None };
        let chosen = choose_play_codecs(&SessionDescription::parse(&offer).unwrap(), &audio_only).unwrap();
        assert!(chosen.audio.is_some() && chosen.video.is_none());
    }
}
