//! The local RTP ports of calls: an even port for RTP and the one above it for RTCP
//! (RFC 3550 §11), each pair held by one call at a time.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::sync::Mutex;

pub struct RtpPorts {
    range: RangeInclusive<u16>,
    taken: Mutex<BTreeSet<u16>>,
}

impl RtpPorts {
    pub fn new(range: RangeInclusive<u16>) -> Self {
        RtpPorts { range, taken: Mutex::new(BTreeSet::new()) }
    }

    /// The even RTP ports not taken yet, lowest first, for the caller to try binding.
    pub fn candidates(&self) -> Vec<u16> {
        let taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let first = self.range.start() + self.range.start() % 2;
        (first..*self.range.end()).step_by(2).filter(|p| !taken.contains(p)).collect()
    }

    /// Marks `port` (and `port + 1`) as held until [`RtpPorts::release`].
    pub fn take(&self, port: u16) -> bool {
        self.taken.lock().unwrap_or_else(|e| e.into_inner()).insert(port)
    }

    pub fn release(&self, port: u16) {
        self.taken.lock().unwrap_or_else(|e| e.into_inner()).remove(&port);
    }

    pub fn in_use(&self) -> usize {
        self.taken.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_pairs_inside_the_range_once_each() {
        let ports = RtpPorts::new(30001..=30010);
        assert_eq!(ports.candidates(), [30002, 30004, 30006, 30008]);
        assert!(ports.take(30002));
        assert!(!ports.take(30002));
        assert_eq!(ports.candidates()[0], 30004);
        ports.release(30002);
        assert_eq!(ports.in_use(), 0);
        assert_eq!(ports.candidates()[0], 30002);
    }
}
