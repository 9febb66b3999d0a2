//! Which telephone codec a call's phone speaks, as the transcoders need to know it: how it is
//! coded and at what sample rate.

use super::g711::G711;
use super::TranscodeError;
use crate::media::CodecName;
use ffmpeg_next::codec;

/// A telephone codec: G.711 in code here, G.722 by FFmpeg (codec `id`).
pub(super) enum TelephoneCodec {
    G711(G711),
    Ffmpeg(codec::Id),
}

impl TelephoneCodec {
    pub(super) fn of(codec: CodecName) -> Result<Self, TranscodeError> {
        match codec {
            CodecName::Pcmu => Ok(TelephoneCodec::G711(G711::MuLaw)),
            CodecName::Pcma => Ok(TelephoneCodec::G711(G711::ALaw)),
            CodecName::G722 => Ok(TelephoneCodec::Ffmpeg(codec::Id::ADPCM_G722)),
            other => Err(TranscodeError(format!("{other:?} is not telephone audio"))),
        }
    }

    /// Its sample rate (G.722's is 16 kHz though its RTP clock is 8 kHz).
    pub(super) fn sample_rate(&self) -> u32 {
        match self {
            TelephoneCodec::G711(_) => 8_000,
            TelephoneCodec::Ffmpeg(_) => 16_000,
        }
    }
}
