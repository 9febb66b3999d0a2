//! RTMP timestamps (milliseconds on one clock for audio and video) from the media times of
//! WebRTC frames (each track on its own RTP clock with a random start). Each track starts at
//! the moment its first frame arrived; from there its own clock counts, so the tracks stay as in
//! sync as they arrived. Each track's timestamps strictly increase (a frame at or before the
//! last one, reordered or repeated, gets the last + 1 ms): muxers refuse equal ones.

use crate::media::MediaKind;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
struct TrackStart {
    time: u64,
    clock_rate: u32,
    at_ms: u64,
    last_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct MediaClock {
    origin: Option<Instant>,
    audio: Option<TrackStart>,
    video: Option<TrackStart>,
}

impl MediaClock {
    /// The RTMP timestamp of a frame: `time` in `clock_rate`, first seen at `received`.
    pub fn timestamp_ms(&mut self, kind: MediaKind, time: u64, clock_rate: u32, received: Instant) -> u32 {
        let origin = *self.origin.get_or_insert(received);
        let slot = match kind {
            MediaKind::Audio => &mut self.audio,
            MediaKind::Video => &mut self.video,
        };
        let start = slot.get_or_insert(TrackStart {
            time,
            clock_rate: clock_rate.max(1),
            at_ms: received.saturating_duration_since(origin).as_millis() as u64,
            last_ms: None,
        });
        let elapsed = time.saturating_sub(start.time) * 1000 / u64::from(start.clock_rate);
        let ms = match start.last_ms {
            Some(last) => (start.at_ms + elapsed).max(last + 1),
            None => start.at_ms + elapsed,
        };
        start.last_ms = Some(ms);
        ms as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn tracks_start_when_they_arrive_and_follow_their_clocks() {
        let t0 = Instant::now();
        let mut clock = MediaClock::default();
        assert_eq!(clock.timestamp_ms(MediaKind::Audio, 1_000_000, 48_000, t0), 0);
        assert_eq!(clock.timestamp_ms(MediaKind::Audio, 1_000_960, 48_000, t0 + Duration::from_millis(25)), 20);
        // Video's first (key)frame arrives 300 ms after the first audio.
        assert_eq!(clock.timestamp_ms(MediaKind::Video, 5_000, 90_000, t0 + Duration::from_millis(300)), 300);
        assert_eq!(clock.timestamp_ms(MediaKind::Video, 5_000 + 3_000, 90_000, t0 + Duration::from_millis(390)), 333);
        // Arrival jitter does not move timestamps; the media clock does.
        assert_eq!(clock.timestamp_ms(MediaKind::Audio, 1_000_000 + 48_000, 48_000, t0 + Duration::from_millis(1090)), 1000);
        // A repeated or earlier frame still moves forward.
        assert_eq!(clock.timestamp_ms(MediaKind::Video, 5_000 + 3_000, 90_000, t0 + Duration::from_millis(400)), 334);
        assert_eq!(clock.timestamp_ms(MediaKind::Video, 4_000, 90_000, t0 + Duration::from_millis(410)), 335);
    }
}
