//! Transcoding with FFmpeg (ffmpeg-next): Opus from WebRTC and G.711/G.722 from phones to AAC and VP8 to H.264 for RTMP,
//! WAV files to AAC for sound insertion, AAC silence for muting, and the H.264, VP8 and Opus
//! encoders of generated media. Everything here is blocking CPU work:
//! it runs on transcoder threads, never on actor threads.

mod aac_encoder;
mod audio_to_aac;
mod call_audio;
mod g711;
mod h264_encoder;
mod libopus;
mod mp4_file;
mod opus_decoder;
mod opus_encoder;
mod resample;
mod sound_file;
mod telephone_codec;
mod telephony_decoder;
mod telephony_encoder;
mod voice_decoder;
mod vp8_encoder;
mod video_to_h264;
pub mod wav;

pub use aac_encoder::{AacEncoder, AAC_SAMPLES_PER_FRAME, AAC_SAMPLE_RATE};
pub use h264_encoder::H264Encoder;
pub use audio_to_aac::{spawn_audio_to_aac, AacTrack};
pub use call_audio::CallAudio;
pub use mp4_file::{Mp4File, Mp4Tracks};
pub use opus_decoder::{opus_bandwidth, opus_fmtp_allows_stereo, opus_is_stereo, OpusDecoder};
pub use opus_encoder::{OpusEncoder, OPUS_FRAME_SAMPLES};
pub use sound_file::{load_sound_file, sound_file_path, SoundFileError, SoundFrames};
pub use telephony_decoder::TelephonyDecoder;
pub use telephony_encoder::TelephonyEncoder;
pub use voice_decoder::VoiceDecoder;
pub use vp8_encoder::Vp8Encoder;
pub use video_to_h264::{spawn_to_h264, H264Track, VideoInput};

use std::sync::OnceLock;

/// Planar stereo samples at 48 kHz, the form every stage here exchanges.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stereo {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
}

impl Stereo {
    pub fn silence(samples: usize) -> Self {
        Stereo { left: vec![0.0; samples], right: vec![0.0; samples] }
    }

    pub fn len(&self) -> usize {
        self.left.len()
    }

    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }
}

/// FFmpeg's global setup, once: quiet logs (x264 and friends are chatty).
pub fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    });
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscodeError(pub String);

impl std::fmt::Display for TranscodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ffmpeg_next::Error> for TranscodeError {
    fn from(e: ffmpeg_next::Error) -> Self {
        TranscodeError(format!("ffmpeg: {e}"))
    }
}
