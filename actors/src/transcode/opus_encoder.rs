//! Opus encoding of mono or stereo in 20 ms packets, as WebRTC sends it, with libopus's own
//! single-stream API. FFmpeg's libopus wrapper goes through the multistream API, which asks
//! the CPU for its features (CPUID) on every frame: on a virtual machine each of those traps to
//! the hypervisor, and that cost as much as the encoding itself.

use super::libopus as ffi;
use super::{Stereo, TranscodeError};
use std::os::raw::c_int;

pub const OPUS_FRAME_SAMPLES: usize = 960;

/// The most a 20 ms packet can take (RFC 6716 allows 1275 bytes per frame).
const MAX_PACKET: usize = 1500;

pub struct OpusEncoder {
    raw: *mut ffi::RawEncoder,
    stereo: bool,
    /// Samples per channel in one 20 ms packet at the input rate.
    frame_samples: usize,
    /// Interleaved input and the encoded packet, kept to save allocations per packet.
    interleaved: Vec<f32>,
    packet: Vec<u8>,
}

// SAFETY: the encoder state is plain memory owned by this value alone; libopus keeps no
// thread-local or shared state for it.
unsafe impl Send for OpusEncoder {}

impl OpusEncoder {
    /// 48 kHz input. `channels` 1 encodes the left channel alone, as a browser's microphone sends.
    pub fn new(bitrate: usize, channels: u8) -> Result<Self, TranscodeError> {
        Self::with_settings(bitrate, channels, 10, 48_000)
    }

    /// Mono voice from a phone, at the phone's own rate (8 or 16 kHz, which Opus takes as it
    /// is, so nothing is upsampled) with `complexity` 0–10. The packets are ordinary
    /// 48 kHz-clock Opus for the browser. CELT alone, in its low-delay mode: for speech a
    /// telephone codec has already narrowed it codes as close to the input as the usual
    /// SILK-or-CELT choice, with a third less work and 2.5 ms of delay instead of 6.5 ms.
    pub fn for_voice(bitrate: usize, input_rate: u32, complexity: u8) -> Result<Self, TranscodeError> {
        Self::create(bitrate, 1, complexity, input_rate, ffi::OPUS_APPLICATION_RESTRICTED_LOWDELAY)
    }

    /// A caller's voice as WebRTC codes a desktop microphone: 48 kHz mono in VoIP mode at
    /// complexity 9, at `bitrate` (32 kbps is WebRTC's default for mono), no wider than a
    /// receiver's `max_playback_rate` (Hz; WebRTC caps its encoder so). The input is taken as
    /// speech, which libopus codes with SILK (alone, or under CELT when wide): a synthetic tone
    /// would otherwise be coded as music, with CELT alone, which a caller's speech is not.
    pub fn like_webrtc_microphone(bitrate: usize, max_playback_rate: u32) -> Result<Self, TranscodeError> {
        let encoder = Self::create(bitrate, 1, 9, 48_000, ffi::OPUS_APPLICATION_VOIP)?;
        let widths = [
            (8_000, ffi::OPUS_BANDWIDTH_NARROWBAND),
            (12_000, ffi::OPUS_BANDWIDTH_MEDIUMBAND),
            (16_000, ffi::OPUS_BANDWIDTH_WIDEBAND),
            (24_000, ffi::OPUS_BANDWIDTH_SUPERWIDEBAND),
        ];
        let bandwidth = widths.iter().find(|(rate, _)| max_playback_rate <= *rate).map_or(ffi::OPUS_BANDWIDTH_FULLBAND, |(_, bandwidth)| *bandwidth);
        // SAFETY: a live encoder; both requests take one opus_int32.
        let (signal_set, bandwidth_set) = unsafe {
            (
                ffi::opus_encoder_ctl(encoder.raw, ffi::OPUS_SET_SIGNAL_REQUEST, ffi::OPUS_SIGNAL_VOICE),
                ffi::opus_encoder_ctl(encoder.raw, ffi::OPUS_SET_MAX_BANDWIDTH_REQUEST, bandwidth),
            )
        };
        if signal_set != ffi::OPUS_OK || bandwidth_set != ffi::OPUS_OK {
            return Err(TranscodeError(format!("libopus refused a voice of at most {max_playback_rate} Hz")));
        }
        Ok(encoder)
    }

