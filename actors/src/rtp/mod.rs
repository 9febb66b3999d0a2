//! RTP for the SIP side of calls: packets, a jitter buffer, RFC 4733 telephone events, H.264
//! and VP8 payloads and RTCP reports; and the payloads WebRTC viewers send. Free of actix.

mod frame_payloads;
mod h264_payload;
mod jitter_buffer;
mod packet;
mod rtcp;
mod sequence;
mod telephone_event;
mod video_depacketizer;
mod vp8_payload;

pub use frame_payloads::{frame_payloads, WEBRTC_MAX_PAYLOAD};
pub use h264_payload::{packetize_h264, H264Depacketizer, MAX_VIDEO_PAYLOAD};
pub use jitter_buffer::{JitterBuffer, JitterBufferConfig, JitterBufferCounters, JitterOutput, PlayoutFrame, PushOutcome};
pub use packet::{muxed_packet_kind, MuxedPacketKind, RtpError, RtpHeader, RtpPacket, RTP_HEADER_LEN, RTP_VERSION};
pub use rtcp::{
    append_keyframe_request, append_rtcp_bye, is_keyframe_request, parse_rtcp, write_receiver_report, write_sender_report, Bye, NtpTimestamp, ReportBlock, ReportBlocks, RtcpError, RtcpPacket,
    RtcpPackets, SenderInfo, SentCounts, RTCP_BYE, RTCP_RECEIVER_REPORT, RTCP_SENDER_REPORT, RTCP_SOURCE_DESCRIPTION,
};
pub use sequence::{SequenceExtender, SequenceUpdate, TimestampExtender, MAX_DROPOUT, MAX_MISORDER};
pub use telephone_event::{
    dtmf_digit, dtmf_event_code, DtmfDigitsError, DtmfPacket, DtmfReceiver, DtmfSchedule, DtmfSenderConfig, ReceivedDigit, TelephoneEvent,
    TelephoneEventTooShort, DEFAULT_DTMF_VOLUME, TELEPHONE_EVENT_LEN,
};
pub use video_depacketizer::Picture;
pub use vp8_payload::{packetize_vp8, Vp8Depacketizer};
