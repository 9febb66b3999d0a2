//! Builds the server side of one WebRTC peer from a browser's offer: an ICE-lite `Rtc` that
//! answers with exactly the codecs chosen for it, its own host candidate on the shared media
//! port, DTLS passive, and the answer SDP the WebSDK gets in `setRemoteSDP`.

use super::codec_choice::{choose_call_codecs, choose_play_codecs, choose_publish_codecs, ChosenCodecs, OfferedCodec};
use super::srtp_keys::{build_reporting_keys, KeysSlot};
use crate::media::{CodecName, StreamTracks, TrackCodec};
use crate::sdp::{unify_msid, SessionDescription};
use rand::distr::{Alphanumeric, SampleString};
use std::net::SocketAddr;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::format::FormatParams;
use str0m::media::{Direction, Frequency, Mid, Pt};
use str0m::rtp::Extension;
use str0m::{Candidate, IceCreds, Rtc};

/// The server's DTLS certificate, made once and shared by every peer (its fingerprint goes in
/// every answer).
#[derive(Clone)]
pub struct DtlsIdentity {
    cert: DtlsCert,
}

impl DtlsIdentity {
    pub fn generate() -> Self {
        let provider = str0m::crypto::from_feature_flags();
        let cert = provider.dtls_provider.generate_certificate().expect("the aws-lc-rs provider makes certificates");
        DtlsIdentity { cert }
    }
}

/// What a server peer needs beyond the offer.
pub struct SetupParams<'a> {
    pub offer: &'a str,
    /// Where the browser reaches the media port: the advertised address and the port.
    pub candidate: SocketAddr,
    pub identity: &'a DtlsIdentity,
    /// The `msid` stream id of what the server sends (players only).
    pub stream_id: &'a str,
    pub resend_buffers: ResendBuffers,
    pub now: Instant,
}

/// Outgoing packets a peer keeps for retransmission (NACK), per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendBuffers {
    pub video: usize,
    pub audio: usize,
}

/// One track as negotiated: where it goes in the `Rtc` and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedTrack {
    pub mid: Mid,
    pub pt: Pt,
    pub codec: TrackCodec,
}

pub struct PeerSetup {
    pub rtc: Rtc,
    pub answer: String,
    /// The local ICE ufrag: browsers' binding requests name it, which routes them here.
    pub ice_ufrag: String,
    pub audio: Option<NegotiatedTrack>,
    pub video: Option<NegotiatedTrack>,
    /// A player's means to send its media itself (`player_sender`); `None` for other peers.
    pub own_sending: Option<OwnSending>,
}

/// What a player needs to protect and resend the packets it sends without str0m.
#[derive(Debug, Clone, Default)]
pub struct OwnSending {
    /// Filled with the SRTP keys when the DTLS handshake is done.
    pub keys: KeysSlot,
    /// Video packets kept for NACKs.
    pub resend_packets: usize,
    /// The SSRCs the answer's `a=ssrc` lines announce for audio and video.
    pub audio_ssrc: Option<u32>,
    pub video_ssrc: Option<u32>,
}

