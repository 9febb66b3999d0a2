//! Media as it moves between actors: depacketized frames and the codec of each track.

mod codec;
pub mod h264;
mod keyframe_requests;
mod frame;

pub use codec::{CodecName, TrackCodec};
pub use keyframe_requests::KeyframeRequests;
pub use frame::{MediaFrame, MediaKind, RtpPayloadCache, StreamTracks};
