//! Telephone audio (G.711 µ-law and A-law at 8 kHz, G.722 at 16 kHz) to float at 48 kHz or
//! at the codec's own rate. G.711 is decoded here, G.722 by FFmpeg; swresample makes 48 kHz of
//! it and keeps its state across packets, so the filter runs smoothly over packet edges.

use super::g711::G711;
use super::telephone_codec::TelephoneCodec;
use super::{init, Stereo, TranscodeError};
use crate::media::CodecName;
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::Packet;

enum Decoding {
    G711(G711),
    Ffmpeg(ffmpeg_next::decoder::Audio),
}

pub struct TelephonyDecoder {
    decoding: Decoding,
    /// To 48 kHz; none when the output stays at the codec's rate.
    resampler: Option<resampling::Context>,
    sample_rate: u32,
    /// The codec's samples of the current payload.
    samples: Vec<i16>,
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
        let telephone = TelephoneCodec::of(codec)?;
        let sample_rate = telephone.sample_rate();
        let decoding = match telephone {
            TelephoneCodec::G711(law) => Decoding::G711(law),
            TelephoneCodec::Ffmpeg(id) => {
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
                Decoding::Ffmpeg(context.decoder().audio()?)
            }
        };
        let resampler = if keep_codec_rate {
            None
        } else {
            Some(resampling::Context::get(
                Sample::I16(Type::Packed),
                ChannelLayout::MONO,
                sample_rate,
                // Mono out, copied to both sides: swresample's mono-to-stereo takes 3 dB off.
                Sample::F32(Type::Planar),
                ChannelLayout::MONO,
                48_000,
            )?)
        };
        Ok(TelephonyDecoder { decoding, resampler, sample_rate, samples: Vec::new() })
    }

    /// The rate of what `decode` gives.
    pub fn output_rate(&self) -> u32 {
        if self.resampler.is_some() {
            48_000
        } else {
            self.sample_rate
        }
    }

    /// Decodes one RTP payload as stereo (both sides the same); an undecodable one is an
    /// error the caller may skip.
    pub fn decode(&mut self, payload: &[u8]) -> Result<Stereo, TranscodeError> {
        let mut left = Vec::new();
        self.decode_mono(payload, &mut left)?;
        Ok(Stereo { right: left.clone(), left })
    }

    /// Decodes one RTP payload, appending its samples to `out`.
    pub fn decode_mono(&mut self, payload: &[u8], out: &mut Vec<f32>) -> Result<(), TranscodeError> {
        self.samples.clear();
        match &mut self.decoding {
            Decoding::G711(law) => self.samples.extend(payload.iter().map(|code| law.decode(*code))),
            Decoding::Ffmpeg(decoder) => {
                decoder.send_packet(&Packet::copy(payload))?;
                let mut decoded = frame::Audio::empty();
                while decoder.receive_frame(&mut decoded).is_ok() {
                    if decoded.format() != Sample::I16(Type::Packed) || decoded.channels() != 1 {
                        return Err(TranscodeError(format!("unexpected decoder output {:?} x{}", decoded.format(), decoded.channels())));
                    }
                    self.samples.extend_from_slice(&decoded.plane::<i16>(0)[..decoded.samples()]);
                }
            }
        }
        let Some(resampler) = &mut self.resampler else {
            out.extend(self.samples.iter().map(|s| f32::from(*s) / 32_768.0));
            return Ok(());
        };
        if self.samples.is_empty() {
            return Ok(());
        }
        // A fresh frame with the layout and rate set, as swresample checks them.
        let count = self.samples.len();
        let mut input = frame::Audio::new(Sample::I16(Type::Packed), count, ChannelLayout::MONO);
        input.set_rate(self.sample_rate);
        input.plane_mut::<i16>(0)[..count].copy_from_slice(&self.samples);
        let capacity = count * 48_000 / self.sample_rate as usize + 64;
        let mut output = frame::Audio::new(Sample::F32(Type::Planar), capacity, ChannelLayout::MONO);
        resampler.run(&input, &mut output)?;
        out.extend_from_slice(&output.plane::<f32>(0)[..output.samples()]);
        Ok(())
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
