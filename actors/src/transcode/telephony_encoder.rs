//! Audio at a telephone codec's own rate to that codec (G.711 µ-law and A-law at 8 kHz, in
//! code here; G.722 at 16 kHz, by FFmpeg) in 20 ms RTP payloads. It keeps what does not make a
//! whole packet yet, so audio arriving in any chunking comes out as whole, even packets.

use super::g711::G711;
use super::telephone_codec::TelephoneCodec;
use super::{init, TranscodeError};
use crate::media::CodecName;
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::Packet;

/// RTP packets of 20 ms, as SIP phones send and expect by default (`a=ptime:20`).
const PACKET_MS: u32 = 20;

enum Encoding {
    G711(G711),
    Ffmpeg(ffmpeg_next::encoder::Audio),
}

pub struct TelephonyEncoder {
    encoding: Encoding,
    sample_rate: u32,
    /// Samples at the codec's rate not yet making a whole packet.
    pending: Vec<i16>,
}

impl TelephonyEncoder {
    pub fn new(codec: CodecName) -> Result<Self, TranscodeError> {
        init();
        let telephone = TelephoneCodec::of(codec)?;
        let sample_rate = telephone.sample_rate();
        let encoding = match telephone {
            TelephoneCodec::G711(law) => Encoding::G711(law),
            TelephoneCodec::Ffmpeg(id) => {
                let found = ffmpeg_next::encoder::find(id).ok_or_else(|| TranscodeError(format!("no {codec:?} encoder in FFmpeg")))?;
                let mut encoder = codec::Context::new_with_codec(found).encoder().audio()?;
                encoder.set_rate(sample_rate as i32);
                encoder.set_channel_layout(ChannelLayout::MONO);
                encoder.set_channels(1);
                encoder.set_format(Sample::I16(Type::Packed));
                encoder.set_time_base((1, sample_rate as i32));
                Encoding::Ffmpeg(encoder.open_as(found)?)
            }
        };
        Ok(TelephonyEncoder { encoding, sample_rate, pending: Vec::new() })
    }

    /// Samples of the codec's rate in one packet (160 for G.711, 320 for G.722).
    fn packet_samples(&self) -> usize {
        (self.sample_rate * PACKET_MS / 1000) as usize
    }

    /// Takes mono audio at the codec's rate (`sample_rate`); gives back every whole 20 ms
    /// payload it completes.
    pub fn encode(&mut self, audio: &[f32]) -> Result<Vec<Vec<u8>>, TranscodeError> {
        self.pending.extend(audio.iter().map(|s| (s.clamp(-1.0, 1.0) * 32_767.0) as i16));
        let size = self.packet_samples();
        let mut payloads = Vec::new();
        while self.pending.len() >= size {
            payloads.push(self.encode_packet(size)?);
            self.pending.drain(..size);
        }
        Ok(payloads)
    }

    /// The codec's sample rate: what `encode` takes.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The first `size` pending samples as one payload.
    fn encode_packet(&mut self, size: usize) -> Result<Vec<u8>, TranscodeError> {
        let samples = &self.pending[..size];
        match &mut self.encoding {
            Encoding::G711(law) => Ok(samples.iter().map(|s| law.encode(*s)).collect()),
            Encoding::Ffmpeg(encoder) => {
                let mut frame = frame::Audio::new(Sample::I16(Type::Packed), size, ChannelLayout::MONO);
                frame.set_rate(self.sample_rate);
                frame.plane_mut::<i16>(0)[..size].copy_from_slice(samples);
                encoder.send_frame(&frame)?;
                let mut packet = Packet::empty();
                let mut payload = Vec::new();
                while encoder.receive_packet(&mut packet).is_ok() {
                    payload.extend_from_slice(packet.data().unwrap_or_default());
                }
                Ok(payload)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::TelephonyDecoder;
    use super::*;

    #[test]
    fn twenty_ms_payloads_that_decode_back_to_the_tone() {
        for codec in [CodecName::Pcmu, CodecName::Pcma, CodecName::G722] {
            let mut encoder = TelephonyEncoder::new(codec).unwrap();
            let rate = encoder.sample_rate() as f32;
            let tone: Vec<f32> = (0..rate as usize).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate).sin() * 0.5).collect();
            // Odd chunks, as Opus decoding delivers them.
            let payloads: Vec<Vec<u8>> = tone.chunks(70).flat_map(|chunk| encoder.encode(chunk).unwrap()).collect();
            assert_eq!(payloads.len(), 50, "{codec:?}");
            // 160 bytes of 20 ms: a byte a sample of G.711, half a byte of G.722's 16 kHz.
            assert!(payloads.iter().all(|p| p.len() == 160), "{codec:?}: {:?}", payloads.iter().map(Vec::len).collect::<Vec<_>>());
            let mut decoder = TelephonyDecoder::new(codec).unwrap();
            let decoded: Vec<f32> = payloads.iter().flat_map(|p| decoder.decode(p).unwrap().left).collect();
            let steady = &decoded[9_600..];
            let peak = steady.iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!((0.4..0.6).contains(&peak), "{codec:?}: peak {peak}");
        }
    }
}
