//! Real media for publishers whose output must be decodable (RTMP pushes checked by ffprobe):
//! a moving test pattern encoded with libx264 or libvpx and a tone encoded with libopus, made
//! once and played in a loop.

use super::synthetic_media::VideoCodec;
use super::webrtc_client::OpusChannels;
use ferrophone_actors::transcode::{H264Encoder, OpusEncoder, Stereo, Vp8Encoder, OPUS_FRAME_SAMPLES};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame;

pub struct EncodedClip {
    /// Annex B access units and whether each is a keyframe.
    pub video: Vec<(Vec<u8>, bool)>,
    /// 20 ms Opus packets.
    pub audio: Vec<Vec<u8>>,
    pub audio_channels: OpusChannels,
    pub fps: u32,
    pub codec: VideoCodec,
}

/// `seconds` of `codec` video (keyframe every half second) and of a `tone_hz` tone.
pub fn encode_clip(seconds: u32, width: u32, height: u32, fps: u32, tone_hz: f32, codec: VideoCodec, audio_channels: OpusChannels) -> Result<EncodedClip, String> {
    let gop = (fps / 2).max(1);
    let mut picture = frame::Video::new(Pixel::YUV420P, width, height);
    let mut video = Vec::new();
    match codec {
        VideoCodec::H264 => {
            let mut encoder = H264Encoder::new(width, height, fps, 500_000, gop).map_err(|e| e.0)?;
            for n in 0..seconds * fps {
                paint(&mut picture, n);
                video.extend(encoder.encode(&mut picture, false).map_err(|e| e.0)?);
            }
        }
        VideoCodec::Vp8 => {
            let mut encoder = Vp8Encoder::new(width, height, fps, 500_000, gop).map_err(|e| e.0)?;
            for n in 0..seconds * fps {
                paint(&mut picture, n);
                video.extend(encoder.encode(&mut picture, false).map_err(|e| e.0)?);
            }
        }
    }
    let audio = encode_tone(seconds, tone_hz, audio_channels)?;
    Ok(EncodedClip { video, audio, audio_channels, fps, codec })
}

/// A diagonal gradient that moves, and colour that drifts: every picture differs.
fn paint(picture: &mut frame::Video, n: u32) {
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let stride = picture.stride(0);
    let luma = picture.data_mut(0);
    for y in 0..height {
        for x in 0..width {
            luma[y * stride + x] = ((x + y + n as usize * 4) & 0xff) as u8;
        }
    }
    picture.data_mut(1).fill((64 + n % 128) as u8);
    picture.data_mut(2).fill((192 - n % 128) as u8);
}

/// `seconds` of a `tone_hz` tone as a browser's microphone sends a caller's voice: 20 ms mono
/// Opus packets as WebRTC codes them, no wider than `max_playback_rate` (see
/// `OpusEncoder::like_webrtc_microphone`).
pub fn encode_microphone_tone(seconds: u32, tone_hz: f32, max_playback_rate: u32) -> Result<Vec<Vec<u8>>, String> {
    let mut opus = OpusEncoder::like_webrtc_microphone(32_000, max_playback_rate).map_err(|e| e.0)?;
    (0..seconds as usize * 50)
        .map(|f| {
            let tone = tone_frame(f, tone_hz);
            opus.encode_mono(&tone).map_err(|e| e.0)
        })
        .collect()
}

/// Frame `f` (20 ms at 48 kHz) of a `tone_hz` tone.
fn tone_frame(f: usize, tone_hz: f32) -> Vec<f32> {
    (0..OPUS_FRAME_SAMPLES).map(|i| (((f * OPUS_FRAME_SAMPLES + i) as f32) * tone_hz * std::f32::consts::TAU / 48_000.0).sin() * 0.4).collect()
}

/// `seconds` of a `tone_hz` tone as 20 ms Opus packets (64 kbps).
pub fn encode_tone(seconds: u32, tone_hz: f32, channels: OpusChannels) -> Result<Vec<Vec<u8>>, String> {
    let channels = if channels == OpusChannels::Stereo { 2 } else { 1 };
    let mut opus = OpusEncoder::new(64_000, channels).map_err(|e| e.0)?;
    let mut audio = Vec::new();
    for f in 0..(seconds as usize * 50) {
        let tone = tone_frame(f, tone_hz);
        audio.extend(opus.encode(&Stereo { left: tone.clone(), right: tone }).map_err(|e| e.0)?);
    }
    Ok(audio)
}
