//! Media as it moves between actors: depacketized frames and the codec of each track.

mod codec;
pub mod h264;
mod frame;

pub use codec::{CodecName, TrackCodec};
pub use frame::{MediaFrame, MediaKind, RtpPayloadCache, StreamTracks};