    fn with_settings(bitrate: usize, channels: u8, complexity: u8, input_rate: u32) -> Result<Self, TranscodeError> {
        Self::create(bitrate, channels, complexity, input_rate, ffi::OPUS_APPLICATION_AUDIO)
    }

    fn create(bitrate: usize, channels: u8, complexity: u8, input_rate: u32, application: c_int) -> Result<Self, TranscodeError> {
        let count: c_int = if channels == 1 { 1 } else { 2 };
        let mut error: c_int = 0;
        // SAFETY: plain arguments; the result is checked before use.
        let raw = unsafe { ffi::opus_encoder_create(input_rate as i32, count, application, &mut error) };
        if raw.is_null() || error != ffi::OPUS_OK {
            return Err(TranscodeError(format!("libopus cannot encode {input_rate} Hz x{count}: error {error}")));
        }
        let encoder = OpusEncoder { raw, stereo: count == 2, frame_samples: input_rate as usize / 50, interleaved: Vec::new(), packet: vec![0; MAX_PACKET] };
        // SAFETY: a live encoder; both requests take one opus_int32.
        let (bitrate_set, complexity_set) = unsafe {
            (
                ffi::opus_encoder_ctl(raw, ffi::OPUS_SET_BITRATE_REQUEST, bitrate as i32),
                ffi::opus_encoder_ctl(raw, ffi::OPUS_SET_COMPLEXITY_REQUEST, i32::from(complexity.min(10))),
            )
        };
        if bitrate_set != ffi::OPUS_OK || complexity_set != ffi::OPUS_OK {
            return Err(TranscodeError(format!("libopus refused bitrate {bitrate} or complexity {complexity}")));
        }
        Ok(encoder)
    }

    /// Samples per channel `encode` takes: 20 ms at the input rate.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// Encodes exactly 20 ms (960 samples at 48 kHz); returns the packet.
    pub fn encode(&mut self, samples: &Stereo) -> Result<Vec<Vec<u8>>, TranscodeError> {
        if samples.len() != self.frame_samples {
            return Err(TranscodeError(format!("Opus takes {} samples, not {}", self.frame_samples, samples.len())));
        }
        if !self.stereo {
            return Ok(vec![self.encode_mono(&samples.left)?]);
        }
        let mut interleaved = std::mem::take(&mut self.interleaved);
        interleaved.clear();
        interleaved.extend(samples.left.iter().zip(&samples.right).flat_map(|(l, r)| [*l, *r]));
        let packet = self.encode_raw(&interleaved);
        self.interleaved = interleaved;
        Ok(vec![packet?])
    }

    /// Encodes exactly 20 ms of one channel (`frame_samples`) with a mono encoder; returns
    /// the packet.
    pub fn encode_mono(&mut self, samples: &[f32]) -> Result<Vec<u8>, TranscodeError> {
        if self.stereo || samples.len() != self.frame_samples {
            return Err(TranscodeError(format!("this Opus encoder takes {} samples of {} channels", self.frame_samples, if self.stereo { 2 } else { 1 })));
        }
        self.encode_raw(samples)
    }

    /// `pcm`: frame_samples per channel, interleaved.
    fn encode_raw(&mut self, pcm: &[f32]) -> Result<Vec<u8>, TranscodeError> {
        // SAFETY: `pcm` holds frame_samples per channel, `self.packet` MAX_PACKET bytes.
        let written = unsafe { ffi::opus_encode_float(self.raw, pcm.as_ptr(), self.frame_samples as c_int, self.packet.as_mut_ptr(), MAX_PACKET as i32) };
        if written < 0 {
            return Err(TranscodeError(format!("libopus could not encode: error {written}")));
        }
        // An exact copy: a packet kept in a queue does not hold on to the whole buffer.
        Ok(self.packet[..written as usize].to_vec())
    }
}

