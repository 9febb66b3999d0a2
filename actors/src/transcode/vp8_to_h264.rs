//! A stream's VP8 video as H.264, for RTMP, on a transcoder thread of its own (decoded with
//! FFmpeg's VP8 decoder, encoded with libx264): one per stream, whatever the number of pushes.

use super::{init, H264Encoder, TranscodeError};
use crate::media::{MediaFrame, MediaKind};
use ffmpeg_next::codec;
use ffmpeg_next::format::Pixel;
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

pub fn spawn_vp8_to_h264(stream_name: &str, bitrate: usize) -> Result<H264Track, TranscodeError> {
    init();
    let codec = ffmpeg_next::decoder::find(codec::Id::VP8).ok_or(TranscodeError("no VP8 decoder in FFmpeg".into()))?;
    let mut decoder = codec::Context::new_with_codec(codec).decoder().video()?;
    let (input, mut frames_in) = mpsc::channel::<VideoInput>(VIDEO_TRANSCODER_QUEUE);
    let (frames_out, output) = mpsc::channel::<MediaFrame>(VIDEO_TRANSCODER_QUEUE);
    let name = stream_name.to_owned();
    std::thread::Builder::new()
        .name(format!("h264-{name}"))
        .spawn(move || {
            let mut encoder: Option<(H264Encoder, u32, u32)> = None;
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
                    let (width, height) = (picture.width(), picture.height());
                    if picture.format() != Pixel::YUV420P {
                        tracing::warn!(stream = %name, format = ?picture.format(), "VP8 picture format not handled");
                        continue;
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
                    let units = match h264.encode(&mut picture, force_keyframe) {
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
