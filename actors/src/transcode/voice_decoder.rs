//! Opus from a browser to mono audio at a phone's rate (8 or 16 kHz), with libopus decoding
//! straight at that rate: no 48 kHz audio to make and then resample down.

use super::libopus as ffi;
use super::TranscodeError;
use std::os::raw::c_int;

pub struct VoiceDecoder {
    raw: *mut ffi::RawDecoder,
    /// Room for the longest Opus packet (120 ms) at the output rate.
    buffer: Vec<f32>,
}

// SAFETY: the decoder state is plain memory owned by this value alone.
unsafe impl Send for VoiceDecoder {}

impl VoiceDecoder {
    pub fn new(rate: u32) -> Result<Self, TranscodeError> {
        let mut error: c_int = 0;
        // SAFETY: plain arguments; the result is checked before use.
        let raw = unsafe { ffi::opus_decoder_create(rate as i32, 1, &mut error) };
        if raw.is_null() || error != ffi::OPUS_OK {
            return Err(TranscodeError(format!("libopus cannot decode to {rate} Hz: error {error}")));
        }
        Ok(VoiceDecoder { raw, buffer: vec![0.0; rate as usize * 120 / 1000] })
    }

    /// Decodes one packet (stereo ones mixed down); an undecodable one is an error the
    /// caller may skip.
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[f32], TranscodeError> {
        // SAFETY: `packet` and `buffer` are live for the call, their lengths passed along.
        let samples = unsafe {
            ffi::opus_decode_float(self.raw, packet.as_ptr(), packet.len() as i32, self.buffer.as_mut_ptr(), self.buffer.len() as c_int, 0)
        };
        if samples < 0 {
            return Err(TranscodeError(format!("undecodable Opus packet: error {samples}")));
        }
        Ok(&self.buffer[..samples as usize])
    }
}

impl Drop for VoiceDecoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create, destroyed once.
        unsafe { ffi::opus_decoder_destroy(self.raw) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::{OpusEncoder, Stereo};

    #[test]
    fn a_48k_browser_tone_comes_out_at_8k() {
        let mut browser = OpusEncoder::new(32_000, 1).unwrap();
        let mut decoder = VoiceDecoder::new(8_000).unwrap();
        let mut heard = Vec::new();
        for f in 0..25 {
            let left: Vec<f32> = (0..960).map(|i| ((f * 960 + i) as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5).collect();
            let packet = browser.encode(&Stereo { right: left.clone(), left }).unwrap().remove(0);
            heard.extend_from_slice(decoder.decode(&packet).unwrap());
        }
        assert_eq!(heard.len(), 25 * 160, "20 ms at 8 kHz per packet");
        let upward = heard[800..].windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f32;
        let pitch = upward * 8_000.0 / (heard.len() - 800) as f32;
        assert!((pitch - 440.0).abs() < 15.0, "pitch {pitch}");
        assert!(decoder.decode(&[0xff, 0xff, 0xff]).is_err(), "garbage is refused");
    }
}
