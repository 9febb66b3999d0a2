//! RFC 4733 DTMF on a SIP leg. Phones, PBXs and IVRs expect digits as telephone-event packets rather than as tones inside
//! the audio (which compressing codecs garble); browsers hand digits over as a string through the WebSDK's `sendDtmf`.
//! This turns such a string into the packets a compliant endpoint sends, and incoming events back into digits, each once.

use super::packet::RtpHeader;
use std::fmt;
use std::time::Duration;

/// Bytes of one event in a telephone-event payload.
pub const TELEPHONE_EVENT_LEN: usize = 4;
/// -10 dBm0, a usual level for generated digits.
pub const DEFAULT_DTMF_VOLUME: u8 = 10;

/// The event code of a DTMF digit: `0`–`9`, `*` (10), `#` (11), `A`–`D` (12–15, lowercase taken too).
pub fn dtmf_event_code(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// The DTMF digit of an event code, `None` for codes beyond 15 (other telephony events).
pub fn dtmf_digit(event_code: u8) -> Option<char> {
    match event_code {
        0..=9 => Some(char::from(b'0' + event_code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event_code - 12)),
        _ => None,
    }
}

/// One event of a telephone-event payload: event (8 bits), E, R, volume (6 bits), duration (16 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    /// The E bit: the event has ended and `duration` is final.
    pub end: bool,
    /// Power in -dBm0, 0–63; higher bits are dropped when writing.
    pub volume: u8,
    /// Since the packet's RTP timestamp, in ticks of its clock.
    pub duration: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventTooShort {
    pub len: usize,
}

impl fmt::Display for TelephoneEventTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "telephone-event payload of {} bytes, expected {TELEPHONE_EVENT_LEN}", self.len)
    }
}

impl std::error::Error for TelephoneEventTooShort {}

impl TelephoneEvent {
    pub fn to_bytes(&self) -> [u8; TELEPHONE_EVENT_LEN] {
        let [duration_high, duration_low] = self.duration.to_be_bytes();
        [self.event, u8::from(self.end) << 7 | (self.volume & 0x3f), duration_high, duration_low]
    }

    /// Reads the first event of a payload; the rare packets carrying several only count for their first.
    pub fn parse(payload: &[u8]) -> Result<Self, TelephoneEventTooShort> {
        match payload {
            [event, flags, duration_high, duration_low, ..] => Ok(Self {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([*duration_high, *duration_low]),
            }),
            _ => Err(TelephoneEventTooShort { len: payload.len() }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfDigitsError {
    Empty,
    /// `position` counts characters from 0.
    InvalidDigit {
        digit: char,
        position: usize,
    },
}

impl fmt::Display for DtmfDigitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no DTMF digits to send"),
            Self::InvalidDigit { digit, position } => {
                write!(f, "{digit:?} at position {position} is not a DTMF digit (0-9, *, #, A-D)")
            }
        }
    }
}

impl std::error::Error for DtmfDigitsError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfSenderConfig {
    /// Of the negotiated telephone-event payload type: 8000 mostly, 48000 next to Opus.
    pub clock_rate: u32,
    /// How long each digit sounds; at least 1 ms, and at most what the 16-bit duration field holds (8 s at 8 kHz).
    pub tone_duration: Duration,
    /// Between packets of a digit; at least 1 ms.
    pub update_interval: Duration,
    /// Between the end of one digit and the start of the next; at least long enough for the end packets to go out.
    pub inter_digit_gap: Duration,
    /// -dBm0, 0–63.
    pub volume: u8,
    /// How often the final packet goes out (RFC 4733 asks for three); at least 1.
    pub end_packets: u8,
}

impl Default for DtmfSenderConfig {
    /// 8 kHz clock, 160 ms tones, an update every 20 ms, 100 ms between digits, -10 dBm0, three end packets.
    fn default() -> Self {
        Self {
            clock_rate: 8000,
            tone_duration: Duration::from_millis(160),
            update_interval: Duration::from_millis(20),
            inter_digit_gap: Duration::from_millis(100),
            volume: DEFAULT_DTMF_VOLUME,
            end_packets: 3,
        }
    }
}

/// One packet to send: the caller stamps it with the audio's SSRC and next sequence number, the telephone-event payload
/// type, and the RTP timestamp it was at when the schedule started plus `timestamp_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    pub digit: char,
    /// When to send it, counted from the start of the schedule.
    pub send_offset: Duration,
    /// The RTP marker bit: set on the first packet of each digit.
    pub marker: bool,
    /// Where the digit starts, in ticks from the start of the schedule (wrapping); the same for all packets of a digit.
    pub timestamp_offset: u32,
    pub payload: [u8; TELEPHONE_EVENT_LEN],
}

