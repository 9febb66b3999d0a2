use super::*;
use crate::media::{CodecName, TrackCodec};
use crate::sdp::plain::{invite_codecs, Encoding, PlainSdp, DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP, TELEPHONE_EVENT_PT};
use std::net::{Ipv4Addr, Ipv6Addr};

const SESSION: LocalSession = LocalSession { address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), session_id: 42, session_version: 1 };

fn g711_audio(direction: Direction) -> LocalMedia {
    let pcmu = TrackCodec { name: CodecName::Pcmu, clock_rate: 8000, channels: None, fmtp: String::new() };
    LocalMedia {
        port: 30000,
        codecs: vec![LocalCodec { pt: 0, codec: pcmu }],
        telephone_event: Some(TelephoneEvent { pt: TELEPHONE_EVENT_PT, clock_rate: 8000 }),
        direction,
        ptime: Some(PTIME_MS),
    }
}

fn lines(sdp: &str) -> Vec<&str> {
    assert!(sdp.ends_with("\r\n") && !sdp.replace("\r\n", "").contains('\n'), "CRLF only: {sdp:?}");
    sdp.split_terminator("\r\n").collect()
}

#[test]
fn writes_an_invite_offer_from_the_default_settings() {
    let browser = [CodecName::Opus, CodecName::Pcmu, CodecName::Pcma, CodecName::G722, CodecName::H264, CodecName::Vp8];
    let codecs = invite_codecs(DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP, false, &browser);
    let video = codecs.video_media(30002, Direction::SendRecv);
    let sdp = build_offer(&SESSION, &codecs.audio_media(30000, Direction::SendRecv), video.as_ref(), &[]);
    assert_eq!(
        lines(&sdp),
        [
            "v=0",
            "o=ferrophone 42 1 IN IP4 192.0.2.10",
            "s=ferrophone",
            "c=IN IP4 192.0.2.10",
            "t=0 0",
            "m=audio 30000 RTP/AVP 96 8 0 9 101",
            "a=rtpmap:96 opus/48000/2",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
            "m=video 30002 RTP/AVP 97 98",
            "a=rtpmap:97 H264/90000",
            "a=fmtp:97 packetization-mode=1;profile-level-id=42e01f",
            "a=rtpmap:98 VP8/90000",
            "a=sendrecv",
        ]
    );
}

#[test]
fn puts_sip_sdp_lines_after_c_and_before_t() {
    // The WCS example (with its stray blank), and lines that must never reach the wire.
    let extra: Vec<String> = [
        "b=AS:3000",
        "b=TIAS:2500000",
        " b=RS:1000",
        "b=RR:3000",
        "bandwidth 3000",
        "",
        "b=",
        "B=AS:1",
        "m=video 5 RTP/AVP 96",
        "t=1 2",
        "c=IN IP4 6.6.6.6",
        "a=x\r\nBYE sip:bob@example.com SIP/2.0",
        "b=CT:64\n",
    ]
    .map(String::from)
    .to_vec();
    let sdp = build_offer(&SESSION, &g711_audio(Direction::SendRecv), None, &extra);
    assert_eq!(
        lines(&sdp)[..10],
        [
            "v=0",
            "o=ferrophone 42 1 IN IP4 192.0.2.10",
            "s=ferrophone",
            "c=IN IP4 192.0.2.10",
            "b=AS:3000",
            "b=TIAS:2500000",
            "b=RS:1000",
            "b=RR:3000",
            "t=0 0",
            "m=audio 30000 RTP/AVP 0 101",
        ]
    );
    assert_eq!(usable_extra_lines(&["a=tool:x".to_owned()]).collect::<Vec<_>>(), ["a=tool:x"]);
}

#[test]
fn holds_with_sendonly_and_bumps_the_version() {
    let hold = LocalSession { session_version: 2, ..SESSION };
    let sdp = build_offer(&hold, &g711_audio(Direction::SendOnly), None, &[]);
    assert!(sdp.contains("o=ferrophone 42 2 IN IP4 192.0.2.10\r\n"));
    assert!(sdp.ends_with("a=ptime:20\r\na=sendonly\r\n"));
    let parsed = PlainSdp::parse(&sdp).expect("our own SDP parses");
    assert!(parsed.audio().is_some_and(|a| a.direction == Direction::SendOnly && a.rtp_target().is_some()));
}

#[test]
fn reads_back_what_it_writes() {
    let session = LocalSession { address: IpAddr::V6(Ipv6Addr::LOCALHOST), ..SESSION };
    let sdp = build_offer(&session, &g711_audio(Direction::SendRecv), None, &[]);
    assert!(sdp.contains("c=IN IP6 ::1\r\n"));
    let parsed = PlainSdp::parse(&sdp).expect("our own SDP parses");
    let audio = parsed.audio().expect("audio");
    assert_eq!(audio.rtp_target(), Some("[::1]:30000".parse().unwrap()));
    assert_eq!(audio.payloads[1].encoding, Encoding::TelephoneEvent { clock_rate: 8000 });
    assert_eq!(audio.first_codec_among(&[CodecName::Pcmu]).map(|(pt, c)| (pt, c.clock_rate)), Some((0, 8000)));
}
