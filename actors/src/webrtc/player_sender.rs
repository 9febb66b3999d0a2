//! What a player sends, without str0m's per-packet path: each frame's RTP payloads (cut once per
//! stream and shared by its viewers) behind this viewer's own 12-byte headers, protected with the
//! SRTP keys its DTLS handshake agreed and put straight into datagrams for the media port. Video
//! stays referenced for NACKs; sender reports give the browser its lip sync. str0m keeps ICE,
//! DTLS and the RTCP that comes in (keyframe requests, NACKs, receiver reports).
//!
//! Retransmissions go out on the media SSRC with their first sequence number: a receiver takes
//! them as late packets, and SRTP's replay check passes them because the first never arrived.

use super::srtp_sender::SrtpSender;
use crate::datagram_pool;
use crate::media::{CodecName, MediaFrame, MediaKind, RtpPayloadCache};
use crate::rtp::{self, RtpHeader, SentCounts, RTP_HEADER_LEN};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// How one track is sent, as negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackParams {
    pub ssrc: u32,
    pub pt: u8,
    pub clock_rate: u32,
    pub codec: CodecName,
}

pub struct PlayerSender {
    srtp: SrtpSender,
    destination: SocketAddr,
    cname: String,
    audio: Option<SentTrack>,
    video: Option<SentTrack>,
    /// No video goes before a keyframe, which the browser could not decode.
    waiting_keyframe: bool,
    /// Video frames still answerable to NACKs, oldest first, holding at most `resend_packets`
    /// packets (and always the last frame).
    resendable: VecDeque<SentFrame>,
    resendable_packets: usize,
    resend_packets: usize,
}

struct SentTrack {
    params: TrackParams,
    /// The SRTP index of the next packet: the rollover counter, then the sequence number.
    next_index: u64,
    counts: SentCounts,
    /// The RTP time of the last frame sent and when the server received it, which map the
    /// wallclock to media time in sender reports (as str0m maps them).
    last_frame: Option<(u32, Instant)>,
}

struct SentFrame {
    first_index: u64,
    packets: u64,
    rtp_time: u32,
    payloads: RtpPayloadCache,
}

impl SentTrack {
    fn new(params: TrackParams) -> Self {
        // Below 2^15, so that the rollover counter starts at 0 whatever the receiver guesses.
        SentTrack { params, next_index: rand::random_range(0..1 << 15), counts: SentCounts::default(), last_frame: None }
    }

    fn header(&self, index: u64, marker: bool, rtp_time: u32) -> [u8; RTP_HEADER_LEN] {
        let p = &self.params;
        RtpHeader { marker, payload_type: p.pt, sequence_number: index as u16, timestamp: rtp_time, ssrc: p.ssrc }.to_bytes()
    }

    /// The full index of a sequence number this track sent recently.
    fn index_of(&self, sequence: u16) -> Option<u64> {
        let candidate = (self.next_index & !0xffff) | u64::from(sequence);
        if candidate < self.next_index {
            Some(candidate)
        } else {
            candidate.checked_sub(1 << 16)
        }
    }
}

impl PlayerSender {
    pub fn new(srtp: SrtpSender, destination: SocketAddr, cname: String, audio: Option<TrackParams>, video: Option<TrackParams>, resend_packets: usize) -> Self {
        PlayerSender {
            srtp,
            destination,
            cname,
            audio: audio.map(SentTrack::new),
            waiting_keyframe: video.is_some(),
            video: video.map(SentTrack::new),
            resendable: VecDeque::new(),
            resendable_packets: 0,
            resend_packets,
        }
    }

    /// Where the browser is now (the address ICE nominated).
    pub fn set_destination(&mut self, destination: SocketAddr) {
        self.destination = destination;
    }

