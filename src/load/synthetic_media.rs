//! Synthetic media for load clients and tests: frames with the structure of real ones
//! (Annex B H.264 access units, VP8 frames with their keyframe bit, Opus packets), the sizes a
//! given bitrate gives, and a frame counter inside so a receiver can tell them apart.

/// Video codecs a synthetic publisher can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VideoCodec {
    H264,
    Vp8,
}

pub struct SyntheticVideo {
    codec: VideoCodec,
    frame_bytes: usize,
    gop: u64,
    index: u64,
    keyframe_wanted: bool,
}

impl SyntheticVideo {
    /// `bitrate` in bits per second; a keyframe every `gop` frames, five times a P frame's size.
    pub fn new(codec: VideoCodec, bitrate: u64, fps: u32, gop: u64) -> Self {
        let per_frame = bitrate / 8 / u64::from(fps.max(1));
        // Keyframes are 5x, so scale P frames to keep the average.
        let gop = gop.max(1);
        let frame_bytes = (per_frame * gop / (gop + 4)).max(32) as usize;
        SyntheticVideo { codec, frame_bytes, gop, index: 0, keyframe_wanted: true }
    }

    /// The next frame is a keyframe (the server asked with a PLI/FIR).
    pub fn request_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// The next frame and whether it is a keyframe.
    pub fn next_frame(&mut self) -> (Vec<u8>, bool) {
        let keyframe = self.keyframe_wanted || self.index.is_multiple_of(self.gop);
        self.keyframe_wanted = false;
        let size = if keyframe { self.frame_bytes * 5 } else { self.frame_bytes };
        let body = filler(self.index, size);
        self.index += 1;
        let frame = match self.codec {
            VideoCodec::H264 if keyframe => {
                let mut f = nal(0x67, &[0x42, 0xe0, 0x1f, 0x8d, 0x68, 0x14, 0x1f]);
                f.extend(nal(0x68, &[0xce, 0x3c, 0x80]));
                f.extend(nal(0x65, &body));
                f
            }
            VideoCodec::H264 => nal(0x41, &body),
            // VP8 frame tag: bit 0 clear marks a keyframe, which carries the start code 9d 01 2a.
            VideoCodec::Vp8 if keyframe => [&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01][..], &body].concat(),
            VideoCodec::Vp8 => [&[0x31, 0x02, 0x00][..], &body].concat(),
        };
        (frame, keyframe)
    }
}

/// A 20 ms Opus packet (CELT, fullband) of `bytes` bytes with the counter inside.
pub fn opus_frame(index: u64, bytes: usize) -> Vec<u8> {
    let mut frame = vec![0xfc];
    frame.extend(filler(index, bytes.saturating_sub(1)));
    frame
}

fn nal(header: u8, body: &[u8]) -> Vec<u8> {
    let mut unit = vec![0, 0, 0, 1, header];
    unit.extend_from_slice(body);
    unit
}

/// Payload bytes that never contain a zero (so no H.264 start code can appear), starting with
/// the frame counter.
fn filler(index: u64, size: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = index.to_be_bytes().iter().map(|b| b | 0x80).collect();
    bytes.extend((0..size.saturating_sub(8)).map(|i| (i % 251 + 1) as u8));
    bytes.truncate(size.max(8));
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_come_first_every_gop_and_on_request() {
        let mut v = SyntheticVideo::new(VideoCodec::H264, 600_000, 30, 30);
        let (first, key) = v.next_frame();
        assert!(key);
        assert_eq!(&first[..5], &[0, 0, 0, 1, 0x67]);
        let (second, key) = v.next_frame();
        assert!(!key && second[4] == 0x41);
        v.request_keyframe();
        assert!(v.next_frame().1);
        for _ in 3..30 {
            assert!(!v.next_frame().1);
        }
        assert!(v.next_frame().1, "frame 30 starts a GOP");
    }

    #[test]
    fn bitrate_is_about_right_and_payloads_differ() {
        let mut v = SyntheticVideo::new(VideoCodec::Vp8, 600_000, 30, 60);
        let bytes: usize = (0..60).map(|_| v.next_frame().0.len()).sum();
        let bitrate = bytes * 8 / 2;
        assert!((500_000..700_000).contains(&bitrate), "{bitrate}");
        assert_ne!(opus_frame(1, 40), opus_frame(2, 40));
        assert!(!filler(0, 100).contains(&0));
    }
}
