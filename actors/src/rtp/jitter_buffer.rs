//! Receive jitter buffer for the audio of a SIP leg. Packets arrive jittered, reordered, duplicated or not at all; decoders
//! want one frame after the other in media time. Each packet waits for its playout deadline: a fixed delay after the
//! fastest transit seen lately (following it upwards every couple of seconds, so a sender clock slower than ours does not
//! slowly make every packet late). A packet still missing at its deadline becomes a `Lost` marker for the decoder's
//! concealment — but only for `max_concealment`: a remote that stops sending (hold, silence suppression) is not an endless
//! loss, so the buffer then goes quiet and starts a new timeline with the next packet.

use super::packet::RtpHeader;
use super::sequence::{SequenceExtender, SequenceUpdate, TimestampExtender};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long the fastest transit is collected before the playout base moves up to it.
const TRANSIT_WINDOW: Duration = Duration::from_secs(2);
/// Packets of the previous SSRC arriving this soon after a switch are stragglers, not a switch back.
const STRAY_WINDOW: Duration = Duration::from_secs(1);
/// Longest frame a timestamp step between consecutive packets is believed to be (Opus goes up to 120 ms).
const MAX_FRAME: Duration = Duration::from_millis(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterBufferConfig {
    /// RTP clock of the payload: 8000 for G.711 and G.722 (sic, RFC 3551), 48000 for Opus.
    pub clock_rate: u32,
    /// How long after the fastest transit a frame is played.
    pub playout_delay: Duration,
    /// Packets held at most; beyond it the oldest is dropped.
    pub capacity: usize,
    /// Assumed until consecutive packets show their real length; `Lost` markers are this long.
    pub frame_duration: Duration,
    /// How much media time one gap is concealed for before the buffer goes quiet.
    pub max_concealment: Duration,
}

impl JitterBufferConfig {
    /// 60 ms delay, 50 packets (a second of 20 ms frames), 20 ms frames, 200 ms of concealment.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            playout_delay: Duration::from_millis(60),
            capacity: 50,
            frame_duration: Duration::from_millis(20),
            max_concealment: Duration::from_millis(200),
        }
    }
}

/// Totals since the buffer was made, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterBufferCounters {
    /// Packets pushed.
    pub received: u64,
    /// Sequence numbers that were not played: the gaps between played frames, late packets included.
    pub lost: u64,
    /// Packets that arrived after their turn had passed, dropped.
    pub late: u64,
    /// Packets already buffered or played, dropped.
    pub duplicate: u64,
    /// Packets dropped, oldest first, because the buffer was full.
    pub overflow: u64,
    /// `Lost` markers handed out.
    pub concealed: u64,
    /// Stragglers of the previous SSRC and packets of an unconfirmed sequence jump, dropped.
    pub discarded: u64,
    /// New timelines: a new SSRC, a confirmed sequence jump, or packets again after the buffer went quiet.
    pub resyncs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Waiting for its deadline (if the buffer was full, the oldest packet made room and `overflow` counts it).
    Buffered,
    Duplicate,
    Late,
    Discarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutFrame<'a> {
    /// Extended sequence number; a new timeline (see `resync`) need not continue the previous one.
    pub sequence: u64,
    /// Extended RTP timestamp; as with `sequence`.
    pub timestamp: u64,
    pub payload_type: u8,
    pub marker: bool,
    /// The first frame of a new timeline (the first packet, a new SSRC, a restarted sender, or after going quiet):
    /// its timestamp need not follow what was handed out before.
    pub resync: bool,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitterOutput<'a> {
    Frame(PlayoutFrame<'a>),
    /// The next packet did not arrive in time: conceal `ticks` of media from `timestamp` on.
    Lost {
        timestamp: u64,
        ticks: u32,
    },
}

#[derive(Debug)]
struct BufferedPacket {
    sequence: u64,
    timestamp: u64,
    payload_type: u8,
    marker: bool,
    payload: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct PlayedFrame {
    sequence: u64,
    timestamp: u64,
    payload_type: u8,
}

/// Maps media timestamps to deadlines on our clock, in microseconds from the arrival of the packet that began the timeline.
#[derive(Debug, Clone, Copy)]
struct PlayoutClock {
    origin: Instant,
    origin_timestamp: u64,
    clock_rate: u32,
    delay_micros: i64,
    /// Transit (arrival minus media time) the deadlines are counted from: the smallest seen lately.
    base_transit_micros: i64,
    window_min_transit_micros: i64,
    window_start: Instant,
}

impl PlayoutClock {
    fn new(arrival: Instant, timestamp: u64, config: &JitterBufferConfig) -> Self {
        Self {
            origin: arrival,
            origin_timestamp: timestamp,
            clock_rate: config.clock_rate,
            delay_micros: micros(config.playout_delay),
            base_transit_micros: 0,
            window_min_transit_micros: 0,
            window_start: arrival,
        }
    }

