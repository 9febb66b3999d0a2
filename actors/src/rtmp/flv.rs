//! The audio and video message bodies of RTMP, as FLV tags carry them (FLV spec v10.1 E.4).

/// AVC sequence header: the decoder configuration record.
pub fn avc_sequence_header(record: &[u8]) -> Vec<u8> {
    let mut tag = vec![0x17, 0x00, 0, 0, 0];
    tag.extend_from_slice(record);
    tag
}

/// One AVC access unit, NAL units length-prefixed. `composition_ms` is PTS - DTS (0 without
/// B-frames, as WebRTC sends).
pub fn avc_frame(keyframe: bool, composition_ms: i32, length_prefixed: &[u8]) -> Vec<u8> {
    let cts = composition_ms.to_be_bytes();
    let mut tag = vec![if keyframe { 0x17 } else { 0x27 }, 0x01, cts[1], cts[2], cts[3]];
    tag.extend_from_slice(length_prefixed);
    tag
}

/// End of an AVC sequence (sent before unpublishing).
pub fn avc_end_of_sequence() -> Vec<u8> {
    vec![0x17, 0x02, 0, 0, 0]
}

/// AAC sequence header: the AudioSpecificConfig. The first byte says AAC, 44 kHz class, 16 bit,
/// stereo, as FLV requires for AAC whatever the real format.
pub fn aac_sequence_header(audio_specific_config: &[u8]) -> Vec<u8> {
    let mut tag = vec![0xaf, 0x00];
    tag.extend_from_slice(audio_specific_config);
    tag
}

/// One raw AAC frame.
pub fn aac_frame(raw: &[u8]) -> Vec<u8> {
    let mut tag = vec![0xaf, 0x01];
    tag.extend_from_slice(raw);
    tag
}

/// AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) for AAC-LC.
pub fn aac_lc_audio_specific_config(sample_rate: u32, channels: u8) -> [u8; 2] {
    const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
    let index = RATES.iter().position(|r| *r == sample_rate).unwrap_or(3) as u8;
    let object_type = 2u8; // AAC LC
    [(object_type << 3) | (index >> 1), ((index & 1) << 7) | ((channels & 0x0f) << 3)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_specific_config_of_common_formats() {
        assert_eq!(aac_lc_audio_specific_config(48000, 2), [0x11, 0x90]);
        assert_eq!(aac_lc_audio_specific_config(44100, 2), [0x12, 0x10]);
        assert_eq!(aac_lc_audio_specific_config(8000, 1), [0x15, 0x88]);
    }

    #[test]
    fn tag_headers() {
        assert_eq!(avc_frame(true, 0, &[9]), vec![0x17, 1, 0, 0, 0, 9]);
        assert_eq!(avc_frame(false, 40, &[9]), vec![0x27, 1, 0, 0, 40, 9]);
        assert_eq!(aac_frame(&[1, 2]), vec![0xaf, 1, 1, 2]);
        assert_eq!(aac_sequence_header(&[0x11, 0x90]), vec![0xaf, 0, 0x11, 0x90]);
        assert_eq!(avc_sequence_header(&[1]), vec![0x17, 0, 0, 0, 0, 1]);
    }
}
