use super::*;

/// Chrome's offer after the WebSDK, minus nothing.
const CHROME: [CodecName; 6] = [CodecName::Opus, CodecName::G722, CodecName::Pcmu, CodecName::Pcma, CodecName::Vp8, CodecName::H264];

fn summary(list: &[LocalCodec]) -> Vec<(CodecName, u8)> {
    list.iter().map(|c| (c.codec.name, c.pt)).collect()
}

#[test]
fn defaults_offer_what_we_carry_in_the_settings_order() {
    for allow_outside_codecs in [true, false] {
        let invite = invite_codecs(DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP, allow_outside_codecs, &CHROME);
        assert_eq!(summary(&invite.audio), [(CodecName::Opus, 96), (CodecName::Pcma, 8), (CodecName::Pcmu, 0), (CodecName::G722, 9)]);
        assert_eq!(summary(&invite.video), [(CodecName::H264, 97), (CodecName::Vp8, 98)]);
        assert!(invite.telephone_event);
    }
}

#[test]
fn a_browser_that_stripped_pcma_still_reaches_a_pcma_phone_through_opus() {
    let browser = [CodecName::Opus, CodecName::G722, CodecName::Pcmu, CodecName::Vp8];
    let invite = invite_codecs(DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP, false, &browser);
    assert_eq!(summary(&invite.audio), [(CodecName::Opus, 96), (CodecName::Pcma, 8), (CodecName::Pcmu, 0), (CodecName::G722, 9)]);
    assert_eq!(summary(&invite.video), [(CodecName::Vp8, 97)], "H.264 was not offered by the browser");
    assert!(invite.telephone_event);
}

#[test]
fn without_opus_only_what_the_browser_offered_is_left() {
    let browser = [CodecName::Pcmu];
    let invite = invite_codecs(DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP, false, &browser);
    assert_eq!(summary(&invite.audio), [(CodecName::Pcmu, 0)]);
    assert!(invite.video.is_empty() && invite.telephone_event);
    assert_eq!(invite.video_media(30002, Direction::SendRecv), None);

    let allowed = invite_codecs(DEFAULT_CODECS, DEFAULT_CODECS_EXCLUDE_SIP, true, &browser);
    assert_eq!(allowed.audio.len(), 4);
    assert_eq!(allowed.video.len(), 2);
}

#[test]
fn reads_names_case_insensitively_and_honours_the_exclusions() {
    let invite = invite_codecs(" OPUS, ALaw ,ulaw,G722, Telephone-Event,VP8 ,h264,opus", "G722, flv", true, &[]);
    assert_eq!(summary(&invite.audio), [(CodecName::Opus, 96), (CodecName::Pcma, 8), (CodecName::Pcmu, 0)]);
    assert_eq!(summary(&invite.video), [(CodecName::Vp8, 97), (CodecName::H264, 98)]);
    assert!(invite.telephone_event);

    // The WCS advice for INVITEs larger than the MTU.
    let trimmed = invite_codecs(DEFAULT_CODECS, "mpeg4-generic,flv,mpv,opus,ulaw,h264,g722,g729,telephone-event", false, &CHROME);
    assert_eq!(summary(&trimmed.audio), [(CodecName::Pcma, 8)]);
    assert_eq!(summary(&trimmed.video), [(CodecName::Vp8, 96)]);
    assert!(!trimmed.telephone_event);
}

#[test]
fn skips_what_we_cannot_carry() {
    let invite = invite_codecs("g729,speex16,mpeg4-generic,flv,mpv,silk,,", "", true, &CHROME);
    assert_eq!(invite, InviteCodecs::default());
}

#[test]
fn never_gives_a_codec_the_telephone_event_payload_type() {
    let invite = invite_codecs("opus,h264,vp8,telephone-event", "", true, &[]);
    let audio = invite.audio_media(30000, Direction::SendOnly);
    assert_eq!(audio.telephone_event, Some(TelephoneEvent { pt: TELEPHONE_EVENT_PT, clock_rate: 8000 }));
    assert_eq!((audio.direction, audio.ptime), (Direction::SendOnly, Some(PTIME_MS)));
    let all_payload_types: Vec<u8> = invite.audio.iter().chain(&invite.video).map(|c| c.pt).collect();
    assert!(!all_payload_types.contains(&TELEPHONE_EVENT_PT));
    assert_eq!(invite.video_media(30002, Direction::SendRecv).map(|v| v.codecs.len()), Some(2));
}
