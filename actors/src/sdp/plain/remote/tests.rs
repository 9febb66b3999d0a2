use super::*;

/// What sipp's built-in `uac` scenario sends: one static payload type, no rtpmap.
const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";

/// An Asterisk/Kamailio-style offer: G.711 both laws, G.722 and DTMF, rtpmap only for the dynamic type.
const PBX_OFFER: &str = "v=0\r\n\
o=- 1714 1714 IN IP4 192.168.1.20\r\n\
s=Asterisk\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
m=audio 10018 RTP/AVP 0 8 9 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=rtcp:10021\r\n\
a=ptime:20\r\n\
a=maxptime:150\r\n\
a=sendrecv\r\n";

/// A video phone (Linphone-like): Opus first, video on another address, a codec we do not know.
const VIDEO_OFFER: &str = "v=0\r\n\
o=alice 3712 3713 IN IP4 192.168.1.31\r\n\
s=Talk\r\n\
c=IN IP4 192.168.1.31\r\n\
t=0 0\r\n\
m=audio 7078 RTP/AVP 96 0 8 97 101 100\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=rtpmap:100 telephone-event/8000\r\n\
m=video 9078 RTP/AVP 102 103\r\n\
c=IN IP4 192.168.1.32\r\n\
a=rtpmap:102 VP8/90000\r\n\
a=rtpmap:103 H264/90000\r\n\
a=fmtp:103 profile-level-id=42801F;packetization-mode=1\r\n\
a=recvonly\r\n";

fn offer(text: &str) -> PlainSdp {
    PlainSdp::parse(text).expect("test SDP parses")
}

#[test]
fn reads_a_sipp_offer_with_a_bare_static_payload_type() {
    let sdp = offer(SIPP_OFFER);
    assert_eq!(sdp.media.len(), 1);
    let audio = sdp.audio().expect("audio");
    assert_eq!(audio.rtp_target(), Some("127.0.0.1:6000".parse().unwrap()));
    assert_eq!(audio.rtcp_target(), Some("127.0.0.1:6001".parse().unwrap()));
    assert_eq!(audio.direction, Direction::SendRecv);
    assert!(audio.is_plain_rtp() && !audio.is_hold() && !audio.is_rejected());
    let pcmu = TrackCodec { name: CodecName::Pcmu, clock_rate: 8000, channels: None, fmtp: String::new() };
    assert_eq!(audio.payloads, [RemotePayload { pt: 0, encoding: Encoding::Codec(pcmu) }]);
    assert_eq!(audio.telephone_events().next(), None);
    assert_eq!((audio.ptime, audio.rtcp_port), (None, None));
    assert!(sdp.video().is_none());
}

#[test]
fn reads_a_pbx_offer_with_telephone_event() {
    let audio = offer(PBX_OFFER).audio().cloned().expect("audio");
    let names: Vec<_> = audio.codecs().map(|(pt, c)| (pt, c.name, c.clock_rate)).collect();
    assert_eq!(names, [(0, CodecName::Pcmu, 8000), (8, CodecName::Pcma, 8000), (9, CodecName::G722, 8000)]);
    assert_eq!(audio.telephone_event_for(8000), Some(TelephoneEvent { pt: 101, clock_rate: 8000 }));
    assert_eq!(audio.ptime, Some(20));
    assert_eq!(audio.rtcp_target(), Some("192.168.1.20:10021".parse().unwrap()));
    assert_eq!(audio.first_codec_among(&[CodecName::G722, CodecName::Pcma]).map(|(pt, _)| pt), Some(8));
}

#[test]
fn reads_audio_and_video_with_a_media_level_address() {
    let sdp = offer(VIDEO_OFFER);
    let audio = sdp.audio().expect("audio");
    let opus = audio.codecs().next().expect("opus");
    assert_eq!((opus.0, opus.1.describe(), opus.1.fmtp.as_str()), (96, "opus/48000/2".to_owned(), "useinbandfec=1"));
    assert_eq!(audio.payloads[3].encoding, Encoding::Unsupported { name: Some("speex/16000".into()) });
    assert_eq!(audio.telephone_event_for(48000), Some(TelephoneEvent { pt: 101, clock_rate: 48000 }));
    assert_eq!(audio.telephone_event_for(8000), Some(TelephoneEvent { pt: 100, clock_rate: 8000 }));
    let video = sdp.video().expect("video");
    assert_eq!(video.rtp_target(), Some("192.168.1.32:9078".parse().unwrap()));
    assert_eq!(audio.rtp_target(), Some("192.168.1.31:7078".parse().unwrap()));
    assert_eq!(video.direction, Direction::RecvOnly);
    assert_eq!(video.first_codec_among(&[CodecName::H264]).map(|(pt, c)| (pt, c.packetization_mode())), Some((103, 1)));
}

