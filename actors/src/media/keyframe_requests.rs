//! When a source is asked for a keyframe. Viewers joining one after the other should not each
//! make the publisher's browser encode one, so requests are spaced out; but a request that comes
//! too soon is kept for the end of the interval, not dropped: a viewer that joined just after
//! the last keyframe went by would otherwise wait for the publisher's next periodic keyframe,
//! seconds away.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct KeyframeRequests {
    /// The shortest time between two requests.
    interval: Duration,
    last_sent: Option<Instant>,
    waiting: bool,
}

impl KeyframeRequests {
    pub fn new(interval: Duration) -> Self {
        KeyframeRequests { interval, last_sent: None, waiting: false }
    }

    /// A keyframe is wanted: true when the request should go now; else it waits for [`due`].
    ///
    /// [`due`]: KeyframeRequests::due
    pub fn ask(&mut self, now: Instant) -> bool {
        if self.last_sent.is_some_and(|sent| now.duration_since(sent) < self.interval) {
            self.waiting = true;
            return false;
        }
        self.sent(now);
        true
    }

    /// True when a request that came too soon should go now.
    pub fn due(&mut self, now: Instant) -> bool {
        if !self.waiting || self.last_sent.is_some_and(|sent| now.duration_since(sent) < self.interval) {
            return false;
        }
        self.sent(now);
        true
    }

    fn sent(&mut self, now: Instant) {
        self.last_sent = Some(now);
        self.waiting = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spaced_out_and_one_that_came_too_soon_goes_at_the_end_of_the_interval() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut requests = KeyframeRequests::new(Duration::from_millis(300));
        assert!(!requests.due(at(0)), "nothing asked, nothing due");
        assert!(requests.ask(at(0)), "the first request goes at once");
        assert!(!requests.ask(at(50)), "a second one within the interval waits");
        assert!(!requests.ask(at(100)), "and a third joins it");
        assert!(!requests.due(at(299)));
        assert!(requests.due(at(300)), "the waiting request goes when the interval ends");
        assert!(!requests.due(at(301)), "once");
        assert!(!requests.due(at(5_000)), "nothing more is due");
        assert!(requests.ask(at(5_000)), "a request after a quiet interval goes at once");
    }
}
