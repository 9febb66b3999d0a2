//! VP8 encoding with libvpx for real time, as browsers send it.

use super::{init, TranscodeError};
use ffmpeg_next::codec;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{frame, Dictionary};

pub struct Vp8Encoder {
    encoder: ffmpeg_next::encoder::Video,
    next_pts: i64,
}

impl Vp8Encoder {
    pub fn new(width: u32, height: u32, fps: u32, bitrate: usize, gop: u32) -> Result<Self, TranscodeError> {
        init();
        let codec = ffmpeg_next::encoder::find_by_name("libvpx").ok_or(TranscodeError("no libvpx in FFmpeg".into()))?;
        let mut encoder = codec::Context::new_with_codec(codec).encoder().video()?;
        encoder.set_width(width);
        encoder.set_height(height);
        encoder.set_format(Pixel::YUV420P);
        encoder.set_time_base((1, fps as i32));
        encoder.set_bit_rate(bitrate);
        encoder.set_gop(gop);
        let mut options = Dictionary::new();
        options.set("deadline", "realtime");
        options.set("cpu-used", "8");
        options.set("lag-in-frames", "0");
        Ok(Vp8Encoder { encoder: encoder.open_as_with(codec, options)?, next_pts: 0 })
    }

    /// Encodes one picture; returns the frames ready (VP8 bitstream, keyframe?).
    pub fn encode(&mut self, picture: &mut frame::Video, force_keyframe: bool) -> Result<Vec<(Vec<u8>, bool)>, TranscodeError> {
        super::h264_encoder::encode_picture(&mut self.encoder, &mut self.next_pts, picture, force_keyframe)
    }
}

#[cfg(test)]
mod tests {
    use super::super::video_to_h264::{spawn_to_h264, VideoInput};
    use super::*;
    use crate::media::{h264, CodecName, MediaFrame, MediaKind};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn vp8_becomes_h264_with_keyframes_on_request() {
        let mut vp8 = Vp8Encoder::new(320, 240, 30, 400_000, 300).unwrap();
        let mut picture = frame::Video::new(Pixel::YUV420P, 320, 240);
        let track = spawn_to_h264("test", CodecName::Vp8, None, 300_000).unwrap();
        let (input, mut output) = (track.input, track.output);
        let now = Instant::now();
        for n in 0..60u64 {
            picture.data_mut(0).fill((n * 3) as u8);
            for (data, keyframe) in vp8.encode(&mut picture, false).unwrap() {
                if n == 30 {
                    input.blocking_send(VideoInput::Keyframe).unwrap();
                }
                let frame = MediaFrame { kind: MediaKind::Video, time: n * 3000, clock_rate: 90_000, received: now, keyframe, data: Arc::from(data), rtp_payloads: Default::default() };
                input.blocking_send(VideoInput::Frame(frame)).unwrap();
            }
        }
        drop(input);
        let mut out = Vec::new();
        while let Some(frame) = output.blocking_recv() {
            out.push(frame);
        }
        assert_eq!(out.len(), 60);
        assert!(out[0].keyframe && h264::parameter_sets(&out[0].data).is_some());
        assert!(out[30].keyframe, "a keyframe where one was asked for");
        assert_eq!(out.iter().filter(|f| f.keyframe).count(), 2);
        assert_eq!(out[45].time, 45 * 3000, "pictures keep their media time");
        let (sps, _) = h264::parameter_sets(&out[30].data).unwrap();
        assert_eq!(h264::sps_resolution(&sps), Some((320, 240)));
    }
}
