use super::*;
use std::net::{IpAddr, Ipv4Addr};

const SESSION: LocalSession = LocalSession { address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), session_id: 7, session_version: 1 };
const ALL: [CodecName; 6] = [CodecName::Opus, CodecName::Pcmu, CodecName::Pcma, CodecName::G722, CodecName::H264, CodecName::Vp8];

const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";

const PBX_OFFER: &str = "v=0\r\no=- 1714 1714 IN IP4 192.168.1.20\r\ns=Asterisk\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\n\
                         m=audio 10018 RTP/AVP 0 8 9 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:30\r\na=sendrecv\r\n";

const VIDEO_OFFER: &str = "v=0\r\no=alice 3712 3713 IN IP4 192.168.1.31\r\ns=Talk\r\nc=IN IP4 192.168.1.31\r\nt=0 0\r\n\
                           m=audio 7078 RTP/AVP 96 0 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n\
                           m=video 9078 RTP/AVP 102 103\r\na=rtpmap:102 VP8/90000\r\na=rtpmap:103 H264/90000\r\n\
                           m=application 9 UDP/BFCP *\r\n";

fn setup<'a>(codecs: &'a [CodecName], extra_lines: &'a [String]) -> AnswerSetup<'a> {
    AnswerSetup { session: SESSION, audio_port: 40000, video_port: Some(40002), codecs, direction: Direction::SendRecv, extra_lines }
}

fn answer(offer: &str, setup: &AnswerSetup<'_>) -> Result<Answer, NotAcceptable> {
    build_answer(&PlainSdp::parse(offer).expect("test offer parses"), setup)
}

fn m_lines(sdp: &str) -> Vec<&str> {
    sdp.split_terminator("\r\n").filter(|l| l.starts_with("m=")).collect()
}

