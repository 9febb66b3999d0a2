//! Opus (as WebRTC sends it: 48 kHz, mono or stereo per packet) to planar stereo f32.

use super::{init, Stereo, TranscodeError};
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::Packet;

pub struct OpusDecoder {
    decoder: ffmpeg_next::decoder::Audio,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, TranscodeError> {
        init();
        let codec = ffmpeg_next::decoder::find(codec::Id::OPUS).ok_or(TranscodeError("no Opus decoder in FFmpeg".into()))?;
        let mut context = codec::Context::new_with_codec(codec);
        // Without an Opus header the decoder takes the channel count and rate from here.
        // SAFETY: plain fields of a context not opened yet.
        unsafe {
            let raw = context.as_mut_ptr();
            (*raw).sample_rate = 48_000;
            (*raw).channels = 2;
            (*raw).channel_layout = ffmpeg_next::util::channel_layout::ChannelLayout::STEREO.bits();
        }
        let decoder = context.decoder().audio()?;
        Ok(OpusDecoder { decoder })
    }

    /// Decodes one packet; an undecodable one is an error the caller may skip.
    pub fn decode(&mut self, packet: &[u8]) -> Result<Stereo, TranscodeError> {
        self.decoder.send_packet(&Packet::copy(packet))?;
        let mut out = Stereo::default();
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let samples = decoded.samples();
            match (decoded.format(), decoded.channels()) {
                (Sample::F32(Type::Planar), 1) => {
                    out.left.extend_from_slice(&decoded.plane::<f32>(0)[..samples]);
                    out.right.extend_from_slice(&decoded.plane::<f32>(0)[..samples]);
                }
                (Sample::F32(Type::Planar), _) => {
                    out.left.extend_from_slice(&decoded.plane::<f32>(0)[..samples]);
                    out.right.extend_from_slice(&decoded.plane::<f32>(1)[..samples]);
                }
                (format, channels) => {
                    return Err(TranscodeError(format!("unexpected Opus output {format:?} x{channels}")));
                }
            }
        }
        Ok(out)
    }
}
