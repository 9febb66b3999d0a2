//! What the browser is told when a SIP request of its call ends (spec §4.5, §4.6): the final
//! status of an INVITE, the progress of a transfer from the NOTIFY bodies of a REFER
//! (RFC 3515 `message/sipfrag`), and the body of a DTMF INFO.

use crate::websdk::{CallStatus, TransferStatus};

/// How a call that never got a 2xx ends: BUSY (then FINISH) for busy, FAILED with the status
/// line otherwise.
pub fn status_of_final_response(code: u16, reason: &str) -> (CallStatus, String) {
    match code {
        486 | 600 => (CallStatus::Busy, format!("{code} {reason}")),
        401 | 407 => (CallStatus::Failed, format!("Authentication failed: {code} {reason}")),
        _ => (CallStatus::Failed, format!("{code} {reason}")),
    }
}

/// The transfer status a NOTIFY's `message/sipfrag` body reports (`SIP/2.0 200 OK`).
pub fn transfer_status_of_sipfrag(body: &str) -> Option<TransferStatus> {
    let status_line = body.lines().next()?.trim();
    let code: u16 = status_line.strip_prefix("SIP/2.0 ")?.split_whitespace().next()?.parse().ok()?;
    Some(match code {
        100..=199 => TransferStatus::Trying,
        200..=299 => TransferStatus::Completed,
        _ => TransferStatus::Failed,
    })
}

/// A SIP INFO body for one digit (`application/dtmf-relay`, as Cisco and Asterisk read it).
pub fn dtmf_relay_body(digit: char, duration_ms: u32) -> String {
    format!("Signal={digit}\r\nDuration={duration_ms}\r\n")
}

/// The digit of a received `application/dtmf-relay` body.
pub fn digit_of_dtmf_relay(body: &str) -> Option<char> {
    body.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("signal"))
        .and_then(|(_, value)| value.trim().chars().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_responses() {
        assert_eq!(status_of_final_response(486, "Busy Here"), (CallStatus::Busy, "486 Busy Here".into()));
        assert_eq!(status_of_final_response(404, "Not Found").0, CallStatus::Failed);
        assert!(status_of_final_response(407, "Proxy Authentication Required").1.starts_with("Authentication failed"));
    }

    #[test]
    fn transfer_progress() {
        assert_eq!(transfer_status_of_sipfrag("SIP/2.0 100 Trying\r\n"), Some(TransferStatus::Trying));
        assert_eq!(transfer_status_of_sipfrag("SIP/2.0 200 OK"), Some(TransferStatus::Completed));
        assert_eq!(transfer_status_of_sipfrag("SIP/2.0 486 Busy Here\r\n"), Some(TransferStatus::Failed));
        assert_eq!(transfer_status_of_sipfrag("garbage"), None);
    }

    #[test]
    fn dtmf_info() {
        assert_eq!(dtmf_relay_body('5', 160), "Signal=5\r\nDuration=160\r\n");
        assert_eq!(digit_of_dtmf_relay("Signal= #\r\nDuration=250\r\n"), Some('#'));
        assert_eq!(digit_of_dtmf_relay("Duration=250"), None);
    }
}