/// The packets for a digit string, in sending order. Per digit: one RTP timestamp (where the tone
/// starts); an update every `update_interval` once that much of the tone has passed, its duration growing, the first with
/// the marker bit; when the tone is over, `end_packets` final packets with the E bit and the full duration, again an
/// interval apart. The next digit starts `inter_digit_gap` after the tone ended.
#[derive(Debug, Clone)]
pub struct DtmfSchedule {
    digits: Vec<(char, u8)>,
    clock_rate: u32,
    tone_duration: Duration,
    tone_ticks: u16,
    update_interval: Duration,
    updates_per_digit: u32,
    end_packets: u32,
    volume: u8,
    /// From the start of one digit to the start of the next.
    digit_spacing: Duration,
    digit_index: usize,
    packet_index: u32,
}

impl DtmfSchedule {
    pub fn new(digits: &str, config: DtmfSenderConfig) -> Result<Self, DtmfDigitsError> {
        let digits = digits
            .chars()
            .enumerate()
            .map(|(position, digit)| dtmf_event_code(digit).map(|code| (digit, code)).ok_or(DtmfDigitsError::InvalidDigit { digit, position }))
            .collect::<Result<Vec<_>, _>>()?;
        if digits.is_empty() {
            return Err(DtmfDigitsError::Empty);
        }
        let clock_rate = config.clock_rate.max(1);
        let longest_tone = Duration::from_nanos(u64::from(u16::MAX) * 1_000_000_000 / u64::from(clock_rate));
        let tone_duration = config.tone_duration.clamp(Duration::from_millis(1), longest_tone);
        let update_interval = config.update_interval.max(Duration::from_millis(1));
        let end_packets = u32::from(config.end_packets.max(1));
        let updates_per_digit = u32::try_from((tone_duration.as_nanos() - 1) / update_interval.as_nanos()).unwrap_or(u32::MAX);
        let gap = config.inter_digit_gap.max(update_interval.saturating_mul(end_packets - 1));
        Ok(Self {
            digits,
            clock_rate,
            tone_duration,
            tone_ticks: u16::try_from(ticks(tone_duration, clock_rate)).unwrap_or(u16::MAX),
            update_interval,
            updates_per_digit,
            end_packets,
            volume: config.volume & 0x3f,
            digit_spacing: tone_duration.saturating_add(gap),
            digit_index: 0,
            packet_index: 0,
        })
    }

    /// From the start of the schedule to its last packet.
    pub fn duration(&self) -> Duration {
        let last_digit_start = self.digit_spacing.saturating_mul(u32::try_from(self.digits.len() - 1).unwrap_or(u32::MAX));
        last_digit_start.saturating_add(self.tone_duration).saturating_add(self.update_interval.saturating_mul(self.end_packets - 1))
    }

    fn packets_per_digit(&self) -> u32 {
        self.updates_per_digit.saturating_add(self.end_packets)
    }
}

impl Iterator for DtmfSchedule {
    type Item = DtmfPacket;