impl PeerSetup {
    pub fn tracks(&self) -> StreamTracks {
        StreamTracks { audio: self.audio.as_ref().map(|t| t.codec.clone()), video: self.video.as_ref().map(|t| t.codec.clone()) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    BadSdp(String),
    NoCommonCodecs,
    Rejected(String),
}

impl SetupError {
    /// The `info` of the FAILED status the client gets.
    pub fn info(&self) -> String {
        match self {
            SetupError::BadSdp(why) => format!("Bad SDP: {why}"),
            SetupError::NoCommonCodecs => "No common codecs".into(),
            SetupError::Rejected(why) => format!("SDP offer rejected: {why}"),
        }
    }
}

/// `prefer`: a codec to take when the browser offers it (H.264 for streams bound for RTMP).
pub fn setup_publisher(params: &SetupParams, prefer: Option<CodecName>) -> Result<PeerSetup, SetupError> {
    let offer = parse(params.offer)?;
    build(params, choose_publish_codecs(&offer, prefer), PeerKind::Receives)
}

pub fn setup_player(params: &SetupParams, tracks: &StreamTracks) -> Result<PeerSetup, SetupError> {
    let offer = parse(params.offer)?;
    build(params, choose_play_codecs(&offer, tracks).ok_or(SetupError::NoCommonCodecs)?, PeerKind::ForwardsPayloads)
}

fn parse(offer: &str) -> Result<SessionDescription, SetupError> {
    let parsed = SessionDescription::parse(offer).map_err(|e| SetupError::BadSdp(e.0))?;
    if parsed.media.is_empty() {
        return Err(SetupError::BadSdp("no m-lines".into()));
    }
    Ok(parsed)
}

/// A SIP call's browser side from the browser's offer (an outgoing call): audio both ways in
/// Opus, which the call transcodes for the phone; `with_video`, H.264 both ways as well.
pub fn setup_call_answer(params: &SetupParams, with_video: bool) -> Result<PeerSetup, SetupError> {
    let offer = parse(params.offer)?;
    build(params, choose_call_codecs(&offer, with_video), PeerKind::SendsFrames)
}

/// A SIP call's browser side for an incoming call: the server offers Opus audio both ways, and
/// video in the codec the phone offered (`setRemoteSDP` before `notifyIncomingCall`); the
/// browser's answer comes with `answer`.
pub struct CallOffer {
    /// `answer` holds the server's offer here; the tracks are what it offers.
    pub setup: PeerSetup,
    pub pending: SdpPendingOffer,
}

/// The payload types the server offers, as browsers number them.
const CALL_OPUS_PT: u8 = 111;
const CALL_H264_PT: u8 = 102;
const CALL_VP8_PT: u8 = 96;

/// `video`: H.264 or VP8, or no video.
pub fn setup_call_offer(params: &SetupParams, video: Option<CodecName>) -> Result<CallOffer, SetupError> {
    let opus = TrackCodec { name: CodecName::Opus, clock_rate: 48_000, channels: Some(2), fmtp: "minptime=10;useinbandfec=1".into() };
    let audio = OfferedCodec { mid: String::new(), pt: CALL_OPUS_PT, rtx: None, codec: opus };
    let video = video.map(|name| {
        let (name, pt, fmtp) = match name {
            CodecName::Vp8 => (CodecName::Vp8, CALL_VP8_PT, ""),
            _ => (CodecName::H264, CALL_H264_PT, "packetization-mode=1;profile-level-id=42e01f"),
        };
        let codec = TrackCodec { name, clock_rate: 90_000, channels: None, fmtp: fmtp.into() };
        OfferedCodec { mid: String::new(), pt, rtx: None, codec }
    });
    let (mut rtc, ice_ufrag, _) = new_rtc(params, &ChosenCodecs { audio: Some(audio.clone()), video: video.clone() }, PeerKind::SendsFrames)?;
    let mut change = rtc.sdp_api();
    let stream_id = Some(params.stream_id.to_owned());
    let audio_mid = change.add_media(str0m::media::MediaKind::Audio, Direction::SendRecv, stream_id.clone(), None, None);
    let video_mid = video.as_ref().map(|_| change.add_media(str0m::media::MediaKind::Video, Direction::SendRecv, stream_id, None, None));
    let (offer, pending) = change.apply().ok_or_else(|| SetupError::Rejected("nothing to offer".into()))?;
    let audio = NegotiatedTrack { mid: audio_mid, pt: Pt::from(CALL_OPUS_PT), codec: audio.codec };
    let video = video.zip(video_mid).map(|(video, mid)| NegotiatedTrack { mid, pt: Pt::from(CALL_H264_PT), codec: video.codec });
    let setup = PeerSetup { rtc, answer: offer.to_sdp_string(), ice_ufrag, audio: Some(audio), video, own_sending: None };
    Ok(CallOffer { setup, pending })
}

/// Takes the browser's answer to a [`CallOffer`].
pub fn accept_call_answer(rtc: &mut Rtc, pending: SdpPendingOffer, answer: &str) -> Result<(), SetupError> {
    let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| SetupError::BadSdp(e.to_string()))?;
    rtc.sdp_api().accept_answer(pending, answer).map_err(|e| SetupError::Rejected(e.to_string()))
}

/// What a peer does with media, which decides how its `Rtc` is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerKind {
    /// Only receives: a publisher.
    Receives,
    /// Sends whole frames, which str0m cuts into packets, and receives: a call's browser side.
    SendsFrames,
    /// Sends a stream's frames already cut into RTP payloads shared by all its viewers, and
    /// protects them itself (`player_sender`); str0m runs ICE, DTLS and incoming RTCP: a player.
    ForwardsPayloads,
}

