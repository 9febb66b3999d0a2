//! `notifyStreamStatusEvent` (spec §3.6): the stream object as the WebSDK reads it.

use serde::Serialize;

/// Status texts the SDK knows (`STREAM_STATUS`).
pub mod status {
    pub const PUBLISHING: &str = "PUBLISHING";
    pub const PLAYING: &str = "PLAYING";
    pub const UNPUBLISHED: &str = "UNPUBLISHED";
    pub const STOPPED: &str = "STOPPED";
    pub const FAILED: &str = "FAILED";
}

/// Info texts the SDK knows (`STREAM_STATUS_INFO`).
pub mod info {
    pub const STREAM_NOT_FOUND: &str = "Stream not found";
    pub const NAME_IN_USE: &str = "Stream name is already in use";
    pub const ID_IN_USE: &str = "MediaSessionId is already in use";
    pub const STOPPED_BY_USER: &str = "Stopped by user";
    pub const STOPPED_BY_SESSION_DISCONNECT: &str = "Stopped by session disconnect";
    pub const STOPPED_BY_REST_TERMINATE: &str = "Stopped by rest /terminate";
    pub const NO_COMMON_CODECS: &str = "No common codecs";
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MutedState {
    pub muted: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatusEvent {
    pub media_session_id: String,
    pub name: String,
    pub published: bool,
    pub has_audio: bool,
    pub has_video: bool,
    pub status: &'static str,
    pub info: String,
    pub audio_codec: Option<String>,
    pub video_codec: Option<String>,
    pub record: bool,
    /// The recording's file name, once recording (the SDK's `getRecordInfo()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_name: Option<String>,
    pub width: u32,
    pub height: u32,
    pub bitrate: u32,
    pub min_bitrate: u32,
    pub max_bitrate: u32,
    pub quality: u32,
    pub create_date: u64,
    pub media_provider: &'static str,
    pub audio_state: MutedState,
    pub video_state: MutedState,
}