    fn next(&mut self) -> Option<DtmfPacket> {
        let &(digit, event) = self.digits.get(self.digit_index)?;
        let index = self.packet_index;
        let (since_digit_start, end, duration) = if index < self.updates_per_digit {
            let elapsed = self.update_interval.saturating_mul(index + 1);
            (elapsed, false, u16::try_from(ticks(elapsed, self.clock_rate)).unwrap_or(u16::MAX).min(self.tone_ticks))
        } else {
            let repeat = index - self.updates_per_digit;
            (self.tone_duration.saturating_add(self.update_interval.saturating_mul(repeat)), true, self.tone_ticks)
        };
        let digit_start = self.digit_spacing.saturating_mul(u32::try_from(self.digit_index).unwrap_or(u32::MAX));
        let packet = DtmfPacket {
            digit,
            send_offset: digit_start.saturating_add(since_digit_start),
            marker: index == 0,
            timestamp_offset: ticks(digit_start, self.clock_rate) as u32,
            payload: TelephoneEvent { event, end, volume: self.volume, duration }.to_bytes(),
        };
        self.packet_index += 1;
        if self.packet_index >= self.packets_per_digit() {
            self.packet_index = 0;
            self.digit_index += 1;
        }
        Some(packet)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let per_digit = self.packets_per_digit() as usize;
        let remaining_digits = self.digits.len().saturating_sub(self.digit_index);
        let remaining = (remaining_digits * per_digit).saturating_sub(self.packet_index as usize);
        (remaining, Some(remaining))
    }
}

impl ExactSizeIterator for DtmfSchedule {}

fn ticks(duration: Duration, clock_rate: u32) -> u64 {
    u64::try_from(duration.as_nanos() * u128::from(clock_rate) / 1_000_000_000).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    pub digit: char,
    /// The RTP timestamp the tone started at.
    pub timestamp: u32,
    /// The duration so far, in ticks of the telephone-event clock; final when `ended`.
    pub duration: u16,
    /// Reported from an end packet: the earlier ones of the digit were lost.
    pub ended: bool,
}

/// Turns incoming telephone-event packets into digits, each reported once: on the first packet seen of it, whether that
/// is the first (marker) packet, an update, or — when those were lost — one of the end packets.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    latest: Option<LatestEvent>,
}

