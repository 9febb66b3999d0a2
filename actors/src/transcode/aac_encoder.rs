//! AAC-LC encoding of 48 kHz stereo, with the sample buffering AAC's 1024-sample frames need.

use super::{init, Stereo, TranscodeError};
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::Packet;

pub const AAC_SAMPLE_RATE: u32 = 48_000;
pub const AAC_SAMPLES_PER_FRAME: usize = 1024;

pub struct AacEncoder {
    encoder: ffmpeg_next::encoder::Audio,
    channels: u8,
    pending: Stereo,
    /// Samples given to the encoder so far.
    next_pts: i64,
    /// Frames out so far. Output times count from here (the encoder's priming delay, one
    /// frame, is not worth a negative timestamp).
    frames_out: i64,
}

impl AacEncoder {
    /// Mono (1) or stereo (2) AAC; mono takes the mean of both channels given, and half the
    /// CPU (browsers' microphones are mono).
    pub fn new(bitrate: usize, channels: u8) -> Result<Self, TranscodeError> {
        init();
        let codec = ffmpeg_next::encoder::find(codec::Id::AAC).ok_or(TranscodeError("no AAC encoder in FFmpeg".into()))?;
        let mut encoder = codec::Context::new_with_codec(codec).encoder().audio()?;
        encoder.set_rate(AAC_SAMPLE_RATE as i32);
        set_channels(&mut encoder, channels);
        encoder.set_format(Sample::F32(Type::Planar));
        encoder.set_bit_rate(bitrate);
        encoder.set_time_base((1, AAC_SAMPLE_RATE as i32));
        // The fast coder without the costly tools: a fraction of the CPU of FFmpeg's default
        // "twoloop", which matters with a transcoder per pushed stream.
        let mut options = ffmpeg_next::Dictionary::new();
        options.set("aac_coder", "fast");
        options.set("aac_pns", "0");
        options.set("aac_tns", "0");
        options.set("aac_is", "0");
        let encoder = encoder.open_as_with(codec, options)?;
        Ok(AacEncoder { encoder, channels: channels.clamp(1, 2), pending: Stereo::default(), next_pts: 0, frames_out: 0 })
    }

    /// Takes samples; gives back every frame the encoder completes, as (time in samples from
    /// the first frame, AAC raw).
    pub fn encode(&mut self, samples: &Stereo) -> Result<Vec<(i64, Vec<u8>)>, TranscodeError> {
        self.pending.left.extend_from_slice(&samples.left);
        self.pending.right.extend_from_slice(&samples.right);
        let mut out = Vec::new();
        while self.pending.len() >= AAC_SAMPLES_PER_FRAME {
            let layout = if self.channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
            let mut frame = frame::Audio::new(Sample::F32(Type::Planar), AAC_SAMPLES_PER_FRAME, layout);
            frame.set_rate(AAC_SAMPLE_RATE);
            let (left, right) = (&self.pending.left[..AAC_SAMPLES_PER_FRAME], &self.pending.right[..AAC_SAMPLES_PER_FRAME]);
            if self.channels == 1 {
                for (out, (l, r)) in frame.plane_mut::<f32>(0).iter_mut().zip(left.iter().zip(right)) {
                    *out = (l + r) * 0.5;
                }
            } else {
                frame.plane_mut::<f32>(0).copy_from_slice(left);
                frame.plane_mut::<f32>(1).copy_from_slice(right);
            }
            frame.set_pts(Some(self.next_pts));
            self.next_pts += AAC_SAMPLES_PER_FRAME as i64;
            self.pending.left.drain(..AAC_SAMPLES_PER_FRAME);
            self.pending.right.drain(..AAC_SAMPLES_PER_FRAME);
            self.encoder.send_frame(&frame)?;
            self.drain(&mut out)?;
        }
        Ok(out)
    }

    fn drain(&mut self, out: &mut Vec<(i64, Vec<u8>)>) -> Result<(), TranscodeError> {
        let mut packet = Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => {
                    out.push((self.frames_out * AAC_SAMPLES_PER_FRAME as i64, packet.data().unwrap_or_default().to_vec()));
                    self.frames_out += 1;
                }
                Err(ffmpeg_next::Error::Other { errno: libc::EAGAIN }) | Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Mono for 1, else stereo. FFmpeg before 7 needs both the layout and the channel count set
/// (crates.md pitfall 1).
pub(super) fn set_channels(encoder: &mut ffmpeg_next::encoder::audio::Audio, channels: u8) {
    let (layout, count) = if channels == 1 { (ChannelLayout::MONO, 1) } else { (ChannelLayout::STEREO, 2) };
    encoder.set_channel_layout(layout);
    encoder.set_channels(count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_whole_frames_from_any_chunking() {
        let mut encoder = AacEncoder::new(96_000, 2).unwrap();
        let mut frames = Vec::new();
        let tone: Vec<f32> = (0..48_000).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5).collect();
        for chunk in tone.chunks(960) {
            frames.extend(encoder.encode(&Stereo { left: chunk.to_vec(), right: chunk.to_vec() }).unwrap());
        }
        // One second is 46.9 frames; the encoder holds one or two back (its delay).
        assert!((44..=47).contains(&frames.len()), "{}", frames.len());
        assert!(frames.iter().all(|(_, data)| !data.is_empty()));
        let pts: Vec<i64> = frames.iter().map(|(p, _)| *p).collect();
        assert!(pts.windows(2).all(|w| w[1] - w[0] == AAC_SAMPLES_PER_FRAME as i64), "{pts:?}");
    }
}