    fn micros_since_origin(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.origin) {
            Some(after) => micros(after),
            None => -micros(self.origin.saturating_duration_since(at)),
        }
    }

    fn media_micros(&self, timestamp: u64) -> i64 {
        let ticks = i128::from(timestamp) - i128::from(self.origin_timestamp);
        let media = ticks * 1_000_000 / i128::from(self.clock_rate);
        i64::try_from(media).unwrap_or(if media < 0 { i64::MIN } else { i64::MAX })
    }

    fn deadline_micros(&self, timestamp: u64) -> i64 {
        self.media_micros(timestamp).saturating_add(self.base_transit_micros).saturating_add(self.delay_micros)
    }

    fn is_due(&self, timestamp: u64, now: Instant) -> bool {
        self.micros_since_origin(now) >= self.deadline_micros(timestamp)
    }

    fn deadline(&self, timestamp: u64) -> Instant {
        let deadline = self.deadline_micros(timestamp);
        let offset = Duration::from_micros(deadline.unsigned_abs());
        let at = if deadline >= 0 { self.origin.checked_add(offset) } else { self.origin.checked_sub(offset) };
        at.unwrap_or(self.origin)
    }

    /// Lowers the base at once when a packet was faster; raises it to the fastest of the last window when one is over.
    fn observe(&mut self, arrival: Instant, timestamp: u64) {
        let transit = self.micros_since_origin(arrival).saturating_sub(self.media_micros(timestamp));
        self.base_transit_micros = self.base_transit_micros.min(transit);
        self.window_min_transit_micros = self.window_min_transit_micros.min(transit);
        if arrival.saturating_duration_since(self.window_start) >= TRANSIT_WINDOW {
            self.base_transit_micros = self.window_min_transit_micros;
            self.window_min_transit_micros = transit;
            self.window_start = arrival;
        }
    }
}

#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterBufferConfig,
    counters: JitterBufferCounters,
    ssrc: Option<u32>,
    previous_ssrc: Option<(u32, Instant)>,
    sequence: SequenceExtender,
    timestamps: TimestampExtender,
    /// Sorted by sequence, all at or after `next_sequence`.
    packets: VecDeque<BufferedPacket>,
    spare_payloads: Vec<Vec<u8>>,
    /// Payload of the frame handed out last.
    playing: Vec<u8>,
    /// `None` before the first packet and while quiet.
    clock: Option<PlayoutClock>,
    quiet: bool,
    next_sequence: u64,
    /// Bit `i` is set when `next_sequence - 1 - i` was played as a frame: a duplicate rather than a late packet.
    played_mask: u64,
    last_frame: Option<PlayedFrame>,
    /// Media time handed out so far as frames or concealment; `None` since a new timeline until its first frame.
    output_until: Option<u64>,
    frame_ticks: u32,
    /// Concealed since the last frame.
    concealed_ticks: u64,
    max_concealment_ticks: u64,
    max_frame_ticks: u64,
    resync_pending: bool,
}

impl JitterBuffer {
    pub fn new(config: JitterBufferConfig) -> Self {
        let config = JitterBufferConfig { clock_rate: config.clock_rate.max(1), capacity: config.capacity.max(1), ..config };
        Self {
            counters: JitterBufferCounters::default(),
            ssrc: None,
            previous_ssrc: None,
            sequence: SequenceExtender::new(),
            timestamps: TimestampExtender::new(),
            packets: VecDeque::with_capacity(config.capacity + 1),
            spare_payloads: Vec::new(),
            playing: Vec::new(),
            clock: None,
            quiet: false,
            next_sequence: 0,
            played_mask: 0,
            last_frame: None,
            output_until: None,
            frame_ticks: default_frame_ticks(&config),
            concealed_ticks: 0,
            max_concealment_ticks: ticks(config.max_concealment, config.clock_rate),
            max_frame_ticks: ticks(MAX_FRAME, config.clock_rate),
            resync_pending: false,
            config,
        }
    }

    pub fn config(&self) -> &JitterBufferConfig {
        &self.config
    }

    pub fn counters(&self) -> JitterBufferCounters {
        self.counters
    }

    /// Packets waiting for their deadline.
    pub fn buffered(&self) -> usize {
        self.packets.len()
    }

    /// Forgets the stream (keeping the counters), e.g. when a re-INVITE changed the remote or the codec.
    pub fn reset(&mut self) {
        self.reset_stream();
        self.ssrc = None;
        self.previous_ssrc = None;
    }