#[derive(Debug, Clone, Copy)]
struct LatestEvent {
    ssrc: u32,
    timestamp: u32,
    event: u8,
    ended: bool,
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes each packet of the negotiated telephone-event payload type as it arrives. Events that are not DTMF digits
    /// (codes above 15) are tracked but not reported.
    pub fn receive(&mut self, header: &RtpHeader, payload: &[u8]) -> Result<Option<ReceivedDigit>, TelephoneEventTooShort> {
        let event = TelephoneEvent::parse(payload)?;
        let current = LatestEvent { ssrc: header.ssrc, timestamp: header.timestamp, event: event.event, ended: event.end };
        if let Some(latest) = self.latest.as_mut().filter(|latest| latest.ssrc == header.ssrc) {
            if header.timestamp == latest.timestamp {
                latest.ended |= event.end;
                return Ok(None);
            }
            let ahead = header.timestamp.wrapping_sub(latest.timestamp);
            if ahead >= 1 << 31 {
                // A straggler of an earlier event.
                return Ok(None);
            }
            // A tone longer than the duration field goes on in a new segment: new timestamp, no marker.
            let next_segment = !header.marker && !latest.ended && latest.event == event.event && ahead <= u32::from(u16::MAX) + 1;
            *latest = current;
            if next_segment {
                return Ok(None);
            }
        } else {
            self.latest = Some(current);
        }
        Ok(dtmf_digit(event.event).map(|digit| ReceivedDigit { digit, timestamp: header.timestamp, duration: event.duration, ended: event.end }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn digits_map_to_event_codes_and_back() {
        for (code, digit) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(dtmf_event_code(digit), Some(code as u8));
            assert_eq!(dtmf_digit(code as u8), Some(digit));
        }
        assert_eq!(dtmf_event_code('b'), Some(13));
        assert_eq!(dtmf_event_code('E'), None);
        assert_eq!(dtmf_event_code(','), None);
        assert_eq!(dtmf_digit(16), None);
    }

    #[test]
    fn events_encode_and_decode() {
        let event = TelephoneEvent { event: 5, end: true, volume: 10, duration: 1280 };
        assert_eq!(event.to_bytes(), [5, 0x8a, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::parse(&event.to_bytes()), Ok(event));
        // The reserved bit is ignored, as is whatever follows the first event.
        assert_eq!(
            TelephoneEvent::parse(&[11, 0x40 | 63, 0, 160, 1, 2, 3, 4]),
            Ok(TelephoneEvent { event: 11, end: false, volume: 63, duration: 160 })
        );
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(TelephoneEventTooShort { len: 3 }));
        assert_eq!(TelephoneEvent { volume: 0xff, ..event }.to_bytes()[1], 0xbf);
    }

    #[test]
    fn one_digit_is_updates_then_three_end_packets() {
        let packets: Vec<_> = DtmfSchedule::new("5", DtmfSenderConfig::default()).unwrap().collect();
        let summary: Vec<_> = packets
            .iter()
            .map(|packet| {
                let event = TelephoneEvent::parse(&packet.payload).unwrap();
                (packet.send_offset.as_millis(), packet.marker, event.end, event.duration)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (20, true, false, 160),
                (40, false, false, 320),
                (60, false, false, 480),
                (80, false, false, 640),
                (100, false, false, 800),
                (120, false, false, 960),
                (140, false, false, 1120),
                (160, false, true, 1280),
                (180, false, true, 1280),
                (200, false, true, 1280),
            ]
        );
        assert!(packets.iter().all(|packet| packet.timestamp_offset == 0 && packet.digit == '5'));
        assert_eq!(packets[0].payload, [5, 10, 0, 160]);
        assert_eq!(packets[9].payload, [5, 0x80 | 10, 0x05, 0x00]);
    }

    #[test]
    fn each_digit_of_a_string_gets_its_own_timestamp_after_a_gap() {
        let schedule = DtmfSchedule::new("123#", DtmfSenderConfig::default()).unwrap();
        assert_eq!(schedule.len(), 40);
        assert_eq!(schedule.duration(), 3 * 260 * MS + 200 * MS);
        let packets: Vec<_> = schedule.collect();
        assert_eq!(packets.len(), 40);
        for (index, digit) in "123#".chars().enumerate() {
            let of_digit = &packets[index * 10..index * 10 + 10];
            assert!(of_digit.iter().all(|packet| packet.digit == digit && packet.timestamp_offset == 2080 * index as u32));
            assert_eq!(of_digit[0].send_offset, (260 * index as u32 + 20) * MS);
            assert_eq!(of_digit.iter().filter(|packet| packet.marker).count(), 1);
            assert!(of_digit[0].marker);
            assert_eq!(TelephoneEvent::parse(&of_digit[9].payload).unwrap().event, dtmf_event_code(digit).unwrap());
        }
        assert!(packets.windows(2).all(|pair| pair[0].send_offset <= pair[1].send_offset));
    }

    #[test]
    fn timing_follows_the_config() {
        let config = DtmfSenderConfig {
            clock_rate: 48_000,
            tone_duration: 100 * MS,
            update_interval: 50 * MS,
            inter_digit_gap: Duration::ZERO,
            volume: 20,
            end_packets: 3,
        };
        let summary: Vec<_> = DtmfSchedule::new("*0", config)
            .unwrap()
            .map(|packet| {
                let event = TelephoneEvent::parse(&packet.payload).unwrap();
                (packet.send_offset.as_millis(), packet.timestamp_offset, packet.marker, event.end, event.duration, event.volume)
            })
            .collect();
        // No gap asked for, but the next digit waits for the end packets of the previous one.
        assert_eq!(
            summary,
            [
                (50, 0, true, false, 2400, 20),
                (100, 0, false, true, 4800, 20),
                (150, 0, false, true, 4800, 20),
                (200, 0, false, true, 4800, 20),
                (250, 9600, true, false, 2400, 20),
                (300, 9600, false, true, 4800, 20),
                (350, 9600, false, true, 4800, 20),
                (400, 9600, false, true, 4800, 20),
            ]
        );
    }

    #[test]
    fn a_tone_shorter_than_an_interval_is_only_end_packets() {
        let config = DtmfSenderConfig { tone_duration: 15 * MS, ..DtmfSenderConfig::default() };
        let packets: Vec<_> = DtmfSchedule::new("9", config).unwrap().collect();
        assert_eq!(packets.len(), 3);
        assert!(packets[0].marker);
        assert_eq!(TelephoneEvent::parse(&packets[0].payload).unwrap(), TelephoneEvent { event: 9, end: true, volume: 10, duration: 120 });
    }

    #[test]
    fn invalid_digits_are_named() {
        let error = DtmfSchedule::new("12x3", DtmfSenderConfig::default()).unwrap_err();
        assert_eq!(error, DtmfDigitsError::InvalidDigit { digit: 'x', position: 2 });
        assert_eq!(error.to_string(), "'x' at position 2 is not a DTMF digit (0-9, *, #, A-D)");
        assert_eq!(DtmfSchedule::new("", DtmfSenderConfig::default()).unwrap_err(), DtmfDigitsError::Empty);
        assert!(matches!(DtmfSchedule::new("1 2", DtmfSenderConfig::default()), Err(DtmfDigitsError::InvalidDigit { digit: ' ', .. })));
    }

    fn header(sequence_number: u16, timestamp: u32, marker: bool) -> RtpHeader {
        RtpHeader { marker, payload_type: 101, sequence_number, timestamp, ssrc: 7 }
    }

    #[test]
    fn a_sent_schedule_is_received_as_its_digits() {
        let mut receiver = DtmfReceiver::new();
        let base = u32::MAX - 3000; // the timestamp wraps during the third digit
        let received: String = DtmfSchedule::new("1D#1", DtmfSenderConfig::default())
            .unwrap()
            .enumerate()
            .filter_map(|(index, packet)| {
                let header = header(index as u16, base.wrapping_add(packet.timestamp_offset), packet.marker);
                receiver.receive(&header, &packet.payload).unwrap()
            })
            .map(|digit| digit.digit)
            .collect();
        assert_eq!(received, "1D#1");
    }

    #[test]
    fn each_digit_is_reported_once_even_without_its_first_packets() {
        let mut receiver = DtmfReceiver::new();
        let update = TelephoneEvent { event: 4, end: false, volume: 10, duration: 160 };
        let first = receiver.receive(&header(1, 1000, true), &update.to_bytes()).unwrap();
        assert_eq!(first, Some(ReceivedDigit { digit: '4', timestamp: 1000, duration: 160, ended: false }));
        let end = TelephoneEvent { end: true, duration: 1280, ..update };
        for sequence_number in 2..5 {
            assert_eq!(receiver.receive(&header(sequence_number, 1000, false), &end.to_bytes()), Ok(None));
        }
        // The next digit's marker and updates were lost; its end packets still report it.
        let end_of_next = TelephoneEvent { event: 11, end: true, volume: 10, duration: 1280 };
        let next = receiver.receive(&header(9, 3080, false), &end_of_next.to_bytes()).unwrap();
        assert_eq!(next, Some(ReceivedDigit { digit: '#', timestamp: 3080, duration: 1280, ended: true }));
        assert_eq!(receiver.receive(&header(10, 3080, false), &end_of_next.to_bytes()), Ok(None));
        // A straggler of the first digit changes nothing.
        assert_eq!(receiver.receive(&header(5, 1000, false), &end.to_bytes()), Ok(None));
        // The same digit again is a new event.
        let again = receiver.receive(&header(11, 5160, true), &end_of_next.to_bytes()).unwrap();
        assert_eq!(again.map(|digit| digit.digit), Some('#'));
        assert_eq!(receiver.receive(&header(12, 5160, false), &[1, 2]), Err(TelephoneEventTooShort { len: 2 }));
    }

    #[test]
    fn a_long_tone_in_segments_is_one_digit() {
        let mut receiver = DtmfReceiver::new();
        let segment = TelephoneEvent { event: 0, end: false, volume: 10, duration: u16::MAX };
        assert!(receiver.receive(&header(1, 0, true), &segment.to_bytes()).unwrap().is_some());
        assert_eq!(receiver.receive(&header(2, u32::from(u16::MAX), false), &TelephoneEvent { duration: 160, ..segment }.to_bytes()), Ok(None));
    }

    #[test]
    fn a_new_ssrc_starts_afresh() {
        let mut receiver = DtmfReceiver::new();
        let event = TelephoneEvent { event: 1, end: false, volume: 10, duration: 160 }.to_bytes();
        assert!(receiver.receive(&header(1, 500, true), &event).unwrap().is_some());
        let other_source = RtpHeader { ssrc: 8, ..header(1, 500, true) };
        assert!(receiver.receive(&other_source, &event).unwrap().is_some());
    }
}
