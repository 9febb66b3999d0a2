//! Opus (as WebRTC sends it: 48 kHz, mono or stereo per packet) to planar stereo f32.

use super::{init, Stereo, TranscodeError};
use ffmpeg_next::codec;
use ffmpeg_next::format::sample::{Sample, Type};
use ffmpeg_next::frame;
use ffmpeg_next::Packet;

/// Whether an Opus packet is stereo (the `s` bit of its TOC byte, RFC 6716 §3.1).
pub fn opus_is_stereo(packet: &[u8]) -> bool {
    packet.first().is_some_and(|toc| toc & 0x04 != 0)
}

/// The audio bandwidth an Opus packet codes (its TOC byte's configuration, RFC 6716 §3.1).
pub fn opus_bandwidth(packet: &[u8]) -> Option<&'static str> {
    let config = packet.first()? >> 3;
    Some(match config {
        0..=3 | 16..=19 => "narrowband",
        4..=7 => "mediumband",
        8..=11 | 20..=23 => "wideband",
        12..=13 | 24..=27 => "super-wideband",
        _ => "fullband",
    })
}

/// Whether an Opus fmtp line says its receiver takes stereo (`stereo=1`, RFC 7587 §6.1). Our
/// answer repeats the publisher's offer, so without it a browser sends mono.
pub fn opus_fmtp_allows_stereo(fmtp: &str) -> bool {
    fmtp.split(';').any(|param| param.trim().eq_ignore_ascii_case("stereo=1"))
}

pub struct OpusDecoder {
    decoder: ffmpeg_next::decoder::Audio,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, TranscodeError> {
        init();
        let codec = ffmpeg_next::decoder::find(codec::Id::OPUS).ok_or(TranscodeError("no Opus decoder in FFmpeg".into()))?;
        let mut context = codec::Context::new_with_codec(codec);
        // Without an Opus header the decoder takes the channel count and rate from here.
        // SAFETY: plain fields of a context not opened yet.
        unsafe {
            let raw = context.as_mut_ptr();
            (*raw).sample_rate = 48_000;
            (*raw).channels = 2;
            (*raw).channel_layout = ffmpeg_next::util::channel_layout::ChannelLayout::STEREO.bits();
        }
        let decoder = context.decoder().audio()?;
        Ok(OpusDecoder { decoder })
    }

    /// Decodes one packet; an undecodable one is an error the caller may skip.
    pub fn decode(&mut self, packet: &[u8]) -> Result<Stereo, TranscodeError> {
        self.decoder.send_packet(&Packet::copy(packet))?;
        let mut out = Stereo::default();
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let samples = decoded.samples();
            match (decoded.format(), decoded.channels()) {
                (Sample::F32(Type::Planar), 1) => {
                    out.left.extend_from_slice(&decoded.plane::<f32>(0)[..samples]);
                    out.right.extend_from_slice(&decoded.plane::<f32>(0)[..samples]);
                }
                (Sample::F32(Type::Planar), _) => {
                    out.left.extend_from_slice(&decoded.plane::<f32>(0)[..samples]);
                    out.right.extend_from_slice(&decoded.plane::<f32>(1)[..samples]);
                }
                (format, channels) => {
                    return Err(TranscodeError(format!("unexpected Opus output {format:?} x{channels}")));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_is_read_from_the_fmtp_line() {
        assert!(opus_fmtp_allows_stereo("minptime=10;stereo=1;useinbandfec=1"));
        assert!(!opus_fmtp_allows_stereo("minptime=10;useinbandfec=1;sprop-stereo=1"));
        assert!(!opus_fmtp_allows_stereo("stereo=0"));
    }

    #[test]
    fn the_toc_byte_says_the_bandwidth() {
        // SILK narrowband, CELT narrowband, hybrid super-wideband, CELT wideband and fullband.
        let bands: Vec<_> = [0x08u8, 0x98, 0x60, 0xb8, 0xf8].iter().map(|toc| opus_bandwidth(&[*toc]).unwrap()).collect();
        assert_eq!(bands, ["narrowband", "narrowband", "super-wideband", "wideband", "fullband"]);
        assert_eq!(opus_bandwidth(&[]), None);
    }

    #[test]
    fn the_toc_byte_says_stereo() {
        assert!(opus_is_stereo(&[0xfc, 1, 2]));
        assert!(!opus_is_stereo(&[0xf8, 1, 2]));
        assert!(!opus_is_stereo(&[]));
    }
}