    /// Takes a packet of the audio SSRC. Push every packet of it, RFC 4733 events and comfort noise included, so their
    /// sequence numbers do not count as lost; the payload type comes back with the frame.
    pub fn push(&mut self, header: &RtpHeader, payload: &[u8], arrival: Instant) -> PushOutcome {
        self.counters.received += 1;
        if self.ssrc != Some(header.ssrc) {
            let straggler = self
                .previous_ssrc
                .is_some_and(|(ssrc, switched_at)| ssrc == header.ssrc && arrival.saturating_duration_since(switched_at) < STRAY_WINDOW);
            if straggler {
                self.counters.discarded += 1;
                return PushOutcome::Discarded;
            }
            if let Some(current) = self.ssrc {
                self.previous_ssrc = Some((current, arrival));
                self.reset_stream();
                self.counters.resyncs += 1;
            }
            self.ssrc = Some(header.ssrc);
        }

        let had_run = self.sequence.highest().is_some();
        let sequence = match self.sequence.extend(header.sequence_number) {
            SequenceUpdate::Accepted(sequence) => sequence,
            SequenceUpdate::Started(sequence) => {
                if had_run {
                    self.reset_timeline();
                    self.timestamps.reset();
                    self.counters.resyncs += 1;
                }
                sequence
            }
            SequenceUpdate::Suspect => {
                self.counters.discarded += 1;
                return PushOutcome::Discarded;
            }
        };
        let timestamp = self.timestamps.extend(header.timestamp);

        let Some(clock) = self.clock else {
            if let Some(outcome) = self.already_played(sequence) {
                return outcome;
            }
            if self.quiet {
                self.counters.resyncs += 1;
            }
            self.start_timeline(sequence, timestamp, arrival);
            return self.insert(sequence, timestamp, header, payload);
        };
        if sequence < self.next_sequence {
            if let Some(outcome) = self.already_played(sequence) {
                return outcome;
            }
            // Its turn went to concealment (or nothing has played yet): it still plays if its media is not behind what
            // was handed out and its deadline is ahead — a sender resuming after a pause, or reordering at the start.
            let media_ahead = self.output_until.is_none_or(|until| timestamp >= until);
            if !media_ahead || clock.is_due(timestamp, arrival) {
                self.counters.late += 1;
                return PushOutcome::Late;
            }
            self.played_mask = shift_right(self.played_mask, self.next_sequence - sequence);
            self.next_sequence = sequence;
        }
        let outcome = self.insert(sequence, timestamp, header, payload);
        if outcome == PushOutcome::Buffered {
            if let Some(clock) = &mut self.clock {
                clock.observe(arrival, timestamp);
            }
        }
        outcome
    }