    /// One frame of the stream as protected datagrams to `out`: its payloads as the stream's
    /// first viewer cut them (the same bytes for every viewer), on this track's RTP clock.
    pub fn send_frame(&mut self, frame: &MediaFrame, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        let video = frame.kind == MediaKind::Video;
        let Some(track) = (if video { self.video.as_mut() } else { self.audio.as_mut() }) else { return };
        if video && self.waiting_keyframe {
            if !frame.keyframe {
                return;
            }
            self.waiting_keyframe = false;
        }
        let Some(rtp_time) = rebased(frame.time, frame.clock_rate, track.params.clock_rate) else { return };
        let codec = track.params.codec;
        let payloads = frame.rtp_payloads.get_or_cut(codec, || rtp::frame_payloads(codec, &frame.data, rtp::WEBRTC_MAX_PAYLOAD));
        let first_index = track.next_index;
        let last = payloads.len().saturating_sub(1);
        for (i, payload) in payloads.iter().enumerate() {
            let index = track.next_index;
            track.next_index += 1;
            out.push((self.destination, protect(&mut self.srtp, &track.header(index, video && i == last, rtp_time), payload, index)));
            track.counts.count(payload.len());
        }
        track.last_frame = Some((rtp_time, frame.received));
        // Audio is not worth resending: a resent packet comes too late to be played.
        if video && !payloads.is_empty() {
            let sent = SentFrame { first_index, packets: payloads.len() as u64, rtp_time, payloads: frame.rtp_payloads.clone() };
            self.keep_for_resending(sent);
        }
    }

    fn keep_for_resending(&mut self, frame: SentFrame) {
        self.resendable_packets += frame.packets as usize;
        self.resendable.push_back(frame);
        while self.resendable_packets > self.resend_packets && self.resendable.len() > 1 {
            let oldest = self.resendable.pop_front().expect("more than one frame");
            self.resendable_packets -= oldest.packets as usize;
        }
    }

    /// Sends again the video packets a NACK for `ssrc` names, those still kept. Returns how many.
    pub fn resend(&mut self, ssrc: u32, lost: impl IntoIterator<Item = u16>, out: &mut Vec<(SocketAddr, Vec<u8>)>) -> usize {
        let Some(track) = self.video.as_ref().filter(|t| t.params.ssrc == ssrc) else { return 0 };
        let mut resent = 0;
        for sequence in lost {
            let Some(index) = track.index_of(sequence) else { continue };
            let Some(frame) = self.resendable.iter().rev().find(|f| (f.first_index..f.first_index + f.packets).contains(&index)) else { continue };
            let position = index - frame.first_index;
            let Some(payload) = frame.payloads.cut(track.params.codec).and_then(|p| p.get(position as usize)) else { continue };
            let header = track.header(index, position + 1 == frame.packets, frame.rtp_time);
            out.push((self.destination, protect(&mut self.srtp, &header, payload, index)));
            resent += 1;
        }
        resent
    }

    /// A sender report (with the CNAME) for each track that has sent media, to `out`.
    pub fn sender_reports(&mut self, now: Instant, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        let mut plain = Vec::with_capacity(64);
        for track in [&self.audio, &self.video].into_iter().flatten() {
            let Some(last_frame) = track.last_frame else { continue };
            track.counts.write_report(track.params.ssrc, media_time_at(last_frame, track.params.clock_rate, now), true, &self.cname, &mut plain);
            out.push((self.destination, self.srtp.protect_rtcp(&plain)));
        }
    }
}

/// One protected RTP packet as a datagram of its own.
fn protect(srtp: &mut SrtpSender, header: &[u8; RTP_HEADER_LEN], payload: &[u8], index: u64) -> Vec<u8> {
    let mut datagram = datagram_pool::take();
    srtp.protect_rtp(header, payload, index, &mut datagram);
    datagram
}

/// A media time on one clock as a 32-bit RTP time on another; `None` for a clock of zero.
fn rebased(time: u64, from_clock: u32, to_clock: u32) -> Option<u32> {
    let rebased = u128::from(time) * u128::from(to_clock) / u128::from(from_clock.max(1));
    (from_clock > 0).then_some(rebased as u32)
}

/// The sequence numbers a generic NACK entry names (RFC 4585 §6.2.1): `pid`, and `pid + i + 1`
/// for each bit `i` set in `blp`.
pub fn lost_sequences(pid: u16, blp: u16) -> impl Iterator<Item = u16> {
    std::iter::once(pid).chain((0..16).filter(move |bit| blp & (1 << bit) != 0).map(move |bit| pid.wrapping_add(bit + 1)))
}

