//! When a call was created, rang, was answered and ended, and why it ended (seed 000 "call
//! duration"): logged when the call ends and shown in REST call listings.

use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Milliseconds since the Unix epoch.
    pub created: u64,
    pub ringing: Option<u64>,
    pub answered: Option<u64>,
    pub ended: Option<u64>,
    /// Milliseconds of conversation: from the answer to the end (0 if never answered).
    pub duration: u64,
    pub end_reason: Option<String>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl CallRecord {
    pub fn new() -> Self {
        CallRecord { created: now_ms(), ..Default::default() }
    }

    pub fn ringing(&mut self) {
        self.ringing.get_or_insert_with(now_ms);
    }

    pub fn answered(&mut self) {
        self.answered.get_or_insert_with(now_ms);
    }

    pub fn was_answered(&self) -> bool {
        self.answered.is_some()
    }

    pub fn ended(&mut self, reason: String) {
        if self.ended.is_some() {
            return;
        }
        let now = now_ms();
        self.ended = Some(now);
        self.duration = self.answered.map_or(0, |answered| now.saturating_sub(answered));
        self.end_reason = Some(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_counts_from_the_answer() {
        let mut record = CallRecord::new();
        record.created -= 5_000;
        record.ringing();
        record.answered = Some(record.created + 1_000);
        record.ended("Hung up".into());
        record.ended("later".into());
        assert_eq!(record.end_reason.as_deref(), Some("Hung up"));
        assert_eq!(record.duration, record.ended.unwrap() - record.created - 1_000);
        let mut unanswered = CallRecord::new();
        unanswered.ended("Busy".into());
        assert_eq!(unanswered.duration, 0);
    }
}