    /// The next frame or gap whose deadline has come by `now`; call until `None` (or use `next_pop_at`).
    pub fn pop(&mut self, now: Instant) -> Option<JitterOutput<'_>> {
        loop {
            let clock = self.clock?;
            let front = self.packets.front().map(|packet| (packet.sequence, packet.timestamp));
            if let Some((sequence, timestamp)) = front {
                if sequence == self.next_sequence {
                    return if clock.is_due(timestamp, now) { self.play_front() } else { None };
                }
            }
            // The next packet is missing.
            let Some(output_until) = self.output_until else {
                // Nothing handed out on this timeline yet, so there is no gap to fill: begin with what is there.
                let (sequence, _) = front?;
                self.advance_to(sequence);
                continue;
            };
            let deadline_timestamp = front.map_or(output_until, |(_, timestamp)| timestamp.min(output_until));
            if !clock.is_due(deadline_timestamp, now) {
                return None;
            }
            if self.concealed_ticks + u64::from(self.frame_ticks) > self.max_concealment_ticks {
                match front {
                    Some((sequence, _)) => {
                        self.advance_to(sequence);
                        continue;
                    }
                    None => {
                        self.clock = None;
                        self.quiet = true;
                        return None;
                    }
                }
            }
            return Some(self.conceal(output_until));
        }
    }

    /// When `pop` may next have something, unless packets arrive before; `None` when there is nothing to wait for.
    pub fn next_pop_at(&self) -> Option<Instant> {
        let clock = self.clock?;
        let front = self.packets.front().map(|packet| (packet.sequence, packet.timestamp));
        let timestamp = match (front, self.output_until) {
            (Some((sequence, timestamp)), _) if sequence == self.next_sequence => timestamp,
            (Some((_, timestamp)), Some(until)) => timestamp.min(until),
            (Some((_, timestamp)), None) => timestamp,
            (None, Some(until)) => until,
            (None, None) => return None,
        };
        Some(clock.deadline(timestamp))
    }

    /// `Some` when the packet's turn is over: it was played (a duplicate) or concealed before a later frame (late).
    fn already_played(&mut self, sequence: u64) -> Option<PushOutcome> {
        let last = self.last_frame?;
        if sequence > last.sequence {
            return None;
        }
        let distance = self.next_sequence.saturating_sub(1).saturating_sub(sequence);
        if distance < 64 && self.played_mask >> distance & 1 == 1 {
            self.counters.duplicate += 1;
            Some(PushOutcome::Duplicate)
        } else {
            self.counters.late += 1;
            Some(PushOutcome::Late)
        }
    }

    fn start_timeline(&mut self, sequence: u64, timestamp: u64, arrival: Instant) {
        self.clock = Some(PlayoutClock::new(arrival, timestamp, &self.config));
        self.quiet = false;
        self.played_mask = if sequence >= self.next_sequence {
            shift_left(self.played_mask, sequence - self.next_sequence)
        } else {
            shift_right(self.played_mask, self.next_sequence - sequence)
        };
        self.next_sequence = sequence;
        self.output_until = None;
        self.concealed_ticks = 0;
        self.resync_pending = true;
    }

    fn insert(&mut self, sequence: u64, timestamp: u64, header: &RtpHeader, payload: &[u8]) -> PushOutcome {
        let index = self.packets.partition_point(|packet| packet.sequence < sequence);
        if self.packets.get(index).is_some_and(|packet| packet.sequence == sequence) {
            self.counters.duplicate += 1;
            return PushOutcome::Duplicate;
        }
        let mut buffer = self.spare_payloads.pop().unwrap_or_default();
        buffer.extend_from_slice(payload);
        let packet = BufferedPacket { sequence, timestamp, payload_type: header.payload_type, marker: header.marker, payload: buffer };
        self.packets.insert(index, packet);
        if self.packets.len() > self.config.capacity {
            if let Some(oldest) = self.packets.pop_front() {
                self.recycle(oldest.payload);
                self.counters.overflow += 1;
            }
        }
        PushOutcome::Buffered
    }

    fn play_front(&mut self) -> Option<JitterOutput<'_>> {
        let packet = self.packets.pop_front()?;
        if let Some(last) = self.last_frame {
            self.counters.lost += packet.sequence.saturating_sub(last.sequence + 1);
            if packet.sequence == last.sequence + 1 && packet.payload_type == last.payload_type {
                let step = packet.timestamp.saturating_sub(last.timestamp);
                if step > 0 && step <= self.max_frame_ticks {
                    self.frame_ticks = u32::try_from(step).unwrap_or(self.frame_ticks);
                }
            }
        }
        self.last_frame = Some(PlayedFrame { sequence: packet.sequence, timestamp: packet.timestamp, payload_type: packet.payload_type });
        self.played_mask = shift_left(self.played_mask, (packet.sequence + 1).saturating_sub(self.next_sequence)) | 1;
        self.next_sequence = packet.sequence + 1;
        let end = packet.timestamp + u64::from(self.frame_ticks);
        self.output_until = Some(self.output_until.map_or(end, |until| until.max(end)));
        self.concealed_ticks = 0;
        let resync = std::mem::take(&mut self.resync_pending);
        let previous = std::mem::replace(&mut self.playing, packet.payload);
        self.recycle(previous);
        Some(JitterOutput::Frame(PlayoutFrame {
            sequence: packet.sequence,
            timestamp: packet.timestamp,
            payload_type: packet.payload_type,
            marker: packet.marker,
            resync,
            payload: &self.playing,
        }))
    }

    fn conceal(&mut self, timestamp: u64) -> JitterOutput<'static> {
        let ticks = self.frame_ticks;
        self.output_until = Some(timestamp + u64::from(ticks));
        self.concealed_ticks += u64::from(ticks);
        self.counters.concealed += 1;
        self.played_mask = shift_left(self.played_mask, 1);
        self.next_sequence += 1;
        JitterOutput::Lost { timestamp, ticks }
    }

    /// Skips missing packets without concealing them.
    fn advance_to(&mut self, sequence: u64) {
        self.played_mask = shift_left(self.played_mask, sequence.saturating_sub(self.next_sequence));
        self.next_sequence = sequence;
    }

    fn recycle(&mut self, mut payload: Vec<u8>) {
        if self.spare_payloads.len() <= self.config.capacity {
            payload.clear();
            self.spare_payloads.push(payload);
        }
    }

    fn reset_timeline(&mut self) {
        while let Some(packet) = self.packets.pop_front() {
            self.recycle(packet.payload);
        }
        self.clock = None;
        self.quiet = false;
        self.next_sequence = 0;
        self.played_mask = 0;
        self.last_frame = None;
        self.output_until = None;
        self.frame_ticks = default_frame_ticks(&self.config);
        self.concealed_ticks = 0;
    }

    fn reset_stream(&mut self) {
        self.reset_timeline();
        self.sequence.reset();
        self.timestamps.reset();
    }
}