/// An ICE-lite, DTLS-passive `Rtc` with exactly the chosen codecs and our host candidate.
fn new_rtc(params: &SetupParams, chosen: &ChosenCodecs, kind: PeerKind) -> Result<(Rtc, String, Option<OwnSending>), SetupError> {
    let mut rng = rand::rng();
    let ice_ufrag = Alphanumeric.sample_string(&mut rng, 16);
    let mut config = Rtc::builder()
        .set_ice_lite(true)
        .set_local_ice_credentials(IceCreds { ufrag: ice_ufrag.clone(), pass: Alphanumeric.sample_string(&mut rng, 24) })
        .set_dtls_cert(params.identity.cert.clone())
        .clear_codecs()
        .set_send_buffer_video(params.resend_buffers.video.max(1))
        .set_send_buffer_audio(params.resend_buffers.audio.max(1))
        .set_rtp_mode(kind == PeerKind::ForwardsPayloads);
    for offered in [&chosen.audio, &chosen.video].into_iter().flatten() {
        add_codec(&mut config, offered)?;
    }
    if kind != PeerKind::Receives {
        // Transport-wide congestion control feedback is for a sender that adapts its bitrate;
        // a player forwards what the publisher sends, so it negotiates no TWCC, and keeps no
        // register of every packet sent (about 70 KB per player).
        config = config
            .clear_extension_map()
            .set_extension(1, Extension::AudioLevel)
            .set_extension(2, Extension::AbsoluteSendTime)
            .set_extension(4, Extension::RtpMid)
            .set_extension(13, Extension::VideoOrientation);
    }
    let (mut rtc, own_sending) = if kind == PeerKind::ForwardsPayloads {
        // str0m's send streams go after the answer (`take_send_stream`); the player keeps its
        // resend buffer itself and needs the NACKs and keyframe requests, which raw packets show.
        config = config.enable_raw_packets(true);
        let (rtc, keys) = build_reporting_keys(config, params.now);
        (rtc, Some(OwnSending { keys, resend_packets: params.resend_buffers.video, ..OwnSending::default() }))
    } else {
        (config.build(params.now), None)
    };
    let candidate = Candidate::host(params.candidate, "udp").map_err(|e| SetupError::Rejected(format!("candidate: {e}")))?;
    rtc.add_local_candidate(candidate);
    Ok((rtc, ice_ufrag, own_sending))
}

fn build(params: &SetupParams, chosen: ChosenCodecs, kind: PeerKind) -> Result<PeerSetup, SetupError> {
    if chosen.is_empty() {
        return Err(SetupError::NoCommonCodecs);
    }
    let (mut rtc, ice_ufrag, own_sending) = new_rtc(params, &chosen, kind)?;
    let offer = SdpOffer::from_sdp_string(params.offer).map_err(|e| SetupError::BadSdp(e.to_string()))?;
    let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| SetupError::Rejected(e.to_string()))?;
    let mut answer = answer.to_sdp_string();
    if kind != PeerKind::Receives {
        answer = unify_msid(&answer, params.stream_id);
    }
    let negotiated = |offered: &Option<OfferedCodec>| {
        offered.as_ref().map(|o| NegotiatedTrack { mid: Mid::from(o.mid.as_str()), pt: Pt::from(o.pt), codec: o.codec.clone() })
    };
    let (audio, video) = (negotiated(&chosen.audio), negotiated(&chosen.video));
    let own_sending = match own_sending {
        Some(own) => Some(OwnSending {
            audio_ssrc: take_send_stream(&mut rtc, audio.as_ref())?,
            video_ssrc: take_send_stream(&mut rtc, video.as_ref())?,
            ..own
        }),
        None => None,
    };
    Ok(PeerSetup { rtc, answer, ice_ufrag, audio, video, own_sending })
}

/// A player sends on the SSRC str0m announced for `track`, but str0m's own send stream for it
/// would only hold memory (its resend ring, its counters): it is removed, so str0m keeps ICE,
/// DTLS and the incoming RTCP alone.
fn take_send_stream(rtc: &mut Rtc, track: Option<&NegotiatedTrack>) -> Result<Option<u32>, SetupError> {
    let Some(track) = track else { return Ok(None) };
    let mut direct = rtc.direct_api();
    let ssrc = direct.stream_tx_by_mid(track.mid, None).map(|stream| stream.ssrc()).ok_or_else(|| SetupError::Rejected(format!("no send stream for mid {}", track.mid)))?;
    direct.remove_stream_tx(ssrc);
    Ok(Some(*ssrc))
}