#[test]
fn reads_both_ways_of_holding() {
    let sendonly = offer(&PBX_OFFER.replace("a=sendrecv", "a=sendonly"));
    let audio = sendonly.audio().expect("audio");
    assert_eq!(audio.direction, Direction::SendOnly);
    assert!(audio.is_hold());
    assert!(audio.rtp_target().is_some());

    // RFC 2543 hold: the address says it, the attribute does not.
    let zero_address = offer(&PBX_OFFER.replace("c=IN IP4 192.168.1.20", "c=IN IP4 0.0.0.0"));
    let audio = zero_address.audio().expect("audio");
    assert_eq!(audio.direction, Direction::SendRecv);
    assert_eq!(audio.effective_direction(), Direction::SendOnly);
    assert!(audio.is_hold());
    assert_eq!((audio.rtp_target(), audio.rtcp_target()), (None, None));
}

#[test]
fn media_level_direction_wins_over_session_level() {
    let session_inactive = SIPP_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n");
    assert_eq!(offer(&session_inactive).media[0].direction, Direction::Inactive);
    let overridden = format!("{session_inactive}a=recvonly\r\n");
    assert_eq!(offer(&overridden).media[0].direction, Direction::RecvOnly);
}

#[test]
fn keeps_what_it_cannot_carry_without_failing() {
    let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                m=audio 4000 RTP/AVP 18 3 120 0 98\r\na=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\na=rtpmap:98 PCMU/16000\r\n\
                m=application 5000 UDP/BFCP *\r\n";
    let sdp = offer(text);
    let encodings: Vec<_> = sdp.media[0].payloads.iter().map(|p| p.encoding.clone()).collect();
    assert_eq!(encodings[0], Encoding::Unsupported { name: Some("G729/8000".into()) });
    assert_eq!(encodings[1], Encoding::Unsupported { name: Some("GSM/8000".into()) });
    assert_eq!(encodings[2], Encoding::Unsupported { name: None });
    assert!(matches!(&encodings[3], Encoding::Codec(c) if c.name == CodecName::Pcmu));
    assert_eq!(encodings[4], Encoding::Unsupported { name: Some("PCMU/16000".into()) });
    let application = &sdp.media[1];
    assert_eq!((application.kind.as_str(), application.media_kind(), application.formats.clone()), ("application", None, vec!["*".to_owned()]));
}

#[test]
fn reads_lf_only_ipv6_and_multicast_ttl() {
    let ipv6 = offer("v=0\nc=IN IP6 2001:db8::7\nm=audio 5004 RTP/AVP 8\n");
    assert_eq!(ipv6.media[0].rtp_target(), Some("[2001:db8::7]:5004".parse().unwrap()));
    let multicast = offer("v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 5004 RTP/AVP 8\r\n");
    assert_eq!(multicast.media[0].address, IpAddr::V4(Ipv4Addr::new(224, 2, 1, 1)));
}

#[test]
fn a_disabled_stream_needs_no_address() {
    let sdp = offer("v=0\r\nm=video 0 RTP/AVP 96\r\nm=audio 5004 RTP/AVP 0\r\nc=IN IP4 10.1.1.1\r\n");
    assert!(sdp.video().is_some_and(|v| v.is_rejected() && v.rtp_target().is_none()));
    assert_eq!(sdp.audio().and_then(RemoteMedia::rtp_target), Some("10.1.1.1:5004".parse().unwrap()));
}

#[test]
fn names_what_is_wrong_with_bad_input() {
    let error = |text: &str| PlainSdp::parse(text).expect_err(text).0;
    assert!(error("").contains("v=0"));
    assert!(error("INVITE sip:bob@example.com SIP/2.0\r\n").contains("v=0"));
    assert!(error("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n").contains("bad port"));
    assert!(error("v=0\r\nc=IN IP4 999.1.1.1\r\nm=audio 5 RTP/AVP 0\r\n").contains("999.1.1.1"));
    assert!(error("v=0\r\nc=IN IP4\r\nm=audio 5 RTP/AVP 0\r\n").contains("c=IN IP4"));
    assert!(error("v=0\r\nc=ATM NSAP 47.0005\r\nm=audio 5 RTP/AVP 0\r\n").contains("ATM"));
    assert!(error("v=0\r\nc=IN IP4 pbx.example.com\r\nm=audio 5 RTP/AVP 0\r\n").contains("pbx.example.com"));
    assert!(error("v=0\r\nc=IN IP6 10.0.0.1\r\nm=audio 5 RTP/AVP 0\r\n").contains("IP6"));
    assert!(error("v=0\r\nm=audio 5000 RTP/AVP 0\r\n").contains("no c= line"));
    assert!(error("v=0\r\nthis is not SDP\r\n").contains("not <type>=<value>"));
}