impl Drop for OpusEncoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_encoder_create, destroyed once.
        unsafe { ffi::opus_encoder_destroy(self.raw) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::OpusDecoder;

    fn tone(samples: usize, rate: f32) -> Vec<f32> {
        (0..samples).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate).sin() * 0.5).collect()
    }

    #[test]
    fn stereo_and_voice_packets_decode_to_the_tone() {
        for (mut encoder, rate) in [(OpusEncoder::new(64_000, 2).unwrap(), 48_000.0), (OpusEncoder::for_voice(24_000, 8_000, 1).unwrap(), 8_000.0)] {
            let left = tone(encoder.frame_samples() * 25, rate);
            let mut decoder = OpusDecoder::new().unwrap();
            let mut heard = Vec::new();
            for chunk in left.chunks(encoder.frame_samples()) {
                let packets = encoder.encode(&Stereo { left: chunk.to_vec(), right: chunk.to_vec() }).unwrap();
                assert_eq!(packets.len(), 1);
                heard.extend(decoder.decode(&packets[0]).unwrap().left);
            }
            assert_eq!(heard.len(), 25 * OPUS_FRAME_SAMPLES, "20 ms at 48 kHz per packet");
            let peak = heard[4_800..].iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!(peak > 0.3, "the tone at {rate} Hz comes through: peak {peak}");
        }
    }

    #[test]
    fn a_microphone_codes_speech_no_wider_than_its_receiver_plays() {
        use crate::transcode::opus_decoder::opus_bandwidth;
        let toc_of = |max_playback_rate| {
            let mut microphone = OpusEncoder::like_webrtc_microphone(32_000, max_playback_rate).unwrap();
            let samples = tone(OPUS_FRAME_SAMPLES * 10, 48_000.0);
            let packets: Vec<Vec<u8>> = samples.chunks(OPUS_FRAME_SAMPLES).map(|frame| microphone.encode_mono(frame).unwrap()).collect();
            packets.last().unwrap()[0]
        };
        let (narrow, wide, full) = (toc_of(8_000), toc_of(16_000), toc_of(48_000));
        assert_eq!([narrow, wide, full].map(|toc| opus_bandwidth(&[toc]).unwrap()), ["narrowband", "wideband", "fullband"]);
        // As speech: SILK (configurations 0-11) or SILK under CELT (12-15), not CELT alone.
        assert!([narrow, wide, full].iter().all(|toc| toc >> 3 < 16), "{narrow:#x} {wide:#x} {full:#x}");
    }

    #[test]
    fn a_phones_voice_comes_out_close_to_what_went_in() {
        use crate::transcode::VoiceDecoder;
        // Two harmonics and a formant-like partial, rising and falling as speech does.
        let voice: Vec<f32> = (0..8_000 * 4)
            .map(|i| {
                let (t, wave) = (i as f32 / 8_000.0, |hz: f32, t: f32| (t * hz * std::f32::consts::TAU).sin());
                (wave(140.0, t) * 0.3 + wave(700.0, t) * 0.2 + wave(1_900.0, t) * 0.1) * (1.0 + wave(3.0, t)) * 0.5
            })
            .collect();
        let mut encoder = OpusEncoder::for_voice(24_000, 8_000, 0).unwrap();
        let mut decoder = VoiceDecoder::new(8_000).unwrap();
        let mut heard = Vec::new();
        for frame in voice.chunks(encoder.frame_samples()) {
            heard.extend_from_slice(decoder.decode(&encoder.encode_mono(frame).unwrap()).unwrap());
        }
        // The coding delay is 2.5 ms: 20 samples at 8 kHz.
        let (signal, error) = (8_000..voice.len() - 20).fold((0f64, 0f64), |(signal, error), i| {
            let (sent, got) = (f64::from(voice[i]), f64::from(heard[i + 20]));
            (signal + sent * sent, error + (sent - got) * (sent - got))
        });
        let snr = 10.0 * (signal / error).log10();
        assert!(snr > 20.0, "signal to noise {snr:.1} dB");
    }

    #[test]
    fn a_wrong_frame_size_is_an_error() {
        let mut encoder = OpusEncoder::new(32_000, 1).unwrap();
        assert!(encoder.encode(&Stereo::silence(100)).is_err());
    }
}
