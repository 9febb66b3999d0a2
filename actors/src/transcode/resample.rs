//! Any WAV layout to 48 kHz planar stereo (swresample).

use super::wav::Wav;
use super::{init, Stereo, TranscodeError};
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::channel_layout::ChannelLayout;

pub fn to_stereo_48k(wav: &Wav) -> Result<Stereo, TranscodeError> {
    init();
    let layout = if wav.channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
    // Mono stays mono here and is copied to both sides: swresample's upmix takes 3 dB off.
    let mut resampler = resampling::Context::get(Sample::I16(Type::Packed), layout, wav.sample_rate, Sample::F32(Type::Planar), layout, 48_000)?;
    let frames_in = wav.samples.len() / usize::from(wav.channels);
    let mut input = frame::Audio::new(Sample::I16(Type::Packed), frames_in, layout);
    input.set_rate(wav.sample_rate);
    input.set_channels(wav.channels);
    let bytes: Vec<u8> = wav.samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    input.data_mut(0)[..bytes.len()].copy_from_slice(&bytes);
    // Room for the whole output (crates.md pitfall 2: an empty frame is sized to the input).
    let capacity = frames_in * 48_000 / wav.sample_rate as usize + 256;
    let mut output = frame::Audio::new(Sample::F32(Type::Planar), capacity, layout);
    resampler.run(&input, &mut output)?;
    let mut stereo = Stereo::default();
    append(&output, &mut stereo);
    let mut tail = frame::Audio::new(Sample::F32(Type::Planar), 1024, layout);
    if resampler.flush(&mut tail).is_ok() {
        append(&tail, &mut stereo);
    }
    Ok(stereo)
}

fn append(frame: &frame::Audio, stereo: &mut Stereo) {
    let n = frame.samples();
    let right = if frame.planes() > 1 { 1 } else { 0 };
    stereo.left.extend_from_slice(&frame.plane::<f32>(0)[..n]);
    stereo.right.extend_from_slice(&frame.plane::<f32>(right)[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_khz_mono_becomes_48k_stereo() {
        let samples: Vec<i16> = (0..8000).map(|i| ((i as f32 * 0.3).sin() * 10_000.0) as i16).collect();
        let stereo = to_stereo_48k(&Wav { sample_rate: 8000, channels: 1, samples }).unwrap();
        assert!((47_000..=48_200).contains(&stereo.len()), "{}", stereo.len());
        assert_eq!(stereo.left, stereo.right);
        // Full level: 10 000 of 32 768.
        let peak = stereo.left.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((0.29..0.32).contains(&peak), "{peak}");
    }
}
