//! The few functions of libopus's C API the call path uses directly (see opus_encoder.rs for
//! why not through FFmpeg). Linked from the system's libopus.

use std::os::raw::{c_float, c_int, c_uchar};

/// libopus's encoder state, opaque.
#[repr(C)]
pub struct RawEncoder {
    _private: [u8; 0],
}

/// libopus's decoder state, opaque.
#[repr(C)]
pub struct RawDecoder {
    _private: [u8; 0],
}

pub const OPUS_OK: c_int = 0;
pub const OPUS_APPLICATION_VOIP: c_int = 2048;
pub const OPUS_APPLICATION_AUDIO: c_int = 2049;
pub const OPUS_APPLICATION_RESTRICTED_LOWDELAY: c_int = 2051;
pub const OPUS_SET_BITRATE_REQUEST: c_int = 4002;
pub const OPUS_SET_COMPLEXITY_REQUEST: c_int = 4010;
pub const OPUS_SET_MAX_BANDWIDTH_REQUEST: c_int = 4004;
pub const OPUS_SET_SIGNAL_REQUEST: c_int = 4024;
pub const OPUS_SIGNAL_VOICE: c_int = 3001;
pub const OPUS_BANDWIDTH_NARROWBAND: c_int = 1101;
pub const OPUS_BANDWIDTH_MEDIUMBAND: c_int = 1102;
pub const OPUS_BANDWIDTH_WIDEBAND: c_int = 1103;
pub const OPUS_BANDWIDTH_SUPERWIDEBAND: c_int = 1104;
pub const OPUS_BANDWIDTH_FULLBAND: c_int = 1105;

#[link(name = "opus")]
extern "C" {
    pub fn opus_encoder_create(fs: i32, channels: c_int, application: c_int, error: *mut c_int) -> *mut RawEncoder;
    pub fn opus_encode_float(st: *mut RawEncoder, pcm: *const c_float, frame_size: c_int, data: *mut c_uchar, max_data_bytes: i32) -> i32;
    pub fn opus_encoder_ctl(st: *mut RawEncoder, request: c_int, ...) -> c_int;
    pub fn opus_encoder_destroy(st: *mut RawEncoder);
    pub fn opus_decoder_create(fs: i32, channels: c_int, error: *mut c_int) -> *mut RawDecoder;
    pub fn opus_decode_float(st: *mut RawDecoder, data: *const c_uchar, len: i32, pcm: *mut c_float, frame_size: c_int, decode_fec: c_int) -> c_int;
    pub fn opus_decoder_destroy(st: *mut RawDecoder);
}
