//! One call's audio both ways between a browser (Opus, 48 kHz) and a phone (G.711 or G.722):
//! what the browser says becomes 20 ms phone payloads, what the phone says becomes 20 ms Opus
//! packets. The call's RTP leg does this work itself, on the media thread of the call's
//! browser peer: a thread per call, or a transcoder task apart from the leg, would wake and
//! switch for every packet.

use super::{OpusEncoder, TelephonyDecoder, TelephonyEncoder, TranscodeError, VoiceDecoder};
use crate::media::CodecName;

/// Opus to the browser: plenty for telephone speech, and cheap (complexity 0 codes it as
/// closely as 1 at two thirds of the work; see `a_phones_voice_comes_out_close_to_what_went_in`).
const OPUS_BITRATE: usize = 24_000;
const OPUS_COMPLEXITY: u8 = 0;

/// The codec work of a call.
pub struct CallAudio {
    from_browser: VoiceDecoder,
    to_phone: TelephonyEncoder,
    from_phone: TelephonyDecoder,
    to_browser: OpusEncoder,
    /// Audio from the phone (at its codec's rate) not yet a whole Opus frame.
    pending: Vec<f32>,
    /// The phone's RTP clock (8000 for G.711 and G.722).
    phone_clock: u32,
}

impl CallAudio {
    pub fn new(phone_codec: CodecName) -> Result<Self, TranscodeError> {
        // Both ways at the phone's own rate: Opus decodes to it and encodes from it directly,
        // so no 48 kHz audio is made or resampled, and narrow- or wideband speech costs Opus
        // far less than 48 kHz audio.
        let from_phone = TelephonyDecoder::at_codec_rate(phone_codec)?;
        let to_browser = OpusEncoder::for_voice(OPUS_BITRATE, from_phone.output_rate(), OPUS_COMPLEXITY)?;
        let to_phone = TelephonyEncoder::new(phone_codec)?;
        Ok(CallAudio {
            from_browser: VoiceDecoder::new(to_phone.sample_rate())?,
            to_phone,
            from_phone,
            to_browser,
            pending: Vec::new(),
            phone_clock: 8_000,
        })
    }

    /// One Opus packet from the browser → the phone payloads it completes.
    pub fn browser_to_phone(&mut self, opus: &[u8]) -> Result<Vec<Vec<u8>>, TranscodeError> {
        let pcm = self.from_browser.decode(opus)?;
        self.to_phone.encode(pcm)
    }

    /// One phone payload → the Opus packets it completes.
    pub fn phone_to_browser(&mut self, payload: &[u8]) -> Result<Vec<Vec<u8>>, TranscodeError> {
        self.from_phone.decode_mono(payload, &mut self.pending)?;
        self.encode_pending()
    }

    /// Lost phone audio (`ticks` of its RTP clock) becomes silence, so the browser's clock
    /// keeps going.
    pub fn phone_lost(&mut self, ticks: u32) -> Result<Vec<Vec<u8>>, TranscodeError> {
        let rate = self.from_phone.output_rate() as usize;
        let samples = ticks as usize * rate / self.phone_clock as usize;
        self.pending.resize(self.pending.len() + samples.min(rate), 0.0);
        self.encode_pending()
    }

    /// Every whole Opus frame of the pending audio.
    fn encode_pending(&mut self) -> Result<Vec<Vec<u8>>, TranscodeError> {
        let frame = self.to_browser.frame_samples();
        let whole = self.pending.len() / frame * frame;
        let packets = self.pending[..whole].chunks(frame).map(|samples| self.to_browser.encode_mono(samples)).collect();
        self.pending.drain(..whole);
        packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::{OpusDecoder, Stereo, OPUS_FRAME_SAMPLES};

    fn tone_frames(frames: usize) -> Vec<Stereo> {
        (0..frames)
            .map(|f| {
                let left: Vec<f32> = (0..OPUS_FRAME_SAMPLES)
                    .map(|i| (((f * OPUS_FRAME_SAMPLES + i) as f32) * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5)
                    .collect();
                Stereo { right: left.clone(), left }
            })
            .collect()
    }

    #[test]
    fn a_second_each_way_is_fifty_packets_each_way() {
        let mut call = CallAudio::new(CodecName::Pcmu).unwrap();
        let mut browser = OpusEncoder::new(32_000, 1).unwrap();
        let opus: Vec<Vec<u8>> = tone_frames(50).iter().flat_map(|f| browser.encode(f).unwrap()).collect();
        let to_phone: Vec<Vec<u8>> = opus.iter().flat_map(|p| call.browser_to_phone(p).unwrap()).collect();
        assert!((48..=50).contains(&to_phone.len()), "{}", to_phone.len());
        assert!(to_phone.iter().all(|p| p.len() == 160));
        // And back: the phone's packets (plus one lost) become 20 ms Opus packets.
        let mut to_browser: Vec<Vec<u8>> = to_phone.iter().flat_map(|p| call.phone_to_browser(p).unwrap()).collect();
        to_browser.extend(call.phone_lost(160).unwrap());
        assert!((48..=51).contains(&to_browser.len()), "{}", to_browser.len());
        let mut decoder = OpusDecoder::new().unwrap();
        let heard: Vec<f32> = to_browser.iter().flat_map(|p| decoder.decode(p).unwrap().left).collect();
        let peak = heard[9_600..].iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.3, "the tone came through: peak {peak}");
    }

    #[test]
    fn wideband_g722_goes_into_opus_at_16_khz() {
        let mut call = CallAudio::new(CodecName::G722).unwrap();
        let mut browser = OpusEncoder::new(32_000, 1).unwrap();
        let opus: Vec<Vec<u8>> = tone_frames(50).iter().flat_map(|f| browser.encode(f).unwrap()).collect();
        let to_phone: Vec<Vec<u8>> = opus.iter().flat_map(|p| call.browser_to_phone(p).unwrap()).collect();
        let to_browser: Vec<Vec<u8>> = to_phone.iter().flat_map(|p| call.phone_to_browser(p).unwrap()).collect();
        assert!((48..=50).contains(&to_browser.len()), "20 ms each: {}", to_browser.len());
        let mut decoder = OpusDecoder::new().unwrap();
        let heard: Vec<f32> = to_browser.iter().flat_map(|p| decoder.decode(p).unwrap().left).collect();
        assert_eq!(heard.len(), to_browser.len() * OPUS_FRAME_SAMPLES, "48 kHz for the browser");
        let peak = heard[9_600..].iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.3, "the tone came through: peak {peak}");
    }
}
