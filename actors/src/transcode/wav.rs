//! RIFF WAV files with 16-bit PCM, the sound files WCS inserts into pushed streams.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    /// Interleaved samples.
    pub samples: Vec<i16>,
}

pub fn parse(bytes: &[u8]) -> Result<Wav, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a RIFF WAVE file".into());
    }
    let mut at = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
        match id {
            b"fmt " if body.len() >= 16 => {
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
                format = Some((u16_at(0), u16_at(2), rate, u16_at(14)));
            }
            b"data" => {
                let (tag, channels, sample_rate, bits) = format.ok_or("data before fmt")?;
                // 1 = PCM; 0xFFFE = WAVE_FORMAT_EXTENSIBLE, accepted when it carries 16-bit PCM.
                if !(tag == 1 || tag == 0xfffe) || bits != 16 {
                    return Err(format!("only 16-bit PCM is supported (format {tag}, {bits} bits)"));
                }
                if channels == 0 || channels > 2 || sample_rate == 0 {
                    return Err(format!("unsupported layout: {channels} channels at {sample_rate} Hz"));
                }
                let samples = body.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]])).collect();
                return Ok(Wav { sample_rate, channels, samples });
            }
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    Err("no data chunk".into())
}

#[cfg(test)]
pub(crate) fn write(sample_rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * u32::from(channels) * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pcm() {
        let bytes = write(8000, 1, &[1, -2, 300]);
        assert_eq!(parse(&bytes), Ok(Wav { sample_rate: 8000, channels: 1, samples: vec![1, -2, 300] }));
    }

    #[test]
    fn refuses_what_it_cannot_play() {
        assert!(parse(b"not a wav").is_err());
        let mut float = write(8000, 1, &[0; 4]);
        float[20] = 3; // IEEE float
        assert!(parse(&float).unwrap_err().contains("16-bit PCM"));
    }
}
