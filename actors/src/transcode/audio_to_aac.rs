//! A stream's audio (Opus from browsers, G.711 or G.722 from phones) as AAC, on a transcoder
//! thread of its own: one per stream, whatever the number of RTMP pushes that take it.

use super::{AacEncoder, OpusDecoder, Stereo, TelephonyDecoder, TranscodeError, AAC_SAMPLES_PER_FRAME};
use crate::media::{CodecName, MediaFrame, MediaKind};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Audio frames a transcoder may be behind before the stream drops them.
pub const TRANSCODER_QUEUE: usize = 100;

/// The running transcoder: source audio goes in through `input`, AAC comes out of `output` in a
/// 48 kHz clock that is the source's RTP clock scaled, so it stays in sync with the video.
pub struct AacTrack {
    pub input: mpsc::Sender<MediaFrame>,
    pub output: mpsc::Receiver<MediaFrame>,
    /// One encoded frame of silence, for muting.
    pub silence: Arc<[u8]>,
}

/// The decoder of the stream's audio codec, to 48 kHz.
enum SourceDecoder {
    Opus(OpusDecoder),
    Telephony(TelephonyDecoder),
}

impl SourceDecoder {
    fn new(codec: CodecName) -> Result<Self, TranscodeError> {
        match codec {
            CodecName::Opus => Ok(SourceDecoder::Opus(OpusDecoder::new()?)),
            CodecName::Pcmu | CodecName::Pcma | CodecName::G722 => Ok(SourceDecoder::Telephony(TelephonyDecoder::new(codec)?)),
            other => Err(TranscodeError(format!("no AAC from {other:?}"))),
        }
    }

    fn decode(&mut self, payload: &[u8]) -> Result<Stereo, TranscodeError> {
        match self {
            SourceDecoder::Opus(decoder) => decoder.decode(payload),
            SourceDecoder::Telephony(decoder) => decoder.decode(payload),
        }
    }
}

/// AAC of `source` audio (Opus, PCMU, PCMA or G.722). `channels`: 1 for mono sources (browsers'
/// microphones, phones), 2 for stereo.
pub fn spawn_audio_to_aac(stream_name: &str, source: CodecName, bitrate: usize, channels: u8) -> Result<AacTrack, TranscodeError> {
    let mut decoder = SourceDecoder::new(source)?;
    let mut encoder = AacEncoder::new(bitrate, channels)?;
    let silence = silence_frame(bitrate, channels)?;
    let (input, mut frames_in) = mpsc::channel::<MediaFrame>(TRANSCODER_QUEUE);
    let (frames_out, output) = mpsc::channel::<MediaFrame>(TRANSCODER_QUEUE);
    let name = stream_name.to_owned();
    std::thread::Builder::new()
        .name(format!("aac-{name}"))
        .spawn(move || {
            // The media time of the next sample the encoder gets, in the Opus clock.
            let mut expected: Option<u64> = None;
            let mut start: Option<u64> = None;
            while let Some(frame) = frames_in.blocking_recv() {
                // 48 kHz ticks: Opus's own clock, six of them per tick of G.711's and G.722's.
                let time = frame.time * 48_000 / u64::from(frame.clock_rate.max(1));
                let first = *start.get_or_insert(time);
                let mut pcm = match decoder.decode(&frame.data) {
                    Ok(pcm) => pcm,
                    Err(e) => {
                        tracing::debug!(stream = %name, error = %e, "undecodable audio packet skipped");
                        continue;
                    }
                };
                // Lost packets leave a gap: fill it with silence so audio keeps its time.
                if let Some(next) = expected {
                    let gap = time.saturating_sub(next) as usize;
                    if gap > 0 && gap < 48_000 {
                        let mut filled = Stereo::silence(gap);
                        filled.left.append(&mut pcm.left);
                        filled.right.append(&mut pcm.right);
                        pcm = filled;
                    }
                }
                expected = Some(time + (pcm.len() as u64).min(48_000));
                let encoded = match encoder.encode(&pcm) {
                    Ok(encoded) => encoded,
                    Err(e) => {
                        tracing::warn!(stream = %name, error = %e, "AAC encoding failed");
                        continue;
                    }
                };
                for (pts, data) in encoded {
                    let aac = MediaFrame {
                        kind: MediaKind::Audio,
                        time: first + pts as u64,
                        clock_rate: 48_000,
                        received: frame.received,
                        keyframe: true,
                        data: Arc::from(data),
                        rtp_payloads: Default::default(),
                    };
                    if frames_out.blocking_send(aac).is_err() {
                        return;
                    }
                }
            }
        })
        .map_err(|e| TranscodeError(format!("cannot start a transcoder thread: {e}")))?;
    Ok(AacTrack { input, output, silence })
}

fn silence_frame(bitrate: usize, channels: u8) -> Result<Arc<[u8]>, TranscodeError> {
    let mut encoder = AacEncoder::new(bitrate, channels)?;
    let frames = encoder.encode(&Stereo::silence(AAC_SAMPLES_PER_FRAME * 6))?;
    frames.last().map(|(_, data)| Arc::from(data.clone())).ok_or(TranscodeError("no AAC silence".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Opus packets of a 440 Hz tone.
    fn opus_tone(frames: usize) -> Vec<Vec<u8>> {
        let mut encoder = super::super::OpusEncoder::new(64_000, 2).unwrap();
        (0..frames)
            .flat_map(|f| {
                let tone: Vec<f32> = (0..960).map(|i| (((f * 960 + i) as f32) * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.4).collect();
                encoder.encode(&Stereo { left: tone.clone(), right: tone }).unwrap()
            })
            .collect()
    }

    #[test]
    fn opus_in_aac_out_on_the_same_clock() {
        let packets = opus_tone(100);
        assert!(super::super::opus_is_stereo(&packets[0]));
        let mut track = spawn_audio_to_aac("test", CodecName::Opus, 96_000, 2).unwrap();
        assert!(!track.silence.is_empty());
        let now = Instant::now();
        for (i, packet) in packets.iter().enumerate() {
            // Drop the 50th packet: the gap is filled, the clock keeps going.
            if i == 50 {
                continue;
            }
            let frame = MediaFrame {
                kind: MediaKind::Audio,
                time: 1_000_000 + i as u64 * 960,
                clock_rate: 48_000,
                received: now,
                keyframe: true,
                data: Arc::from(packet.clone()),
                rtp_payloads: Default::default(),
            };
            track.input.blocking_send(frame).unwrap();
        }
        drop(track.input);
        let mut out = Vec::new();
        while let Some(frame) = track.output.blocking_recv() {
            out.push(frame);
        }
        // 100 x 960 samples = 93.75 AAC frames, less the encoder's delay.
        assert!((90..=94).contains(&out.len()), "{}", out.len());
        assert_eq!(out[0].time, 1_000_000);
        assert!(out.windows(2).all(|w| w[1].time - w[0].time == 1024));
    }
}
