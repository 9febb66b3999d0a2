//! RTP sequence numbers (16 bits) and timestamps (32 bits) wrap during calls: both start at random values, and sequence
//! numbers go round every 22 minutes at 50 packets a second. Extended to u64 they can be compared and subtracted without
//! wrap logic everywhere else. Sequence numbers follow RFC 3550 A.1: small gaps and reordering are taken as they come, a
//! big jump is believed only once the next packet continues it (a sender that restarted, not a stray packet).
//!
//! Extended values start in cycle 1 (`0x1_0000 + first` and `0x1_0000_0000 + first`) so that packets reordered ahead of
//! the first one still get a value below it.

/// Largest forward gap still taken as loss rather than a jump (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// Backward steps shorter than this are reordering or duplication, longer ones a jump (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;

const SEQUENCE_CYCLE: u64 = 1 << 16;
const TIMESTAMP_CYCLE: u64 = 1 << 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceUpdate {
    /// A new run starts at this extended number: the first packet, or the second of two consecutive packets after a jump.
    /// Numbers of a restarted run do not continue those of the previous one.
    Started(u64),
    /// In order, after a gap of less than `MAX_DROPOUT`, a duplicate, or reordered by less than `MAX_MISORDER`.
    Accepted(u64),
    /// A jump: not believed until the next packet continues it. Drop this one.
    Suspect,
}

#[derive(Debug, Clone, Default)]
pub struct SequenceExtender {
    highest: Option<u64>,
    /// The number that would confirm the last jump (RFC 3550 A.1 `bad_seq`).
    jump_confirmation: Option<u16>,
}

impl SequenceExtender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn extend(&mut self, sequence_number: u16) -> SequenceUpdate {
        let Some(highest) = self.highest else {
            return self.start(sequence_number);
        };
        let ahead = sequence_number.wrapping_sub(highest as u16);
        if ahead < MAX_DROPOUT {
            let extended = highest + u64::from(ahead);
            self.highest = Some(extended);
            self.jump_confirmation = None;
            SequenceUpdate::Accepted(extended)
        } else if u64::from(ahead) <= SEQUENCE_CYCLE - u64::from(MAX_MISORDER) {
            if self.jump_confirmation == Some(sequence_number) {
                self.start(sequence_number)
            } else {
                self.jump_confirmation = Some(sequence_number.wrapping_add(1));
                SequenceUpdate::Suspect
            }
        } else {
            let behind = SEQUENCE_CYCLE - u64::from(ahead);
            SequenceUpdate::Accepted(highest.saturating_sub(behind))
        }
    }

    /// The highest extended sequence number of the current run.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Forgets the run, for a new SSRC.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    fn start(&mut self, sequence_number: u16) -> SequenceUpdate {
        let extended = SEQUENCE_CYCLE + u64::from(sequence_number);
        self.highest = Some(extended);
        self.jump_confirmation = None;
        SequenceUpdate::Started(extended)
    }
}

/// Timestamps jump legitimately (silence suppression, hold), so there is no jump rule: each one is taken as the nearest
/// value to the highest so far, up to half the 32-bit range either way.
#[derive(Debug, Clone, Default)]
pub struct TimestampExtender {
    highest: Option<u64>,
}

impl TimestampExtender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn extend(&mut self, timestamp: u32) -> u64 {
        let Some(highest) = self.highest else {
            let extended = TIMESTAMP_CYCLE + u64::from(timestamp);
            self.highest = Some(extended);
            return extended;
        };
        let step = timestamp.wrapping_sub(highest as u32) as i32;
        let extended = highest.saturating_add_signed(i64::from(step));
        if step > 0 {
            self.highest = Some(extended);
        }
        extended
    }

    /// Forgets the timeline, for a new SSRC or a restarted sender.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_extend_across_the_wrap() {
        let mut extender = SequenceExtender::new();
        assert_eq!(extender.extend(65_534), SequenceUpdate::Started(0x1_fffe));
        assert_eq!(extender.extend(65_535), SequenceUpdate::Accepted(0x1_ffff));
        assert_eq!(extender.extend(1), SequenceUpdate::Accepted(0x2_0001)); // 0 lost
        assert_eq!(extender.extend(0), SequenceUpdate::Accepted(0x2_0000)); // ... or only late
        assert_eq!(extender.extend(65_535), SequenceUpdate::Accepted(0x1_ffff)); // duplicate from before the wrap
        assert_eq!(extender.extend(2), SequenceUpdate::Accepted(0x2_0002));
        assert_eq!(extender.highest(), Some(0x2_0002));
    }

    #[test]
    fn packets_reordered_before_the_first_one_get_a_lower_number() {
        let mut extender = SequenceExtender::new();
        assert_eq!(extender.extend(0), SequenceUpdate::Started(0x1_0000));
        assert_eq!(extender.extend(65_535), SequenceUpdate::Accepted(0xffff));
    }

    #[test]
    fn a_big_jump_is_believed_only_when_the_next_packet_continues_it() {
        let mut extender = SequenceExtender::new();
        extender.extend(100);
        assert_eq!(extender.extend(100 + MAX_DROPOUT - 1), SequenceUpdate::Accepted(0x1_0000 + 100 + u64::from(MAX_DROPOUT) - 1));
        // A stray packet far off is dropped, and the run goes on.
        assert_eq!(extender.extend(40_000), SequenceUpdate::Suspect);
        assert_eq!(extender.extend(3_100), SequenceUpdate::Accepted(0x1_0000 + 3_100));
        // A sender that restarted: the second packet confirms the jump.
        assert_eq!(extender.extend(20_000), SequenceUpdate::Suspect);
        assert_eq!(extender.extend(20_001), SequenceUpdate::Started(0x1_0000 + 20_001));
        assert_eq!(extender.extend(20_002), SequenceUpdate::Accepted(0x1_0000 + 20_002));
        // MAX_MISORDER or more behind is a jump as well.
        assert_eq!(extender.extend(20_002 - MAX_MISORDER), SequenceUpdate::Suspect);
        assert_eq!(extender.extend(20_003 - MAX_MISORDER), SequenceUpdate::Accepted(0x1_0000 + 20_003 - u64::from(MAX_MISORDER)));
    }

    #[test]
    fn reset_starts_a_new_run() {
        let mut extender = SequenceExtender::new();
        extender.extend(10);
        extender.reset();
        assert_eq!(extender.extend(50_000), SequenceUpdate::Started(0x1_0000 + 50_000));
    }

    #[test]
    fn timestamps_extend_across_the_wrap_and_jump() {
        let mut extender = TimestampExtender::new();
        let first = extender.extend(u32::MAX - 159);
        assert_eq!(first, 0x1_ffff_ff60);
        assert_eq!(extender.extend(0), first + 160);
        assert_eq!(extender.extend(u32::MAX - 319), first - 160); // reordered from before the wrap
        assert_eq!(extender.extend(160), first + 320);
        // Silence of ten minutes at 8 kHz moves on rather than back.
        assert_eq!(extender.extend(160 + 4_800_000), first + 320 + 4_800_000);
        extender.reset();
        assert_eq!(extender.extend(5), 0x1_0000_0005);
    }
}
