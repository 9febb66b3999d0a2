//! 48 kHz audio to telephone codecs (G.711 µ-law and A-law at 8 kHz, G.722 at 16 kHz) in
//! 20 ms RTP payloads: swresample down to the codec's rate, then FFmpeg's encoder. Both keep
//! state across calls, so audio arriving in any chunking comes out as whole, even packets.

use super::telephony_decoder::telephone_codec;
use super::{init, Stereo, TranscodeError};
use crate::media::CodecName;
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::Packet;

/// RTP packets of 20 ms, as SIP phones send and expect by default (`a=ptime:20`).
const PACKET_MS: u32 = 20;

pub struct TelephonyEncoder {
    encoder: ffmpeg_next::encoder::Audio,
    resampler: resampling::Context,
    sample_rate: u32,
    /// Samples at the codec's rate not yet making a whole packet.
    pending: Vec<i16>,
}

impl TelephonyEncoder {
    pub fn new(codec: CodecName) -> Result<Self, TranscodeError> {
        init();
        let (id, sample_rate) = telephone_codec(codec)?;
        let found = ffmpeg_next::encoder::find(id).ok_or_else(|| TranscodeError(format!("no {codec:?} encoder in FFmpeg")))?;
        let mut encoder = codec::Context::new_with_codec(found).encoder().audio()?;
        encoder.set_rate(sample_rate as i32);
        encoder.set_channel_layout(ChannelLayout::MONO);
        encoder.set_channels(1);
        encoder.set_format(Sample::I16(Type::Packed));
        encoder.set_time_base((1, sample_rate as i32));
        let encoder = encoder.open_as(found)?;
        let resampler = resampling::Context::get(
            Sample::F32(Type::Planar),
            ChannelLayout::MONO,
            48_000,
            Sample::I16(Type::Packed),
            ChannelLayout::MONO,
            sample_rate,
        )?;
        Ok(TelephonyEncoder { encoder, resampler, sample_rate, pending: Vec::new() })
    }

    /// Samples of the codec's rate in one packet (160 for G.711, 320 for G.722).
    fn packet_samples(&self) -> usize {
        (self.sample_rate * PACKET_MS / 1000) as usize
    }

    /// Takes 48 kHz audio (its left channel: phones are mono); gives back every whole 20 ms
    /// payload it completes.
    pub fn encode(&mut self, audio: &Stereo) -> Result<Vec<Vec<u8>>, TranscodeError> {
        if !audio.is_empty() {
            let mut input = frame::Audio::new(Sample::F32(Type::Planar), audio.len(), ChannelLayout::MONO);
            input.set_rate(48_000);
            input.plane_mut::<f32>(0)[..audio.len()].copy_from_slice(&audio.left);
            let capacity = audio.len() * self.sample_rate as usize / 48_000 + 64;
            let mut output = frame::Audio::new(Sample::I16(Type::Packed), capacity, ChannelLayout::MONO);
            self.resampler.run(&input, &mut output)?;
            let n = output.samples();
            self.pending.extend_from_slice(&output.plane::<i16>(0)[..n]);
        }
        self.whole_payloads()
    }

    /// Takes mono audio already at the codec's rate; gives back every whole 20 ms payload it
    /// completes.
    pub fn encode_at_codec_rate(&mut self, audio: &[f32]) -> Result<Vec<Vec<u8>>, TranscodeError> {
        self.pending.extend(audio.iter().map(|s| (s.clamp(-1.0, 1.0) * 32_767.0) as i16));
        self.whole_payloads()
    }

    /// The codec's rate.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn whole_payloads(&mut self) -> Result<Vec<Vec<u8>>, TranscodeError> {
        let size = self.packet_samples();
        let mut payloads = Vec::new();
        while self.pending.len() >= size {
            let chunk: Vec<i16> = self.pending.drain(..size).collect();
            let mut frame = frame::Audio::new(Sample::I16(Type::Packed), size, ChannelLayout::MONO);
            frame.set_rate(self.sample_rate);
            frame.plane_mut::<i16>(0)[..size].copy_from_slice(&chunk);
            self.encoder.send_frame(&frame)?;
            let mut packet = Packet::empty();
            let mut payload = Vec::new();
            while self.encoder.receive_packet(&mut packet).is_ok() {
                payload.extend_from_slice(packet.data().unwrap_or_default());
            }
            payloads.push(payload);
        }
        Ok(payloads)
    }
}

#[cfg(test)]
mod tests {
    use super::super::TelephonyDecoder;
    use super::*;

    fn tone(seconds: f32, hz: f32, level: f32) -> Stereo {
        let left: Vec<f32> = (0..(48_000.0 * seconds) as usize).map(|i| (i as f32 * hz * std::f32::consts::TAU / 48_000.0).sin() * level).collect();
        Stereo { right: left.clone(), left }
    }

    #[test]
    fn twenty_ms_payloads_that_decode_back_to_the_tone() {
        for (codec, bytes) in [(CodecName::Pcmu, 160), (CodecName::Pcma, 160), (CodecName::G722, 160)] {
            let mut encoder = TelephonyEncoder::new(codec).unwrap();
            let mut payloads = Vec::new();
            // Odd chunks, as Opus decoding and resampling deliver them.
            let audio = tone(1.0, 440.0, 0.5);
            for chunk in audio.left.chunks(700) {
                payloads.extend(encoder.encode(&Stereo { left: chunk.to_vec(), right: chunk.to_vec() }).unwrap());
            }
            assert!((48..=50).contains(&payloads.len()), "{codec:?}: {} packets", payloads.len());
            assert!(payloads.iter().all(|p| p.len() == bytes), "{codec:?}: {:?}", payloads.iter().map(Vec::len).collect::<Vec<_>>());
            let mut decoder = TelephonyDecoder::new(codec).unwrap();
            let decoded: Vec<f32> = payloads.iter().flat_map(|p| decoder.decode(p).unwrap().left).collect();
            let steady = &decoded[9_600..];
            let peak = steady.iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!((0.4..0.6).contains(&peak), "{codec:?}: peak {peak}");
        }
    }
}
