//! Answering a SIP peer's offer (RFC 3264 §6): one codec per stream, the offerer's first that we
//! can carry, under the offerer's payload type, so that the caller knows what to transcode.

use super::payload::TelephoneEvent;
use super::remote::{PlainSdp, RemoteMedia};
use super::writer::{session_header, write_media, write_rejected, LocalMedia, LocalSession, PTIME_MS};
use super::{Direction, Encoding, LocalCodec};
use crate::media::{CodecName, MediaKind, TrackCodec};
use std::fmt;
use std::net::SocketAddr;

/// What we bring to an answer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerSetup<'a> {
    pub session: LocalSession,
    pub audio_port: u16,
    /// `None` when the call has no video: an offered video stream is then declined.
    pub video_port: Option<u16>,
    /// The codecs we can carry, in no order: the offerer's preference decides.
    pub codecs: &'a [CodecName],
    /// `SendRecv`, or `SendOnly` while we hold the call ourselves; narrows the mirrored offer.
    pub direction: Direction,
    /// The WebSDK's `sipSDP` of the `answer` message, placed as in an offer.
    pub extra_lines: &'a [String],
}

/// One stream as answered: what to send and receive on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// The offerer's payload type for `codec`, which both sides now use.
    pub pt: u8,
    pub codec: TrackCodec,
    pub telephone_event: Option<TelephoneEvent>,
    /// Ours, as answered: whether we may send (`sends()`) and expect to receive.
    pub direction: Direction,
    /// `None` on a hold address (`c=0.0.0.0`): send nothing.
    pub rtp_target: Option<SocketAddr>,
    pub rtcp_target: Option<SocketAddr>,
    /// The peer's `a=ptime`, to packetize what we send to it.
    pub remote_ptime: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub sdp: String,
    pub audio: NegotiatedMedia,
    pub video: Option<NegotiatedMedia>,
}

/// The offer has no audio we can carry: the caller answers `488 Not Acceptable Here`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAcceptable(pub String);

impl fmt::Display for NotAcceptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offer not acceptable: {}", self.0)
    }
}

impl std::error::Error for NotAcceptable {}

/// Answers every offered m-line in order (RFC 3264 §6 keeps the count): the first plain-RTP audio
/// and video streams we can serve get our ports, every other one port 0 with its formats as offered.
pub fn build_answer(offer: &PlainSdp, setup: &AnswerSetup<'_>) -> Result<Answer, NotAcceptable> {
    let mut sdp = session_header(&setup.session, setup.extra_lines);
    let (mut audio, mut video) = (None, None);
    for media in &offer.media {
        let served = match media.media_kind() {
            Some(MediaKind::Audio) if audio.is_none() => negotiate(media, setup.audio_port, setup),
            Some(MediaKind::Video) if video.is_none() => setup.video_port.and_then(|port| negotiate(media, port, setup)),
            _ => None,
        };
        let Some((local, negotiated)) = served else {
            write_rejected(&mut sdp, &media.kind, &media.protocol, &media.formats);
            continue;
        };
        write_media(&mut sdp, &media.kind, &local);
        match media.media_kind() {
            Some(MediaKind::Audio) => audio = Some(negotiated),
            _ => video = Some(negotiated),
        }
    }
    let audio = audio.ok_or_else(|| NotAcceptable(describe_offered_audio(offer)))?;
    Ok(Answer { sdp, audio, video })
}

/// Our side of one stream, if we can serve it: plain RTP, not disabled, a codec in common.
fn negotiate(media: &RemoteMedia, port: u16, setup: &AnswerSetup<'_>) -> Option<(LocalMedia, NegotiatedMedia)> {
    if media.is_rejected() || !media.is_plain_rtp() {
        return None;
    }
    let (pt, codec) = media.first_codec_among(setup.codecs)?;
    let is_audio = media.media_kind() == Some(MediaKind::Audio);
    let telephone_event = if is_audio { media.telephone_event_for(codec.clock_rate) } else { None };
    let direction = media.effective_direction().mirrored().intersect(setup.direction);
    let local =
        LocalMedia { port, codecs: vec![LocalCodec { pt, codec: codec.clone() }], telephone_event, direction, ptime: is_audio.then_some(PTIME_MS) };
    let negotiated = NegotiatedMedia {
        pt,
        codec: codec.clone(),
        telephone_event,
        direction,
        rtp_target: media.rtp_target(),
        rtcp_target: media.rtcp_target(),
        remote_ptime: media.ptime,
    };
    Some((local, negotiated))
}

/// For the log line behind a 488: what the peer wanted.
fn describe_offered_audio(offer: &PlainSdp) -> String {
    let Some(audio) = offer.audio() else { return "no audio stream offered".to_owned() };
    if audio.is_rejected() {
        return "the offer disables its audio stream (port 0)".to_owned();
    }
    if !audio.is_plain_rtp() {
        return format!("audio offered over {}, not plain RTP/AVP", audio.protocol);
    }
    let offered: Vec<String> = audio
        .payloads
        .iter()
        .map(|p| match &p.encoding {
            Encoding::Codec(codec) => codec.describe(),
            Encoding::TelephoneEvent { clock_rate } => format!("telephone-event/{clock_rate}"),
            Encoding::Unsupported { name } => name.clone().unwrap_or_else(|| format!("payload type {}", p.pt)),
        })
        .collect();
    format!("no audio codec in common; offered {}", offered.join(", "))
}

#[cfg(test)]
mod tests;
