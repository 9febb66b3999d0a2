//! G.711 (ITU-T G.711) µ-law and A-law, a sample at a time. A phone's 20 ms packet is 160
//! samples: a table look-up each, where FFmpeg's codec would cost a frame and a packet
//! allocated per call and per packet.

use std::sync::OnceLock;

/// One of G.711's two companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711 {
    MuLaw,
    ALaw,
}

impl G711 {
    /// The code whose level is nearest the sample.
    pub fn encode(self, sample: i16) -> u8 {
        static MULAW: OnceLock<Vec<u8>> = OnceLock::new();
        static ALAW: OnceLock<Vec<u8>> = OnceLock::new();
        let table = match self {
            G711::MuLaw => &MULAW,
            G711::ALaw => &ALAW,
        };
        table.get_or_init(|| self.nearest_codes())[(i32::from(sample) - i32::from(i16::MIN)) as usize]
    }

    pub fn decode(self, code: u8) -> i16 {
        match self {
            G711::MuLaw => linear_from_mulaw(code),
            G711::ALaw => linear_from_alaw(code),
        }
    }

    /// For every 16-bit sample from the lowest, the code of the nearest level: the 256 levels
    /// in order, walked once.
    fn nearest_codes(self) -> Vec<u8> {
        let mut levels: Vec<(i32, u8)> = (0..=255u8).map(|code| (i32::from(self.decode(code)), code)).collect();
        levels.sort_unstable();
        let mut at = 0;
        (i32::from(i16::MIN)..=i32::from(i16::MAX))
            .map(|sample| {
                while at + 1 < levels.len() && (levels[at + 1].0 - sample).abs() <= (levels[at].0 - sample).abs() {
                    at += 1;
                }
                levels[at].1
            })
            .collect()
    }
}

/// µ-law's bias: it makes the segments start at powers of two.
const MULAW_BIAS: i32 = 0x84;

fn linear_from_mulaw(code: u8) -> i16 {
    let code = !code;
    let exponent = (code >> 4) & 0x07;
    let mantissa = i32::from(code & 0x0f);
    let magnitude = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
    (if code & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// A-law inverts every other bit (and the sign bit for positive samples) on the wire.
const ALAW_EVEN_BITS: u8 = 0x55;

fn linear_from_alaw(code: u8) -> i16 {
    let code = code ^ ALAW_EVEN_BITS;
    let segment = (code & 0x70) >> 4;
    // The middle of the step the code stands for.
    let mut magnitude = i32::from(code & 0x0f) << 4;
    magnitude += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    (if code & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::init;
    use ffmpeg_next::codec;
    use ffmpeg_next::frame;
    use ffmpeg_next::util::channel_layout::ChannelLayout;
    use ffmpeg_next::Packet;

    /// FFmpeg's decoding of every code.
    fn ffmpeg_decoding(id: codec::Id) -> Vec<i16> {
        init();
        let found = ffmpeg_next::decoder::find(id).unwrap();
        let mut context = codec::Context::new_with_codec(found);
        // SAFETY: plain fields of a context not opened yet.
        unsafe {
            (*context.as_mut_ptr()).sample_rate = 8_000;
            (*context.as_mut_ptr()).channels = 1;
            (*context.as_mut_ptr()).channel_layout = ChannelLayout::MONO.bits();
        }
        let mut decoder = context.decoder().audio().unwrap();
        let codes: Vec<u8> = (0..=255).collect();
        decoder.send_packet(&Packet::copy(&codes)).unwrap();
        let mut decoded = frame::Audio::empty();
        decoder.receive_frame(&mut decoded).unwrap();
        decoded.plane::<i16>(0)[..256].to_vec()
    }

    #[test]
    fn every_code_decodes_as_ffmpeg_has_it_and_every_sample_to_the_nearest_level() {
        for (law, id) in [(G711::MuLaw, codec::Id::PCM_MULAW), (G711::ALaw, codec::Id::PCM_ALAW)] {
            let decoded = ffmpeg_decoding(id);
            let ours: Vec<i16> = (0..=255u8).map(|c| law.decode(c)).collect();
            assert_eq!(ours, decoded, "{law:?} decoding");
            let error = |sample: i16, level: i16| (i32::from(sample) - i32::from(level)).abs();
            for sample in i16::MIN..=i16::MAX {
                let best = ours.iter().map(|level| error(sample, *level)).min().unwrap();
                assert_eq!(error(sample, law.decode(law.encode(sample))), best, "{law:?} {sample}");
            }
        }
    }

    #[test]
    fn codes_survive_a_round_trip() {
        for law in [G711::MuLaw, G711::ALaw] {
            for code in 0..=255u8 {
                // µ-law has two zeros (0x7f and 0xff); both decode to 0, which encodes as 0xff.
                let expected = if law == G711::MuLaw && code == 0x7f { 0xff } else { code };
                assert_eq!(law.encode(law.decode(code)), expected, "{law:?} {code:#04x}");
            }
        }
    }
}
