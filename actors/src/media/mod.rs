//! Media as it moves between actors: depacketized frames and the codec of each track.

mod codec;
mod frame;

pub use codec::{CodecName, TrackCodec};
pub use frame::{MediaFrame, MediaKind, StreamTracks};