fn ticks(duration: Duration, clock_rate: u32) -> u64 {
    u64::try_from(duration.as_nanos() * u128::from(clock_rate) / 1_000_000_000).unwrap_or(u64::MAX)
}

fn default_frame_ticks(config: &JitterBufferConfig) -> u32 {
    u32::try_from(ticks(config.frame_duration, config.clock_rate)).unwrap_or(u32::MAX).max(1)
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn shift_left(mask: u64, by: u64) -> u64 {
    if by >= 64 {
        0
    } else {
        mask << by
    }
}

fn shift_right(mask: u64, by: u64) -> u64 {
    if by >= 64 {
        0
    } else {
        mask >> by
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSRC: u32 = 0x1234_5678;
    const TICKS: u32 = 160;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Played {
        /// Sequence number as carried in the payload, and the resync flag.
        Frame(u16, bool),
        Lost(u32),
    }
    use Played::{Frame, Lost};

    #[derive(Debug, Clone, Copy)]
    struct Arrival {
        at: Duration,
        ssrc: u32,
        sequence_number: u16,
        timestamp: u32,
    }

    fn arrival(at_ms: u64, sequence_number: u16, timestamp: u32) -> Arrival {
        Arrival { at: Duration::from_millis(at_ms), ssrc: SSRC, sequence_number, timestamp }
    }

    /// `count` packets from `first`, sent every 20 ms from `start_ms`, timestamps 160 apart from `first_timestamp`.
    fn regular(first: u16, count: u16, start_ms: u64, first_timestamp: u32) -> Vec<Arrival> {
        (0..count).map(|i| arrival(start_ms + 20 * u64::from(i), first.wrapping_add(i), first_timestamp.wrapping_add(TICKS * u32::from(i)))).collect()
    }

    fn header(arrival: &Arrival) -> RtpHeader {
        RtpHeader { marker: false, payload_type: 0, sequence_number: arrival.sequence_number, timestamp: arrival.timestamp, ssrc: arrival.ssrc }
    }

    /// Pushes each arrival at its time and pops everything due, millisecond by millisecond, up to `until_ms`.
    fn run(buffer: &mut JitterBuffer, arrivals: &[Arrival], until_ms: u64) -> Vec<(u64, Played)> {
        let start = Instant::now();
        let mut pending = arrivals.iter().peekable();
        let mut played = Vec::new();
        for ms in 0..=until_ms {
            let now = start + Duration::from_millis(ms);
            while let Some(next) = pending.next_if(|next| next.at <= Duration::from_millis(ms)) {
                buffer.push(&header(next), &next.sequence_number.to_be_bytes(), start + next.at);
            }
            while let Some(output) = buffer.pop(now) {
                played.push((ms, played_of(output)));
            }
        }
        played
    }

    fn played_of(output: JitterOutput<'_>) -> Played {
        match output {
            JitterOutput::Frame(frame) => Frame(u16::from_be_bytes([frame.payload[0], frame.payload[1]]), frame.resync),
            JitterOutput::Lost { ticks, .. } => Lost(ticks),
        }
    }

    fn outputs(played: &[(u64, Played)]) -> Vec<Played> {
        played.iter().map(|(_, output)| *output).collect()
    }

    fn buffer() -> JitterBuffer {
        JitterBuffer::new(JitterBufferConfig::new(8000))
    }

    #[test]
    fn frames_come_out_in_order_after_the_playout_delay() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 6, 0, 0);
        arrivals[1].at += Duration::from_millis(30); // at 50, after seq 2
        arrivals[2].at += Duration::from_millis(5); // at 45
        arrivals[4].at += Duration::from_millis(39); // at 119, just before its deadline
        arrivals.sort_by_key(|arrival| arrival.at);
        let played = run(&mut buffer, &arrivals, 170);
        let expected: Vec<_> = (0..6).map(|sequence| (60 + 20 * u64::from(sequence), Frame(sequence, sequence == 0))).collect();
        assert_eq!(played, expected);
        assert_eq!(buffer.counters(), JitterBufferCounters { received: 6, ..Default::default() });
        assert_eq!(buffer.buffered(), 0);
    }

    #[test]
    fn a_packet_reordered_before_the_first_one_plays_first() {
        let mut buffer = buffer();
        let played = run(&mut buffer, &[arrival(0, 11, 1760), arrival(5, 10, 1600), arrival(20, 12, 1920)], 90);
        assert_eq!(played, [(40, Frame(10, true)), (60, Frame(11, false)), (80, Frame(12, false))]);
    }

    #[test]
    fn a_missing_packet_becomes_lost_at_its_deadline() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 5, 0, 0);
        arrivals.remove(2);
        let played = run(&mut buffer, &arrivals, 150);
        assert_eq!(played, [(60, Frame(0, true)), (80, Frame(1, false)), (100, Lost(160)), (120, Frame(3, false)), (140, Frame(4, false))]);
        let counters = buffer.counters();
        assert_eq!((counters.lost, counters.concealed, counters.late), (1, 1, 0));
    }

    #[test]
    fn lost_markers_carry_the_concealed_media_time() {
        let mut buffer = buffer();
        let start = Instant::now();
        for sequence in [0_u16, 2] {
            let arrival = arrival(20 * u64::from(sequence), sequence, 1000 + TICKS * u32::from(sequence));
            buffer.push(&header(&arrival), &[], start + arrival.at);
        }
        let at = |ms| start + Duration::from_millis(ms);
        assert!(matches!(buffer.pop(at(60)), Some(JitterOutput::Frame(PlayoutFrame { timestamp: 0x1_0000_03e8, .. }))));
        assert_eq!(buffer.next_pop_at(), Some(at(80)));
        assert_eq!(buffer.pop(at(79)), None);
        assert_eq!(buffer.pop(at(80)), Some(JitterOutput::Lost { timestamp: 0x1_0000_03e8 + 160, ticks: 160 }));
        assert!(matches!(buffer.pop(at(100)), Some(JitterOutput::Frame(PlayoutFrame { sequence: 0x1_0002, .. }))));
        assert_eq!(buffer.next_pop_at(), Some(at(120)));
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped_and_counted() {
        let mut buffer = buffer();
        let start = Instant::now();
        let push = |buffer: &mut JitterBuffer, at_ms: u64, sequence: u16| {
            let arrival = arrival(at_ms, sequence, TICKS * u32::from(sequence));
            buffer.push(&header(&arrival), &sequence.to_be_bytes(), start + arrival.at)
        };
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(push(&mut buffer, 0, 0), PushOutcome::Buffered);
        assert_eq!(push(&mut buffer, 20, 1), PushOutcome::Buffered);
        assert_eq!(push(&mut buffer, 25, 1), PushOutcome::Duplicate);
        assert_eq!(buffer.pop(at(60)).map(played_of), Some(Frame(0, true)));
        assert_eq!(push(&mut buffer, 70, 0), PushOutcome::Duplicate);
        assert_eq!(buffer.pop(at(80)).map(played_of), Some(Frame(1, false)));
        assert_eq!(buffer.pop(at(100)).map(played_of), Some(Lost(160)));
        assert_eq!(push(&mut buffer, 101, 3), PushOutcome::Buffered);
        assert_eq!(push(&mut buffer, 110, 2), PushOutcome::Late);
        assert_eq!(buffer.pop(at(120)).map(played_of), Some(Frame(3, false)));
        assert_eq!(push(&mut buffer, 121, 2), PushOutcome::Late);
        assert_eq!(push(&mut buffer, 122, 3), PushOutcome::Duplicate);
        let counters = buffer.counters();
        assert_eq!((counters.received, counters.duplicate, counters.late, counters.lost), (8, 3, 2, 1));
    }

    #[test]
    fn sequence_numbers_and_timestamps_wrap() {
        let mut buffer = buffer();
        let start = Instant::now();
        for arrival in regular(65_533, 6, 0, u32::MAX - 2 * TICKS + 1) {
            buffer.push(&header(&arrival), &[], start + arrival.at);
        }
        let mut frames = Vec::new();
        while let Some(JitterOutput::Frame(frame)) = buffer.pop(start + Duration::from_secs(1)) {
            frames.push((frame.sequence, frame.timestamp));
        }
        let first = (0x1_0000 + 65_533, 0x1_0000_0000 + u64::from(u32::MAX - 2 * TICKS + 1));
        let expected: Vec<_> = (0..6).map(|i| (first.0 + i, first.1 + 160 * i)).collect();
        assert_eq!(frames, expected);
    }

    #[test]
    fn a_new_ssrc_starts_a_new_timeline_and_stragglers_of_the_old_one_are_dropped() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 3, 0, 0);
        let new_stream = regular(5000, 3, 130, 90_000);
        arrivals.extend(new_stream.iter().map(|arrival| Arrival { ssrc: 0xbeef, ..*arrival }));
        arrivals.insert(4, arrival(131, 3, 480)); // the old SSRC's last packet, delayed
        let played = run(&mut buffer, &arrivals, 240);
        assert_eq!(
            outputs(&played),
            [Frame(0, true), Frame(1, false), Frame(2, false), Lost(160), Frame(5000, true), Frame(5001, false), Frame(5002, false)]
        );
        assert_eq!(played[4].0, 190);
        let counters = buffer.counters();
        assert_eq!((counters.resyncs, counters.discarded, counters.lost), (1, 1, 0));
    }

    #[test]
    fn a_long_silence_is_concealed_for_a_while_then_the_next_packet_starts_over() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 5, 0, 0);
        // Two seconds on hold; the sender's clock went on.
        arrivals.extend(regular(5, 3, 2100, 2100 * 8));
        let played = run(&mut buffer, &arrivals, 2210);
        let mut expected: Vec<_> = (0..5).map(|sequence| Frame(sequence, sequence == 0)).collect();
        expected.extend([Lost(160); 10]);
        expected.extend([Frame(5, true), Frame(6, false), Frame(7, false)]);
        assert_eq!(outputs(&played), expected);
        assert_eq!(played[14].0, 340); // the tenth marker, 200 ms after the first
        assert_eq!(played[15].0, 2160);
        let counters = buffer.counters();
        assert_eq!((counters.lost, counters.late, counters.concealed, counters.resyncs), (0, 0, 10, 1));
    }

    #[test]
    fn a_sender_whose_clock_stood_still_during_hold_is_played_after_it() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 5, 0, 0);
        arrivals.extend(regular(5, 3, 2100, 5 * TICKS));
        let played = run(&mut buffer, &arrivals, 2210);
        assert_eq!(&outputs(&played)[15..], [Frame(5, true), Frame(6, false), Frame(7, false)]);
        assert_eq!(buffer.counters().late, 0);
    }

    #[test]
    fn packets_after_a_short_pause_are_not_late() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 5, 0, 0);
        // 100 ms without packets (silence suppression), then the talkspurt goes on with the next sequence number.
        arrivals.extend(regular(5, 3, 200, 200 * 8));
        let played = run(&mut buffer, &arrivals, 310);
        let mut expected: Vec<_> = (0..5).map(|sequence| Frame(sequence, sequence == 0)).collect();
        expected.extend([Lost(160), Lost(160), Frame(5, false), Frame(6, false), Frame(7, false)]);
        assert_eq!(outputs(&played), expected);
        assert_eq!(played[7].0, 260);
        let counters = buffer.counters();
        assert_eq!((counters.lost, counters.late, counters.concealed), (0, 0, 2));
    }

    #[test]
    fn a_burst_loss_longer_than_the_concealment_skips_to_the_next_packet() {
        let config = JitterBufferConfig {
            playout_delay: Duration::from_millis(300),
            max_concealment: Duration::from_millis(100),
            ..JitterBufferConfig::new(8000)
        };
        let mut buffer = JitterBuffer::new(config);
        let mut arrivals = regular(0, 3, 0, 0);
        arrivals.extend(regular(11, 3, 220, 11 * TICKS));
        let played = run(&mut buffer, &arrivals, 570);
        let mut expected = vec![Frame(0, true), Frame(1, false), Frame(2, false)];
        expected.extend([Lost(160); 5]);
        expected.extend([Frame(11, false), Frame(12, false), Frame(13, false)]);
        assert_eq!(outputs(&played), expected);
        assert_eq!(played[8].0, 520);
        assert_eq!(buffer.counters().lost, 8);
    }

    #[test]
    fn a_loss_the_sender_never_resumes_from_ends_quiet_and_resyncs() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 3, 0, 0);
        arrivals.extend(regular(20, 3, 400, 20 * TICKS));
        let played = run(&mut buffer, &arrivals, 510);
        let mut expected = vec![Frame(0, true), Frame(1, false), Frame(2, false)];
        expected.extend([Lost(160); 10]);
        expected.extend([Frame(20, true), Frame(21, false), Frame(22, false)]);
        assert_eq!(outputs(&played), expected);
        assert_eq!(buffer.counters().lost, 17);
    }

    #[test]
    fn overflow_drops_the_oldest() {
        let config = JitterBufferConfig { capacity: 4, ..JitterBufferConfig::new(8000) };
        let mut buffer = JitterBuffer::new(config);
        // A sender bursting six packets at once.
        let arrivals: Vec<_> = regular(0, 6, 0, 0).into_iter().map(|arrival| Arrival { at: Duration::ZERO, ..arrival }).collect();
        let played = run(&mut buffer, &arrivals, 70);
        assert_eq!(outputs(&played), [Frame(2, true), Frame(3, false), Frame(4, false), Frame(5, false)]);
        let counters = buffer.counters();
        assert_eq!((counters.overflow, counters.concealed), (2, 0));
    }

    #[test]
    fn a_restarted_sender_is_followed_after_its_second_packet() {
        let mut buffer = buffer();
        let mut arrivals = regular(0, 3, 0, 0);
        arrivals.push(arrival(50, 40_000, 999_999)); // a stray packet
        arrivals.push(arrival(60, 3, 480));
        arrivals.extend(regular(30_000, 3, 200, 5_000_000)); // same SSRC, sequence and timestamp start over
        let played = run(&mut buffer, &arrivals, 310);
        let outputs = outputs(&played);
        assert_eq!(&outputs[..4], [Frame(0, true), Frame(1, false), Frame(2, false), Frame(3, false)]);
        assert_eq!(&outputs[outputs.len() - 2..], [Frame(30_001, true), Frame(30_002, false)]);
        let counters = buffer.counters();
        assert_eq!((counters.discarded, counters.resyncs, counters.late), (2, 1, 0));
    }

    #[test]
    fn a_sender_clock_off_from_ours_does_not_make_packets_late() {
        for interval_micros in [19_900, 20_100] {
            let mut buffer = buffer();
            let arrivals: Vec<_> = (0..1000_u16)
                .map(|i| Arrival { at: Duration::from_micros(u64::from(i) * interval_micros), ..arrival(0, i, u32::from(i) * TICKS) })
                .collect();
            let mut played = outputs(&run(&mut buffer, &arrivals, 20_300));
            // The stream ends: what follows the last frame is its concealment.
            while played.last().is_some_and(|output| matches!(output, Lost(_))) {
                played.pop();
            }
            let in_order = played.iter().enumerate().all(|(index, output)| *output == Frame(index as u16, index == 0));
            assert!(in_order && played.len() == 1000, "{interval_micros} µs apart: {:?}", buffer.counters());
            assert_eq!(buffer.counters().late, 0);
        }
    }

    #[test]
    fn random_traffic_never_panics_and_frames_stay_in_order() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..50 {
            let config = JitterBufferConfig { capacity: rng.random_range(1..20), ..JitterBufferConfig::new(8000) };
            let mut buffer = JitterBuffer::new(config);
            let start = Instant::now();
            let (mut sequence_number, mut timestamp, mut ms) = (rng.random::<u16>(), rng.random::<u32>(), 0_u64);
            let mut last_sequence = None;
            for _ in 0..2000 {
                match rng.random_range(0..100) {
                    0..=59 => {}
                    60..=79 => sequence_number = sequence_number.wrapping_add(rng.random_range(0..5)),
                    80..=89 => sequence_number = sequence_number.wrapping_sub(rng.random_range(0..5)),
                    90..=95 => timestamp = timestamp.wrapping_add(rng.random()),
                    _ => sequence_number = rng.random(),
                }
                let ssrc = if rng.random_range(0..50) == 0 { rng.random_range(0..3) } else { SSRC };
                let header = RtpHeader { marker: false, payload_type: 0, sequence_number, timestamp, ssrc };
                ms += rng.random_range(0..40);
                buffer.push(&header, &sequence_number.to_be_bytes(), start + Duration::from_millis(ms));
                assert!(buffer.buffered() <= config.capacity);
                sequence_number = sequence_number.wrapping_add(1);
                timestamp = timestamp.wrapping_add(TICKS);
                let now = start + Duration::from_millis(ms + rng.random_range(0..100));
                while let Some(output) = buffer.pop(now) {
                    if let JitterOutput::Frame(frame) = output {
                        assert!(frame.resync || last_sequence.is_some_and(|last| frame.sequence > last), "{frame:?} after {last_sequence:?}");
                        last_sequence = Some(frame.sequence);
                    }
                }
            }
        }
    }

    #[test]
    fn payloads_are_reused_rather_than_allocated_per_packet() {
        let mut buffer = buffer();
        let start = Instant::now();
        for arrival in regular(0, 200, 0, 0) {
            buffer.push(&header(&arrival), &[7; 160], start + arrival.at);
            while buffer.pop(start + arrival.at).is_some() {}
        }
        assert!(buffer.spare_payloads.len() <= buffer.config().capacity + 1);
        assert!(buffer.spare_payloads.iter().all(|payload| payload.capacity() >= 160));
    }
}
