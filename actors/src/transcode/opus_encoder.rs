//! Opus encoding (libopus) of 48 kHz mono or stereo in 20 ms packets, as WebRTC sends it.

use super::aac_encoder::set_channels;
use super::{init, Stereo, TranscodeError};
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::util::channel_layout::ChannelLayout;
use ffmpeg_next::Packet;

pub const OPUS_FRAME_SAMPLES: usize = 960;

pub struct OpusEncoder {
    encoder: ffmpeg_next::encoder::Audio,
    next_pts: i64,
    stereo: bool,
    /// Samples per channel in one 20 ms packet at the input rate.
    frame_samples: usize,
    input_rate: u32,
}

impl OpusEncoder {
    /// `channels` 1 encodes the left channel alone, as a browser's microphone sends.
    pub fn new(bitrate: usize, channels: u8) -> Result<Self, TranscodeError> {
        Self::with_settings(bitrate, channels, 10, 48_000)
    }

    /// Mono voice from a phone, at the phone's own rate (8 or 16 kHz, which Opus takes as it
    /// is, so nothing is upsampled) with `complexity` 0–10: a call's transcoder runs for every
    /// call, and telephone speech loses nothing at a low one. The packets are ordinary
    /// 48 kHz-clock Opus for the browser.
    pub fn for_voice(bitrate: usize, input_rate: u32, complexity: u8) -> Result<Self, TranscodeError> {
        Self::with_settings(bitrate, 1, complexity, input_rate)
    }

    fn with_settings(bitrate: usize, channels: u8, complexity: u8, input_rate: u32) -> Result<Self, TranscodeError> {
        init();
        let codec = ffmpeg_next::encoder::find_by_name("libopus").ok_or(TranscodeError("no libopus in FFmpeg".into()))?;
        let mut encoder = codec::Context::new_with_codec(codec).encoder().audio()?;
        encoder.set_rate(input_rate as i32);
        set_channels(&mut encoder, channels);
        encoder.set_format(Sample::F32(Type::Packed));
        encoder.set_bit_rate(bitrate);
        encoder.set_time_base((1, input_rate as i32));
        let mut options = ffmpeg_next::Dictionary::new();
        options.set("compression_level", &complexity.min(10).to_string());
        let encoder = encoder.open_as_with(codec, options)?;
        Ok(OpusEncoder { encoder, next_pts: 0, stereo: channels != 1, frame_samples: input_rate as usize / 50, input_rate })
    }

    /// Samples per channel `encode` takes: 20 ms at the input rate.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// Encodes exactly 20 ms (960 samples at 48 kHz); returns the packets ready.
    pub fn encode(&mut self, samples: &Stereo) -> Result<Vec<Vec<u8>>, TranscodeError> {
        if samples.len() != self.frame_samples {
            return Err(TranscodeError(format!("Opus takes {} samples, not {}", self.frame_samples, samples.len())));
        }
        let layout = if self.stereo { ChannelLayout::STEREO } else { ChannelLayout::MONO };
        let mut frame = frame::Audio::new(Sample::F32(Type::Packed), self.frame_samples, layout);
        frame.set_rate(self.input_rate);
        let interleaved: Vec<u8> = if self.stereo {
            samples.left.iter().zip(&samples.right).flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()].concat()).collect()
        } else {
            samples.left.iter().flat_map(|l| l.to_le_bytes()).collect()
        };
        frame.data_mut(0)[..interleaved.len()].copy_from_slice(&interleaved);
        frame.set_pts(Some(self.next_pts));
        self.next_pts += self.frame_samples as i64;
        self.encoder.send_frame(&frame)?;
        let mut out = Vec::new();
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            out.push(packet.data().unwrap_or_default().to_vec());
        }
        Ok(out)
    }
}
