//! Telephone audio (G.711 µ-law and A-law at 8 kHz, G.722 at 16 kHz) to float stereo at 48 kHz
//! or at the codec's own rate: FFmpeg's decoder, then swresample. Both keep state across packets, so the resampling filter
//! runs smoothly over packet edges.

use super::{init, Stereo, TranscodeError};
use crate::media::CodecName;
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::Packet;

/// FFmpeg's codec of a telephone codec, and its sample rate (G.722's is 16 kHz though its RTP
/// clock is 8 kHz).
pub(super) fn telephone_codec(codec: CodecName) -> Result<(codec::Id, u32), TranscodeError> {
    match codec {
        CodecName::Pcmu => Ok((codec::Id::PCM_MULAW, 8_000)),
        CodecName::Pcma => Ok((codec::Id::PCM_ALAW, 8_000)),
        CodecName::G722 => Ok((codec::Id::ADPCM_G722, 16_000)),
        other => Err(TranscodeError(format!("{other:?} is not telephone audio"))),
    }
}

pub struct TelephonyDecoder {
    decoder: ffmpeg_next::decoder::Audio,
    resampler: resampling::Context,
    sample_rate: u32,
    out_rate: u32,
}

impl TelephonyDecoder {
    /// Decodes to 48 kHz.
    pub fn new(codec: CodecName) -> Result<Self, TranscodeError> {
        Self::with_output(codec, false)
    }

    /// Decodes to the codec's own rate (8 kHz G.711, 16 kHz G.722): see `output_rate`.
    pub fn at_codec_rate(codec: CodecName) -> Result<Self, TranscodeError> {
        Self::with_output(codec, true)
    }

    fn with_output(codec: CodecName, keep_codec_rate: bool) -> Result<Self, TranscodeError> {
        init();
        let (id, sample_rate) = telephone_codec(codec)?;
        let found = ffmpeg_next::decoder::find(id).ok_or_else(|| TranscodeError(format!("no {codec:?} decoder in FFmpeg")))?;
        let mut context = codec::Context::new_with_codec(found);
        // RTP carries no codec header: the decoder takes its format from here.
        // SAFETY: plain fields of a context not opened yet.
        unsafe {
            let raw = context.as_mut_ptr();
            (*raw).sample_rate = sample_rate as i32;
            (*raw).channels = 1;
            (*raw).channel_layout = ChannelLayout::MONO.bits();
        }
        let decoder = context.decoder().audio()?;
        let out_rate = if keep_codec_rate { sample_rate } else { 48_000 };
        let resampler = resampling::Context::get(
            Sample::I16(Type::Packed),
            ChannelLayout::MONO,
            sample_rate,
            // Mono out, copied to both sides: swresample's mono-to-stereo takes 3 dB off.
            Sample::F32(Type::Planar),
            ChannelLayout::MONO,
            out_rate,
        )?;
        Ok(TelephonyDecoder { decoder, resampler, sample_rate, out_rate })
    }

    /// The rate of what `decode` gives.
    pub fn output_rate(&self) -> u32 {
        self.out_rate
    }

    /// Decodes one RTP payload; an undecodable one is an error the caller may skip.
    pub fn decode(&mut self, payload: &[u8]) -> Result<Stereo, TranscodeError> {
        self.decoder.send_packet(&Packet::copy(payload))?;
        let mut out = Stereo::default();
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.format() != Sample::I16(Type::Packed) || decoded.channels() != 1 {
                return Err(TranscodeError(format!("unexpected decoder output {:?} x{}", decoded.format(), decoded.channels())));
            }
            let samples = decoded.samples();
            // A fresh frame with the layout and rate set, as swresample checks them.
            let mut input = frame::Audio::new(Sample::I16(Type::Packed), samples, ChannelLayout::MONO);
            input.set_rate(self.sample_rate);
            input.plane_mut::<i16>(0)[..samples].copy_from_slice(&decoded.plane::<i16>(0)[..samples]);
            let capacity = samples * self.out_rate as usize / self.sample_rate as usize + 64;
            let mut output = frame::Audio::new(Sample::F32(Type::Planar), capacity, ChannelLayout::MONO);
            self.resampler.run(&input, &mut output)?;
            let n = output.samples();
            out.left.extend_from_slice(&output.plane::<f32>(0)[..n]);
            out.right.extend_from_slice(&output.plane::<f32>(0)[..n]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 µ-law of a linear sample (ITU-T G.711, the bias-and-segment form).
    fn mulaw(sample: i16) -> u8 {
        let sign = if sample < 0 { 0x80 } else { 0 };
        let magnitude = (i32::from(sample).abs().min(32_635) + 0x84) as u32;
        let exponent = (31 - magnitude.leading_zeros()).saturating_sub(7).min(7);
        let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
        !(sign | (exponent << 4) as u8 | mantissa as u8)
    }

    /// Zero crossings upward per second: the frequency of a pure tone.
    fn frequency(samples: &[f32], rate: f32) -> f32 {
        let ups = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        ups as f32 * rate / samples.len() as f32
    }

    #[test]
    fn a_pcmu_tone_comes_out_at_48k_with_its_pitch() {
        let mut decoder = TelephonyDecoder::new(CodecName::Pcmu).unwrap();
        let tone: Vec<i16> = (0..8_000).map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / 8_000.0).sin() * 12_000.0) as i16).collect();
        let mut out = Stereo::default();
        for packet in tone.chunks(160) {
            let pcm = decoder.decode(&packet.iter().map(|s| mulaw(*s)).collect::<Vec<_>>()).unwrap();
            out.left.extend(pcm.left);
            out.right.extend(pcm.right);
        }
        // One second in; the resampler holds back a few samples of filter delay.
        assert!((47_800..=48_000).contains(&out.len()), "{}", out.len());
        assert_eq!(out.left, out.right);
        let steady = &out.left[4_800..];
        assert!((frequency(steady, 48_000.0) - 440.0).abs() < 5.0, "{}", frequency(steady, 48_000.0));
        let peak = steady.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((0.33..0.4).contains(&peak), "peak {peak}");
    }

    #[test]
    fn only_telephone_codecs() {
        assert!(TelephonyDecoder::new(CodecName::Opus).is_err());
        assert!(TelephonyDecoder::new(CodecName::Pcma).is_ok());
        assert!(TelephonyDecoder::new(CodecName::G722).is_ok());
    }
}
