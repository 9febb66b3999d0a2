//! A stream's video as H.264 for RTMP, on a transcoder thread of its own (decoded with FFmpeg,
//! scaled with swscale when a size is asked for, encoded with libx264): VP8 that RTMP cannot
//! carry, or any video at the size a push asked for. One per stream and size, whatever the
//! number of pushes.

use super::{init, H264Encoder, TranscodeError};
use crate::media::{CodecName, MediaFrame, MediaKind};
use ffmpeg_next::codec;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{frame, Packet};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Frames a video transcoder may be behind before the stream drops them.
pub const VIDEO_TRANSCODER_QUEUE: usize = 60;

pub enum VideoInput {
    Frame(MediaFrame),
    /// A subscriber needs a keyframe: the next picture is encoded as one.
    Keyframe,
}

pub struct H264Track {
    pub input: mpsc::Sender<VideoInput>,
    pub output: mpsc::Receiver<MediaFrame>,
}

/// The size a picture is encoded at: the one asked for, else the source's own. x264 takes
/// 4:2:0 pictures of even sizes.
fn output_size(source: (u32, u32), asked: Option<(u32, u32)>) -> (u32, u32) {
    let (width, height) = asked.unwrap_or(source);
    ((width & !1).max(2), (height & !1).max(2))
}

/// `source` is the stream's video codec (VP8 or H.264); `size` the picture size wanted, or None
/// for the source's.
pub fn spawn_to_h264(stream_name: &str, source: CodecName, size: Option<(u32, u32)>, bitrate: usize) -> Result<H264Track, TranscodeError> {
    init();
    let id = match source {
        CodecName::Vp8 => codec::Id::VP8,
        CodecName::H264 => codec::Id::H264,
        other => return Err(TranscodeError(format!("cannot make H.264 from {other:?}"))),
    };
    let codec = ffmpeg_next::decoder::find(id).ok_or_else(|| TranscodeError(format!("no {source:?} decoder in FFmpeg")))?;
    let mut decoder = codec::Context::new_with_codec(codec).decoder().video()?;
    let (input, mut frames_in) = mpsc::channel::<VideoInput>(VIDEO_TRANSCODER_QUEUE);
    let (frames_out, output) = mpsc::channel::<MediaFrame>(VIDEO_TRANSCODER_QUEUE);
    let name = stream_name.to_owned();
    std::thread::Builder::new()
        .name(format!("h264-{name}"))
        .spawn(move || {
            let mut encoder: Option<(H264Encoder, u32, u32)> = None;
            // Converts the decoder's pictures (format, size) to the encoder's, when they differ.
            let mut scaler: Option<(scaling::Context, Pixel, u32, u32)> = None;
            let mut scaled = frame::Video::empty();
            let (mut force_keyframe, mut decoding) = (true, false);
            let mut picture = frame::Video::empty();
            while let Some(input) = frames_in.blocking_recv() {
                let frame = match input {
                    VideoInput::Keyframe => {
                        force_keyframe = true;
                        continue;
                    }
                    VideoInput::Frame(frame) => frame,
                };
                // A decoder starts at a keyframe; what comes before cannot be decoded.
                decoding |= frame.keyframe;
                if !decoding || decoder.send_packet(&Packet::copy(&frame.data)).is_err() {
                    continue;
                }
                while decoder.receive_frame(&mut picture).is_ok() {
                    let source_size = (picture.width(), picture.height());
                    let (width, height) = output_size(source_size, size);
                    let converted = source_size != (width, height) || picture.format() != Pixel::YUV420P;
                    if converted {
                        let format = picture.format();
                        if scaler.as_ref().is_none_or(|(_, f, w, h)| (*f, *w, *h) != (format, source_size.0, source_size.1)) {
                            match scaling::Context::get(format, source_size.0, source_size.1, Pixel::YUV420P, width, height, scaling::Flags::BILINEAR) {
                                Ok(context) => scaler = Some((context, format, source_size.0, source_size.1)),
                                Err(e) => {
                                    tracing::warn!(stream = %name, error = %e, ?format, "cannot convert the pictures");
                                    continue;
                                }
                            }
                        }
                        let Some((context, ..)) = scaler.as_mut() else { continue };
                        if let Err(e) = context.run(&picture, &mut scaled) {
                            tracing::warn!(stream = %name, error = %e, "picture conversion failed");
                            continue;
                        }
                    }
                    if encoder.as_ref().is_none_or(|(_, w, h)| (*w, *h) != (width, height)) {
                        match H264Encoder::new(width, height, 30, bitrate, 60) {
                            Ok(e) => encoder = Some((e, width, height)),
                            Err(e) => {
                                tracing::error!(stream = %name, error = %e, "cannot start the H.264 encoder");
                                return;
                            }
                        }
                        force_keyframe = true;
                    }
                    let Some((h264, _, _)) = encoder.as_mut() else { continue };
                    let input = if converted { &mut scaled } else { &mut picture };
                    let units = match h264.encode(input, force_keyframe) {
                        Ok(units) => units,
                        Err(e) => {
                            tracing::warn!(stream = %name, error = %e, "H.264 encoding failed");
                            continue;
                        }
                    };
                    force_keyframe = false;
                    for (data, keyframe) in units {
                        let out = MediaFrame {
                            kind: MediaKind::Video,
                            time: frame.time,
                            clock_rate: frame.clock_rate,
                            received: frame.received,
                            keyframe,
                            data: Arc::from(data),
                            rtp_payloads: Default::default(),
                        };
                        if frames_out.blocking_send(out).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .map_err(|e| TranscodeError(format!("cannot start a transcoder thread: {e}")))?;
    Ok(H264Track { input, output })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::h264;
    use std::time::Instant;

    #[test]
    fn h264_is_scaled_to_the_size_asked_for() {
        let mut source = H264Encoder::new(320, 240, 30, 400_000, 300).unwrap();
        let mut picture = frame::Video::new(Pixel::YUV420P, 320, 240);
        let track = spawn_to_h264("test", CodecName::H264, Some((161, 120)), 200_000).unwrap();
        let (input, mut output) = (track.input, track.output);
        let now = Instant::now();
        for n in 0..10u64 {
            picture.data_mut(0).fill((n * 9) as u8);
            for (data, keyframe) in source.encode(&mut picture, false).unwrap() {
                let frame = MediaFrame { kind: MediaKind::Video, time: n * 3000, clock_rate: 90_000, received: now, keyframe, data: Arc::from(data), rtp_payloads: Default::default() };
                input.blocking_send(VideoInput::Frame(frame)).unwrap();
            }
        }
        drop(input);
        let out: Vec<MediaFrame> = std::iter::from_fn(|| output.blocking_recv()).collect();
        assert_eq!(out.len(), 10);
        let (sps, _) = h264::parameter_sets(&out[0].data).expect("a keyframe with its parameter sets first");
        assert_eq!(h264::sps_resolution(&sps), Some((160, 120)), "scaled, to an even width");
    }

    #[test]
    fn only_vp8_and_h264_become_h264() {
        assert!(spawn_to_h264("test", CodecName::Opus, None, 200_000).is_err());
    }
}
