//! An MP4 file of a stream as it is published: H.264 (length-prefixed, with its
//! AVCDecoderConfigurationRecord) and Opus (with its OpusHead), packets copied, not re-encoded,
//! timestamps in milliseconds. FFmpeg's muxer writes it; `finish` writes the index, without
//! which the file does not play.

use super::{init, TranscodeError};
use crate::media::h264;
use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Output;
use ffmpeg_next::{codec, Packet, Rational};
use std::path::Path;

/// What the file holds: Opus audio (channels), H.264 video (its first keyframe's access unit).
pub struct Mp4Tracks<'a> {
    pub opus_channels: Option<u8>,
    pub h264_keyframe: Option<&'a [u8]>,
}

pub struct Mp4File {
    output: Output,
    audio: Option<usize>,
    video: Option<usize>,
}

/// RFC 7845 §5.1 identification header, as MP4's `dOps` box is made from.
fn opus_head(channels: u8) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels);
    head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip: libopus's usual
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0); // mapping family 0: mono or stereo
    head
}

/// Copies `data` into the stream's codec parameters as extradata (FFmpeg owns it from then).
///
/// SAFETY: `par` must be the codec parameters of a stream not yet written.
unsafe fn set_extradata(par: *mut ffi::AVCodecParameters, data: &[u8]) {
    let padded = data.len() + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    let buffer = ffi::av_mallocz(padded) as *mut u8;
    std::ptr::copy_nonoverlapping(data.as_ptr(), buffer, data.len());
    (*par).extradata = buffer;
    (*par).extradata_size = data.len() as i32;
}

impl Mp4File {
    pub fn create(path: &Path, tracks: Mp4Tracks) -> Result<Self, TranscodeError> {
        init();
        let mut output = ffmpeg_next::format::output_as(&path, "mp4")?;
        let mut video = None;
        if let Some(keyframe) = tracks.h264_keyframe {
            let (sps, pps) = h264::parameter_sets(keyframe).ok_or(TranscodeError("the first keyframe has no SPS and PPS".into()))?;
            let record = h264::decoder_configuration_record(&sps, &pps).ok_or(TranscodeError("bad SPS or PPS".into()))?;
            let (width, height) = h264::sps_resolution(&sps).unwrap_or((0, 0));
            let mut stream = output.add_stream(ffmpeg_next::encoder::find(codec::Id::None))?;
            stream.set_time_base(Rational(1, 1000));
            // SAFETY: the new stream's own parameters, before the header is written.
            unsafe {
                let par = (*stream.as_mut_ptr()).codecpar;
                (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
                (*par).codec_id = ffi::AVCodecID::AV_CODEC_ID_H264;
                (*par).width = width as i32;
                (*par).height = height as i32;
                set_extradata(par, &record);
            }
            video = Some(stream.index());
        }
        let mut audio = None;
        if let Some(channels) = tracks.opus_channels {
            let mut stream = output.add_stream(ffmpeg_next::encoder::find(codec::Id::None))?;
            stream.set_time_base(Rational(1, 1000));
            // SAFETY: as above.
            unsafe {
                let par = (*stream.as_mut_ptr()).codecpar;
                (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_AUDIO;
                (*par).codec_id = ffi::AVCodecID::AV_CODEC_ID_OPUS;
                (*par).sample_rate = 48_000;
                ffi::av_channel_layout_default(&mut (*par).ch_layout, i32::from(channels));
                set_extradata(par, &opus_head(channels));
            }
            audio = Some(stream.index());
        }
        output.write_header()?;
        Ok(Mp4File { output, audio, video })
    }

    /// One frame at `ms` from the start of the file (Annex B for H.264).
    pub fn write(&mut self, video: bool, data: &[u8], keyframe: bool, ms: u64) -> Result<(), TranscodeError> {
        let Some(index) = (if video { self.video } else { self.audio }) else { return Ok(()) };
        let payload = if video { h264::to_length_prefixed(data) } else { data.to_vec() };
        let mut packet = Packet::copy(&payload);
        packet.set_stream(index);
        packet.set_pts(Some(ms as i64));
        packet.set_dts(Some(ms as i64));
        if keyframe || !video {
            packet.set_flags(ffmpeg_next::packet::Flags::KEY);
        }
        let time_base = self.output.stream(index).map_or(Rational(1, 1000), |s| s.time_base());
        packet.rescale_ts(Rational(1, 1000), time_base);
        packet.write_interleaved(&mut self.output)?;
        Ok(())
    }

    /// Writes the index: the file is complete.
    pub fn finish(mut self) -> Result<(), TranscodeError> {
        self.output.write_trailer()?;
        Ok(())
    }
}
