//! H.264 encoding with libx264 for real-time use: baseline profile, no B-frames, SPS/PPS in
//! front of every keyframe, Annex B access units (what WebRTC and FLV packing expect).

use super::{init, TranscodeError};
use ffmpeg_next::codec;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame;
use ffmpeg_next::picture;
use ffmpeg_next::{Dictionary, Packet};

pub struct H264Encoder {
    encoder: ffmpeg_next::encoder::Video,
    next_pts: i64,
}

impl H264Encoder {
    pub fn new(width: u32, height: u32, fps: u32, bitrate: usize, gop: u32) -> Result<Self, TranscodeError> {
        init();
        let codec = ffmpeg_next::encoder::find_by_name("libx264").ok_or(TranscodeError("no libx264 in FFmpeg".into()))?;
        let mut encoder = codec::Context::new_with_codec(codec).encoder().video()?;
        encoder.set_width(width);
        encoder.set_height(height);
        encoder.set_format(Pixel::YUV420P);
        encoder.set_time_base((1, fps as i32));
        encoder.set_frame_rate(Some((fps as i32, 1)));
        encoder.set_bit_rate(bitrate);
        encoder.set_gop(gop);
        encoder.set_max_b_frames(0);
        let mut options = Dictionary::new();
        options.set("preset", "ultrafast");
        options.set("tune", "zerolatency");
        options.set("profile", "baseline");
        options.set("forced-idr", "1");
        options.set("x264-params", &format!("repeat-headers=1:keyint={gop}:bframes=0"));
        let encoder = encoder.open_as_with(codec, options)?;
        Ok(H264Encoder { encoder, next_pts: 0 })
    }

    /// Encodes one YUV 4:2:0 picture; returns the access units ready (Annex B, keyframe?).
    pub fn encode(&mut self, picture: &mut frame::Video, force_keyframe: bool) -> Result<Vec<(Vec<u8>, bool)>, TranscodeError> {
        encode_picture(&mut self.encoder, &mut self.next_pts, picture, force_keyframe)
    }
}

/// One picture through a video encoder (a keyframe when forced): the packets ready, keyframe?
pub(super) fn encode_picture(
    encoder: &mut ffmpeg_next::encoder::Video,
    next_pts: &mut i64,
    picture: &mut frame::Video,
    force_keyframe: bool,
) -> Result<Vec<(Vec<u8>, bool)>, TranscodeError> {
    picture.set_pts(Some(*next_pts));
    picture.set_kind(if force_keyframe { picture::Type::I } else { picture::Type::None });
    *next_pts += 1;
    encoder.send_frame(picture)?;
    let mut out = Vec::new();
    let mut packet = Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        out.push((packet.data().unwrap_or_default().to_vec(), packet.is_key()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::h264;

    #[test]
    fn keyframes_carry_their_parameter_sets() {
        let mut encoder = H264Encoder::new(320, 240, 30, 300_000, 30).unwrap();
        let mut picture = frame::Video::new(Pixel::YUV420P, 320, 240);
        let mut units = Vec::new();
        for i in 0..60 {
            for (plane, value) in [(0, (i * 4) as u8), (1, 128), (2, 128)] {
                picture.data_mut(plane).fill(value);
            }
            units.extend(encoder.encode(&mut picture, i == 45).unwrap());
        }
        assert_eq!(units.len(), 60, "zero latency: one access unit per picture");
        let keyframes: Vec<usize> = units.iter().enumerate().filter(|(_, (_, key))| *key).map(|(i, _)| i).collect();
        assert_eq!(keyframes, [0, 30, 45]);
        for (au, key) in &units {
            assert_eq!(h264::is_keyframe(au), *key);
            assert_eq!(h264::parameter_sets(au).is_some(), *key, "SPS/PPS exactly in keyframes");
        }
        let (sps, _) = h264::parameter_sets(&units[0].0).unwrap();
        assert_eq!(h264::sps_resolution(&sps), Some((320, 240)));
    }
}
