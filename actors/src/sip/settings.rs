//! How the SIP side behaves (the `[sip]` section of the configuration, with WCS's names where
//! WCS has the setting).

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SipSettings {
    /// Where the SIP endpoint listens (UDP and TCP on the same port).
    pub bind: IpAddr,
    pub port: u16,
    /// The address put in Via, Contact and SDP `c=` lines.
    pub advertised_ip: IpAddr,
    /// Local RTP ports of calls, an even RTP port and the RTCP port above it per call.
    pub rtp_ports: RangeInclusive<u16>,
    /// Expires asked for in REGISTER; re-registration comes before it runs out.
    pub register_expires: u32,
    /// WCS `sip_record_stream`: REST calls' streams are recorded.
    pub record_stream: bool,
    /// WCS `codecs`, `codecs_exclude_sip`, `allow_outside_codecs`.
    pub codecs: String,
    pub codecs_exclude_sip: String,
    pub allow_outside_codecs: bool,
    /// WCS `rtp_activity_detecting`: a call whose RTP stops for this long is hung up.
    pub rtp_activity_timeout: Option<Duration>,
    /// An outgoing call that rings this long without an answer is cancelled.
    pub ring_timeout: Duration,
}