#[test]
fn answers_sipp_with_pcmu() {
    let answer = answer(SIPP_OFFER, &setup(&ALL, &[])).expect("PCMU is common");
    assert_eq!(
        answer.sdp,
        "v=0\r\no=ferrophone 7 1 IN IP4 192.0.2.10\r\ns=ferrophone\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    assert_eq!((answer.audio.pt, answer.audio.codec.name, answer.audio.telephone_event), (0, CodecName::Pcmu, None));
    assert_eq!(answer.audio.rtp_target, Some("127.0.0.1:6000".parse().unwrap()));
    assert_eq!(answer.video, None);
}

#[test]
fn takes_the_offerers_first_common_codec_and_echoes_telephone_event() {
    let answer = answer(PBX_OFFER, &setup(&[CodecName::G722, CodecName::Pcma], &[])).expect("PCMA is common");
    assert_eq!((answer.audio.pt, answer.audio.codec.name), (8, CodecName::Pcma));
    assert_eq!(answer.audio.telephone_event, Some(TelephoneEvent { pt: 101, clock_rate: 8000 }));
    assert_eq!(answer.audio.remote_ptime, Some(30));
    assert!(answer.sdp.contains("m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"));
    assert_eq!(answer.audio.rtcp_target, Some("192.168.1.20:10019".parse().unwrap()));
}

#[test]
fn mirrors_a_hold() {
    let sendonly = answer(&PBX_OFFER.replace("a=sendrecv", "a=sendonly"), &setup(&ALL, &[])).expect("answer");
    assert_eq!(sendonly.audio.direction, Direction::RecvOnly);
    assert!(sendonly.sdp.ends_with("a=recvonly\r\n"));

    let inactive = answer(&PBX_OFFER.replace("a=sendrecv", "a=inactive"), &setup(&ALL, &[])).expect("answer");
    assert!(inactive.sdp.ends_with("a=inactive\r\n"));

    let recvonly = answer(&PBX_OFFER.replace("a=sendrecv", "a=recvonly"), &setup(&ALL, &[])).expect("answer");
    assert!(recvonly.sdp.ends_with("a=sendonly\r\n"));

    // RFC 2543 hold: nowhere to send to, so we only receive.
    let zero_address = answer(&PBX_OFFER.replace("c=IN IP4 192.168.1.20", "c=IN IP4 0.0.0.0"), &setup(&ALL, &[])).expect("answer");
    assert_eq!((zero_address.audio.direction, zero_address.audio.rtp_target), (Direction::RecvOnly, None));
}

#[test]
fn our_own_hold_narrows_the_answer() {
    let holding = AnswerSetup { direction: Direction::SendOnly, ..setup(&ALL, &[]) };
    assert_eq!(answer(PBX_OFFER, &holding).expect("answer").audio.direction, Direction::SendOnly);
    let both_hold = answer(&PBX_OFFER.replace("a=sendrecv", "a=sendonly"), &holding).expect("answer");
    assert_eq!(both_hold.audio.direction, Direction::Inactive);
}

#[test]
fn answers_video_and_declines_what_it_cannot_serve() {
    let answer = answer(VIDEO_OFFER, &setup(&ALL, &[])).expect("answer");
    assert_eq!((answer.audio.pt, answer.audio.codec.describe()), (96, "opus/48000/2".to_owned()));
    assert_eq!(answer.audio.telephone_event, Some(TelephoneEvent { pt: 101, clock_rate: 48000 }));
    let video = answer.video.expect("video");
    assert_eq!((video.pt, video.codec.name, video.telephone_event), (102, CodecName::Vp8, None));
    assert_eq!(m_lines(&answer.sdp), ["m=audio 40000 RTP/AVP 96 101", "m=video 40002 RTP/AVP 102", "m=application 0 UDP/BFCP *"]);
    assert!(!answer.sdp.split("m=video").nth(1).unwrap_or_default().contains("a=ptime"), "no ptime for video");
}

#[test]
fn declines_video_without_a_video_port_or_codec() {
    let no_video_port = AnswerSetup { video_port: None, ..setup(&ALL, &[]) };
    let answer_without_port = answer(VIDEO_OFFER, &no_video_port).expect("audio still works");
    assert_eq!(answer_without_port.video, None);
    assert_eq!(m_lines(&answer_without_port.sdp)[1], "m=video 0 RTP/AVP 102 103");

    // H.264 in packetization mode 0 only: not what our H.264 path sends.
    let audio_and_h264 = [CodecName::Pcmu, CodecName::H264];
    assert_eq!(answer(VIDEO_OFFER, &setup(&audio_and_h264, &[])).expect("audio still works").video, None);
}

#[test]
fn answers_only_the_first_audio_stream() {
    let two_audio = format!("{SIPP_OFFER}m=audio 6002 RTP/AVP 8\r\n");
    let answer = answer(&two_audio, &setup(&ALL, &[])).expect("answer");
    assert_eq!(m_lines(&answer.sdp), ["m=audio 40000 RTP/AVP 0", "m=audio 0 RTP/AVP 8"]);
}

#[test]
fn refuses_an_offer_without_a_common_audio_codec() {
    let g729_only = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18 101\r\n\
                     a=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\n";
    let refusal = answer(g729_only, &setup(&ALL, &[])).expect_err("nothing in common");
    assert_eq!(refusal.0, "no audio codec in common; offered G729/8000, telephone-event/8000");

    let srtp = SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP");
    assert!(answer(&srtp, &setup(&ALL, &[])).expect_err("no SRTP").0.contains("RTP/SAVP"));
    let video_only = "v=0\r\nc=IN IP4 10.0.0.9\r\nm=video 4000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
    assert_eq!(answer(video_only, &setup(&ALL, &[])).expect_err("no audio").0, "no audio stream offered");
    assert!(answer(PBX_OFFER, &setup(&[CodecName::Opus], &[])).is_err());
    let disabled = SIPP_OFFER.replace("6000", "0");
    assert!(answer(&disabled, &setup(&ALL, &[])).expect_err("audio disabled").0.contains("port 0"));
    // A video codec on an audio line is no audio codec.
    let confused = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 96\r\na=rtpmap:96 VP8/90000");
    assert!(answer(&confused, &setup(&ALL, &[])).is_err());
}

#[test]
fn puts_sip_sdp_lines_into_the_answer_too() {
    let extra = ["b=AS:3000".to_owned(), "junk".to_owned()];
    let answer = answer(SIPP_OFFER, &setup(&ALL, &extra)).expect("answer");
    assert!(answer.sdp.contains("\r\nc=IN IP4 192.0.2.10\r\nb=AS:3000\r\nt=0 0\r\n"));
    assert!(!answer.sdp.contains("junk"));
}

#[test]
fn the_answer_reads_back() {
    let answer = answer(VIDEO_OFFER, &setup(&ALL, &[])).expect("answer");
    let parsed = PlainSdp::parse(&answer.sdp).expect("our answer parses");
    assert_eq!(parsed.media.len(), 3);
    assert_eq!(parsed.audio().and_then(|a| a.first_codec_among(&ALL)).map(|(pt, _)| pt), Some(96));
    assert!(parsed.media[2].is_rejected());
}