/// The RTP time at `now` on a clock that read `rtp_time` at `at`.
fn media_time_at((rtp_time, at): (u32, Instant), clock_rate: u32, now: Instant) -> u32 {
    let elapsed = now.saturating_duration_since(at);
    rtp_time.wrapping_add((elapsed.as_secs_f64() * f64::from(clock_rate)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webrtc::srtp_keys::{default_provider, SrtpKeys};
    use std::sync::Arc;
    use std::time::Duration;
    use str0m::crypto::dtls::SrtpProfile;

    const TAG: usize = 16;

    fn sender(resend_packets: usize) -> PlayerSender {
        let keys = SrtpKeys { profile: SrtpProfile::AEAD_AES_128_GCM, material: (0..56).collect(), active: false };
        let srtp = SrtpSender::new(default_provider(), &keys).unwrap();
        let audio = TrackParams { ssrc: 0x1111, pt: 111, clock_rate: 48_000, codec: CodecName::Opus };
        let video = TrackParams { ssrc: 0x2222, pt: 102, clock_rate: 90_000, codec: CodecName::H264 };
        PlayerSender::new(srtp, "127.0.0.1:5000".parse().unwrap(), "cname".into(), Some(audio), Some(video), resend_packets)
    }

    /// A keyframe (or not) of `count` payloads at `rtp_time`, cut into its cache as the
    /// stream's first viewer would.
    fn video_frame(count: usize, fill: u8, rtp_time: u64, keyframe: bool) -> MediaFrame {
        let frame = MediaFrame {
            kind: MediaKind::Video,
            time: rtp_time,
            clock_rate: 90_000,
            received: Instant::now(),
            keyframe,
            data: Arc::from(vec![0u8; 0]),
            rtp_payloads: RtpPayloadCache::default(),
        };
        frame.rtp_payloads.get_or_cut(CodecName::H264, || (0..count).map(|i| Arc::from(vec![fill.wrapping_add(i as u8); 100])).collect());
        frame
    }

    /// 80 bytes of Opus at `time` on its 48 kHz clock.
    fn audio_frame(time: u64, received: Instant) -> MediaFrame {
        let data: Arc<[u8]> = Arc::from(vec![1u8; 80]);
        MediaFrame { kind: MediaKind::Audio, time, clock_rate: 48_000, received, keyframe: true, data, rtp_payloads: RtpPayloadCache::default() }
    }

    fn send_video(sender: &mut PlayerSender, count: usize, fill: u8, rtp_time: u64, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        sender.send_frame(&video_frame(count, fill, rtp_time, true), out);
    }

    fn header(datagram: &[u8]) -> RtpHeader {
        crate::rtp::RtpPacket::parse(datagram).unwrap().header
    }

    #[test]
    fn a_frame_leaves_as_consecutive_encrypted_packets_marked_at_its_end() {
        let mut sender = sender(64);
        let mut out = Vec::new();
        sender.send_frame(&video_frame(3, 7, 6000, false), &mut out);
        assert!(out.is_empty(), "no video before a keyframe");
        send_video(&mut sender, 3, 7, 9000, &mut out);
        sender.send_frame(&video_frame(2, 50, 12000, false), &mut out);
        assert_eq!(out.len(), 5);
        let headers: Vec<RtpHeader> = out.iter().map(|(_, d)| header(d)).collect();
        let first = headers[0].sequence_number;
        for (i, h) in headers.iter().enumerate() {
            assert_eq!((h.ssrc, h.payload_type, h.sequence_number), (0x2222, 102, first.wrapping_add(i as u16)));
        }
        assert_eq!(headers.iter().map(|h| h.marker).collect::<Vec<_>>(), [false, false, true, false, true]);
        assert_eq!(headers.iter().map(|h| h.timestamp).collect::<Vec<_>>(), [9000, 9000, 9000, 12000, 12000]);
        for (to, datagram) in &out {
            assert_eq!(*to, "127.0.0.1:5000".parse().unwrap());
            assert_eq!(datagram.len(), RTP_HEADER_LEN + 100 + TAG);
            assert!(!datagram[RTP_HEADER_LEN..].windows(4).any(|w| w.iter().all(|&b| b == w[0])), "the payload is not sent in the clear");
        }
        sender.send_frame(&audio_frame(960, Instant::now()), &mut out);
        let audio = header(&out[5].1);
        assert_eq!((audio.ssrc, audio.payload_type, audio.marker, audio.timestamp), (0x1111, 111, false, 960));
    }

    #[test]
    fn a_nacked_packet_goes_again_byte_for_byte_while_kept() {
        let mut sender = sender(4);
        let mut out = Vec::new();
        send_video(&mut sender, 3, 7, 9000, &mut out);
        send_video(&mut sender, 2, 50, 12000, &mut out);
        let sequence = |i: usize| header(&out[i].1).sequence_number;
        let mut again = Vec::new();
        assert_eq!(sender.resend(0x2222, [sequence(3), sequence(4)], &mut again), 2);
        assert_eq!(again, out[3..5], "the same packets, with the same index and so the same bytes");
        assert_eq!(sender.resend(0x2222, [sequence(0)], &mut again), 0, "the first frame no longer fits the 4 packets kept");
        assert_eq!(sender.resend(0x1111, [sequence(3)], &mut again), 0, "audio is not resent");
        assert_eq!(sender.resend(0x2222, [sequence(4).wrapping_add(1)], &mut again), 0, "a packet not sent yet");
    }

    #[test]
    fn sequence_numbers_carry_on_across_the_wrap_and_nacks_find_them() {
        let mut sender = sender(64);
        sender.video.as_mut().unwrap().next_index = 0xfffe;
        let mut out = Vec::new();
        send_video(&mut sender, 4, 1, 0, &mut out);
        let sequences: Vec<u16> = out.iter().map(|(_, d)| header(d).sequence_number).collect();
        assert_eq!(sequences, [0xfffe, 0xffff, 0, 1]);
        let mut again = Vec::new();
        assert_eq!(sender.resend(0x2222, [0xffff, 1], &mut again), 2);
        assert_eq!(again, [out[1].clone(), out[3].clone()]);
    }

    #[test]
    fn a_nack_entry_names_its_packet_and_those_of_its_bitmask() {
        assert_eq!(lost_sequences(100, 0).collect::<Vec<_>>(), [100]);
        assert_eq!(lost_sequences(100, 0b1000_0000_0000_0101).collect::<Vec<_>>(), [100, 101, 103, 116]);
        assert_eq!(lost_sequences(0xffff, 1).collect::<Vec<_>>(), [0xffff, 0]);
    }

    #[test]
    fn media_time_is_rebased_onto_the_tracks_clock() {
        assert_eq!(rebased(48_000, 48_000, 48_000), Some(48_000));
        assert_eq!(rebased(1_000, 1_000, 90_000), Some(90_000));
        assert_eq!(rebased(u64::from(u32::MAX) + 11, 90_000, 90_000), Some(10), "RTP time wraps at 32 bits");
        assert_eq!(rebased(5, 0, 90_000), None);
    }

    #[test]
    fn media_time_runs_on_from_the_last_frame_and_wraps() {
        let at = Instant::now();
        assert_eq!(media_time_at((48_000, at), 48_000, at + Duration::from_millis(500)), 72_000);
        assert_eq!(media_time_at((u32::MAX - 899, at), 90_000, at + Duration::from_millis(20)), 900);
        assert_eq!(media_time_at((3000, at + Duration::from_secs(1)), 90_000, at), 3000, "never before the frame");
    }

    #[test]
    fn sender_reports_go_for_each_track_that_sent() {
        let mut sender = sender(64);
        let mut out = Vec::new();
        sender.sender_reports(Instant::now(), &mut out);
        assert!(out.is_empty(), "no report before any media");
        let received = Instant::now();
        sender.send_frame(&audio_frame(48_000, received), &mut out);
        out.clear();
        sender.sender_reports(received + Duration::from_millis(500), &mut out);
        assert_eq!(out.len(), 1, "only audio has sent");
        let report = &out[0].1;
        // The header and sender SSRC stay clear; the rest is sealed, then the index word.
        assert_eq!((report[0] >> 6, report[1]), (2, 200));
        assert_eq!(u32::from_be_bytes(report[4..8].try_into().unwrap()), 0x1111);
        assert_eq!(&report[report.len() - 4..], &[0x80, 0, 0, 0], "encrypted, SRTCP index 0");
        let mut expected = Vec::new();
        let mut counts = SentCounts::default();
        counts.count(80);
        counts.write_report(0x1111, 48_000 + 24_000, true, "cname", &mut expected);
        assert_eq!(report.len(), expected.len() + TAG + 4);
    }
}