fn add_codec(config: &mut str0m::RtcConfig, offered: &OfferedCodec) -> Result<(), SetupError> {
    let codec = match offered.codec.name {
        crate::media::CodecName::Opus => str0m::format::Codec::Opus,
        crate::media::CodecName::Pcmu => str0m::format::Codec::PCMU,
        crate::media::CodecName::Pcma => str0m::format::Codec::PCMA,
        crate::media::CodecName::G722 => str0m::format::Codec::G722,
        crate::media::CodecName::H264 => str0m::format::Codec::H264,
        crate::media::CodecName::Vp8 => str0m::format::Codec::Vp8,
        crate::media::CodecName::Aac => return Err(SetupError::NoCommonCodecs),
    };
    // str0m counts G.722 at 16 kHz although its RTP clock (and rtpmap) says 8 kHz.
    let clock = if codec == str0m::format::Codec::G722 { 16_000 } else { offered.codec.clock_rate };
    let clock = Frequency::new(clock).ok_or_else(|| SetupError::BadSdp("zero clock rate".into()))?;
    config.codec_config().add_config(
        Pt::from(offered.pt),
        offered.rtx.map(Pt::from),
        codec,
        clock,
        offered.codec.channels,
        FormatParams::parse_line(&offered.codec.fmtp),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISH: &str = include_str!("testdata/chrome_publish_offer.sdp");
    const PLAY: &str = include_str!("testdata/chrome_play_offer.sdp");

    fn params<'a>(offer: &'a str, identity: &'a DtlsIdentity) -> SetupParams<'a> {
        SetupParams {
            offer,
            candidate: "127.0.0.1:31000".parse().unwrap(),
            identity,
            stream_id: "stream1",
            resend_buffers: ResendBuffers { video: 32, audio: 8 },
            now: Instant::now(),
        }
    }

    fn rtpmaps(section: &str) -> Vec<&str> {
        section.lines().filter(|l| l.starts_with("a=rtpmap:")).collect()
    }

    #[test]
    fn publisher_answer_is_ice_lite_passive_with_one_codec_per_track() {
        let identity = DtlsIdentity::generate();
        let setup = setup_publisher(&params(PUBLISH, &identity), None).unwrap();
        let answer = &setup.answer;
        assert!(answer.contains("a=ice-lite"), "{answer}");
        assert!(answer.contains("a=setup:passive"), "{answer}");
        assert!(answer.contains("a=group:BUNDLE 0 1"), "{answer}");
        assert!(answer.contains(" 127.0.0.1 31000 typ host"), "{answer}");
        assert!(answer.contains(&format!("a=ice-ufrag:{}", setup.ice_ufrag)), "{answer}");
        assert!(answer.contains("a=rtcp-mux"), "{answer}");
        let (audio, video) = answer.split_once("m=video").unwrap();
        assert_eq!(rtpmaps(audio), ["a=rtpmap:111 opus/48000/2"]);
        assert_eq!(rtpmaps(video), ["a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000"]);
        assert!(audio.contains("a=recvonly") && video.contains("a=recvonly"));
        assert_eq!(setup.video.as_ref().unwrap().codec.name, CodecName::Vp8);
    }

    #[test]
    fn player_answer_sends_the_stream_codecs_under_one_msid() {
        let identity = DtlsIdentity::generate();
        let tracks = StreamTracks {
            audio: Some(TrackCodec { name: CodecName::Opus, clock_rate: 48000, channels: Some(2), fmtp: String::new() }),
            video: Some(TrackCodec {
                name: CodecName::H264,
                clock_rate: 90000,
                channels: None,
                fmtp: "packetization-mode=1;profile-level-id=42e01f".into(),
            }),
        };
        let setup = setup_player(&params(PLAY, &identity), &tracks).unwrap();
        let answer = &setup.answer;
        let (audio, video) = answer.split_once("m=video").unwrap();
        assert!(audio.contains("a=sendonly") && video.contains("a=sendonly"), "{answer}");
        assert_eq!(rtpmaps(video), ["a=rtpmap:108 H264/90000", "a=rtpmap:109 rtx/90000"]);
        assert!(audio.contains("a=msid:stream1 ") && video.contains("a=msid:stream1 "), "{answer}");
        assert!(video.lines().any(|l| l.starts_with("a=ssrc:") && l.contains("msid:stream1")), "{answer}");
        assert_eq!(setup.video.as_ref().unwrap().pt, Pt::from(108));
        assert!(!answer.contains("transport-wide-cc"), "players negotiate no TWCC: {answer}");
        assert!(answer.contains("urn:ietf:params:rtp-hdrext:sdes:mid"), "{answer}");
    }

    #[test]
    fn a_call_answer_carries_opus_both_ways_and_video_only_when_asked() {
        let identity = DtlsIdentity::generate();
        let sendrecv = PUBLISH.replace("a=sendonly", "a=sendrecv");
        let with_video = setup_call_answer(&params(&sendrecv, &identity), true).unwrap();
        let video = with_video.video.as_ref().expect("video negotiated");
        assert_eq!((video.codec.name, video.codec.profile_level_id()), (CodecName::H264, Some(0x42e01f)));
        let (_, video_section) = with_video.answer.split_once("m=video").unwrap();
        assert!(video_section.contains("a=sendrecv") && video_section.contains("H264/90000"), "{video_section}");
        let setup = setup_call_answer(&params(&sendrecv, &identity), false).unwrap();
        let (audio, video) = setup.answer.split_once("m=video").unwrap();
        assert_eq!(rtpmaps(audio), ["a=rtpmap:111 opus/48000/2"]);
        assert!(audio.contains("a=sendrecv"), "{}", setup.answer);
        assert!(video.trim_start().starts_with("0 ") || video.contains("a=inactive"), "video is declined: {video}");
        assert!(setup.video.is_none());
        // A browser that only publishes cannot be a phone.
        assert_eq!(setup_call_answer(&params(PUBLISH, &identity), false).err(), Some(SetupError::NoCommonCodecs));
    }

    #[test]
    fn a_call_offer_takes_the_browsers_answer() {
        let identity = DtlsIdentity::generate();
        let CallOffer { setup: audio_only, .. } = setup_call_offer(&params("", &identity), None).unwrap();
        assert!(!audio_only.answer.contains("m=video") && audio_only.video.is_none(), "{}", audio_only.answer);
        let CallOffer { setup: vp8, .. } = setup_call_offer(&params("", &identity), Some(CodecName::Vp8)).unwrap();
        assert!(vp8.answer.contains("a=rtpmap:96 VP8/90000") && !vp8.answer.contains("H264"), "{}", vp8.answer);
        let CallOffer { mut setup, pending } = setup_call_offer(&params("", &identity), Some(CodecName::H264)).unwrap();
        let offer = setup.answer.clone();
        assert!(offer.contains("a=rtpmap:111 opus/48000/2") && offer.contains("a=sendrecv") && offer.contains("a=ice-lite"), "{offer}");
        assert!(offer.contains("a=rtpmap:102 H264/90000") && offer.contains("profile-level-id=42e01f"), "video for a phone that offers it: {offer}");
        assert!(offer.contains("a=setup:actpass"), "{offer}");
        // A browser-like peer answers it.
        let mut browser = Rtc::builder().build(Instant::now());
        let answer = browser.sdp_api().accept_offer(SdpOffer::from_sdp_string(&offer).unwrap()).unwrap().to_sdp_string();
        accept_call_answer(&mut setup.rtc, pending, &answer).unwrap();
        assert_eq!(setup.audio.unwrap().codec.name, CodecName::Opus);
    }

    #[test]
    fn bad_offers_are_refused_with_a_reason() {
        let identity = DtlsIdentity::generate();
        assert!(matches!(setup_publisher(&params("not sdp", &identity), None), Err(SetupError::BadSdp(_))));
        let no_media = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
        assert!(matches!(setup_publisher(&params(no_media, &identity), None), Err(SetupError::BadSdp(_))));
        let session_part = PUBLISH.split("m=audio").next().unwrap();
        let only_av1 = format!("{session_part}m=video 9 UDP/TLS/RTP/SAVPF 45\r\na=mid:1\r\na=sendonly\r\na=rtpmap:45 AV1/90000\r\n");
        assert_eq!(setup_publisher(&params(&only_av1, &identity), None).err(), Some(SetupError::NoCommonCodecs));
        assert_eq!(SetupError::NoCommonCodecs.info(), "No common codecs");
    }
}
