//! The codecs of our SIP INVITE, from the WCS settings `codecs`, `codecs_exclude_sip` and
//! `allow_outside_codecs` (rest-api.md §10.1) and from what the browser offered.

use super::payload::{local_track_codec, static_payload_type_of, LocalCodec, TelephoneEvent, TELEPHONE_EVENT_PT};
use super::writer::{LocalMedia, PTIME_MS};
use super::Direction;
use crate::media::{CodecName, MediaKind};

/// The WCS default of `codecs`.
pub const DEFAULT_CODECS: &str = "opus,alaw,ulaw,g729,speex16,g722,mpeg4-generic,telephone-event,h264,vp8,flv,mpv";

/// The WCS default of `codecs_exclude_sip`.
pub const DEFAULT_CODECS_EXCLUDE_SIP: &str = "mpeg4-generic,flv,mpv";

/// What the INVITE offers, in the order of the `codecs` setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteCodecs {
    /// Can come out empty (e.g. a browser without audio and `allow_outside_codecs` off): then there
    /// is nothing to call with.
    pub audio: Vec<LocalCodec>,
    /// Offer RFC 4733 DTMF (as [`TELEPHONE_EVENT_PT`] at 8000 Hz).
    pub telephone_event: bool,
    pub video: Vec<LocalCodec>,
}

impl InviteCodecs {
    pub fn audio_media(&self, port: u16, direction: Direction) -> LocalMedia {
        LocalMedia {
            port,
            codecs: self.audio.clone(),
            telephone_event: self.telephone_event.then_some(TelephoneEvent { pt: TELEPHONE_EVENT_PT, clock_rate: 8000 }),
            direction,
            ptime: Some(PTIME_MS),
        }
    }

    /// `None` when no video codec is left: the INVITE then has no video stream.
    pub fn video_media(&self, port: u16, direction: Direction) -> Option<LocalMedia> {
        (!self.video.is_empty()).then(|| LocalMedia { port, codecs: self.video.clone(), telephone_event: None, direction, ptime: None })
    }
}

/// A name of the `codecs` settings we can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SettingCodec {
    Carried(CodecName),
    TelephoneEvent,
}

/// Case-insensitive; `None` for what we cannot carry over RTP/AVP (g729, speex16, mpeg4-generic, flv, mpv, typos).
fn setting_codec(name: &str) -> Option<SettingCodec> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "opus" => SettingCodec::Carried(CodecName::Opus),
        "alaw" | "pcma" => SettingCodec::Carried(CodecName::Pcma),
        "ulaw" | "pcmu" => SettingCodec::Carried(CodecName::Pcmu),
        "g722" => SettingCodec::Carried(CodecName::G722),
        "h264" => SettingCodec::Carried(CodecName::H264),
        "vp8" => SettingCodec::Carried(CodecName::Vp8),
        "telephone-event" => SettingCodec::TelephoneEvent,
        _ => return None,
    })
}

fn setting_codecs(list: &str) -> impl Iterator<Item = SettingCodec> + '_ {
    list.split(',').filter_map(setting_codec)
}

/// Whether a codec the browser did not necessarily offer can still be bridged to it.
fn reaches_browser(codec: CodecName, browser_offered: &[CodecName]) -> bool {
    // We transcode Opus ⇄ G.711 (PCMU, PCMA) and G.722 (transcode::call_audio), so a browser that
    // sends Opus can talk to a phone using any of them, whether or not it offered them itself.
    let transcoded_from_opus = matches!(codec, CodecName::Pcmu | CodecName::Pcma | CodecName::G722);
    browser_offered.contains(&codec) || (transcoded_from_opus && browser_offered.contains(&CodecName::Opus))
}

/// The INVITE's codecs: `codecs` in its order, minus `codecs_exclude_sip`, minus what we cannot
/// carry; with `allow_outside_codecs` false also minus what the browser did not offer (so that its
/// `stripCodecs` shrinks the INVITE), except what we transcode to and telephone-event, which we
/// generate ourselves. Static payload types for G.711/G.722, dynamic ones from 96 for the rest.
pub fn invite_codecs(codecs: &str, codecs_exclude_sip: &str, allow_outside_codecs: bool, browser_offered: &[CodecName]) -> InviteCodecs {
    let excluded: Vec<SettingCodec> = setting_codecs(codecs_exclude_sip).collect();
    let mut invite = InviteCodecs::default();
    let mut used_payload_types = vec![TELEPHONE_EVENT_PT];
    for setting in setting_codecs(codecs).filter(|c| !excluded.contains(c)) {
        let codec = match setting {
            SettingCodec::TelephoneEvent => {
                invite.telephone_event = true;
                continue;
            }
            SettingCodec::Carried(codec) => codec,
        };
        let listed = invite.audio.iter().chain(&invite.video).any(|c| c.codec.name == codec);
        if listed || !(allow_outside_codecs || reaches_browser(codec, browser_offered)) {
            continue;
        }
        let pt = static_payload_type_of(codec).or_else(|| (96..=127).find(|pt| !used_payload_types.contains(pt)));
        let (Some(pt), Some(track)) = (pt, local_track_codec(codec)) else { continue };
        used_payload_types.push(pt);
        let list = if codec.kind() == MediaKind::Video { &mut invite.video } else { &mut invite.audio };
        list.push(LocalCodec { pt, codec: track });
    }
    invite
}

#[cfg(test)]
mod tests;
