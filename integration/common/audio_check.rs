//! What a browser would hear in the Opus packets it received: loudness and pitch.

use ferrophone_actors::transcode::OpusDecoder;

/// RMS level (0..1) and zero-crossing frequency (Hz) of the audio, skipping its first
/// `skip_seconds` (jitter buffers and codecs settle).
pub fn level_and_pitch(opus_packets: &[Vec<u8>], skip_seconds: f32) -> (f32, f32) {
    let mut decoder = OpusDecoder::new().unwrap();
    let samples: Vec<f32> = opus_packets.iter().filter_map(|p| decoder.decode(p).ok()).flat_map(|pcm| pcm.left).collect();
    let skip = ((48_000.0 * skip_seconds) as usize).min(samples.len());
    let samples = &samples[skip..];
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
    let ups = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    (rms, ups as f32 * 48_000.0 / samples.len() as f32)
}
