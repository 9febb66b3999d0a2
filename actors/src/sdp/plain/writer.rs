//! Writing our plain RTP/AVP SDP: offers (INVITE, re-INVITE, hold), and the parts an answer
//! shares with them.

use super::payload::{LocalCodec, TelephoneEvent, TELEPHONE_EVENTS};
use super::Direction;
use std::fmt::{self, Write};
use std::net::IpAddr;

/// Who we are in `o=`, and where the peer sends media (`c=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSession {
    /// The address the peer can reach our RTP sockets at.
    pub address: IpAddr,
    pub session_id: u64,
    /// Grows with every changed description within a dialog (RFC 3264 §8), a re-INVITE's included.
    pub session_version: u64,
}

/// One stream of our own SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    pub port: u16,
    /// In our order of preference. Must not be empty: an m-line needs a format.
    pub codecs: Vec<LocalCodec>,
    pub telephone_event: Option<TelephoneEvent>,
    /// `SendOnly` (or `Inactive`) is how we put a call on hold (RFC 3264 §8.4).
    pub direction: Direction,
    /// Milliseconds of audio per packet we want to receive; `None` for video.
    pub ptime: Option<u32>,
}

/// What we send and ask for: 20 ms is every SIP phone's default and the Opus frame we encode.
pub const PTIME_MS: u32 = 20;

/// The `o=` user name and `s=`: they only help whoever reads a capture.
const SESSION_NAME: &str = "ferrophone";

/// An offer for an INVITE or re-INVITE. `extra_lines` are the WebSDK's `sipSDP` (see [`usable_extra_lines`]).
pub fn build_offer(session: &LocalSession, audio: &LocalMedia, video: Option<&LocalMedia>, extra_lines: &[String]) -> String {
    let mut sdp = session_header(session, extra_lines);
    write_media(&mut sdp, "audio", audio);
    if let Some(video) = video {
        write_media(&mut sdp, "video", video);
    }
    sdp
}

/// The `sipSDP` lines we put into the session part, trimmed of surrounding blanks (the WCS docs'
/// own example has `" b=RS:1000"`). A line is kept only as `<letter>=<value>`, with no CR or LF
/// anywhere (which could smuggle in lines or SIP headers), and not of a type that gives the
/// description its structure (`v o s c t r z m`), which would break the SDP around it.
pub fn usable_extra_lines(extra_lines: &[String]) -> impl Iterator<Item = &str> + '_ {
    extra_lines.iter().map(|line| line.trim_matches([' ', '\t'])).filter(|line| {
        let mut chars = line.chars();
        let (Some(kind), Some('=')) = (chars.next(), chars.next()) else { return false };
        kind.is_ascii_lowercase() && !"vosctrzm".contains(kind) && !line[2..].trim().is_empty() && !line.contains(['\r', '\n'])
    })
}

/// `v=`, `o=`, `s=`, `c=`, then the `sipSDP` lines where WCS puts them (after `c=`, before `t=`), then `t=0 0`.
pub(super) fn session_header(session: &LocalSession, extra_lines: &[String]) -> String {
    let address = AddressText(session.address);
    let mut sdp = String::with_capacity(512);
    push_line(&mut sdp, format_args!("v=0"));
    push_line(&mut sdp, format_args!("o={SESSION_NAME} {} {} IN {address}", session.session_id, session.session_version));
    push_line(&mut sdp, format_args!("s={SESSION_NAME}"));
    push_line(&mut sdp, format_args!("c=IN {address}"));
    for line in usable_extra_lines(extra_lines) {
        push_line(&mut sdp, format_args!("{line}"));
    }
    push_line(&mut sdp, format_args!("t=0 0"));
    sdp
}

/// An m-line with an `a=rtpmap` for every payload type (static ones too: some peers want them).
pub(super) fn write_media(sdp: &mut String, kind: &str, media: &LocalMedia) {
    let payload_types = media.codecs.iter().map(|c| c.pt).chain(media.telephone_event.map(|t| t.pt));
    let formats = payload_types.map(|pt| pt.to_string()).collect::<Vec<_>>().join(" ");
    push_line(sdp, format_args!("m={kind} {} RTP/AVP {formats}", media.port));
    for codec in &media.codecs {
        push_line(sdp, format_args!("a=rtpmap:{} {}", codec.pt, codec.codec.describe()));
        if !codec.codec.fmtp.is_empty() {
            push_line(sdp, format_args!("a=fmtp:{} {}", codec.pt, codec.codec.fmtp));
        }
    }
    if let Some(event) = media.telephone_event {
        push_line(sdp, format_args!("a=rtpmap:{} telephone-event/{}", event.pt, event.clock_rate));
        push_line(sdp, format_args!("a=fmtp:{} {TELEPHONE_EVENTS}", event.pt));
    }
    if let Some(ptime) = media.ptime {
        push_line(sdp, format_args!("a=ptime:{ptime}"));
    }
    push_line(sdp, format_args!("a={}", media.direction));
}

/// A stream we decline: port 0, its protocol and formats as offered (RFC 3264 §6).
pub(super) fn write_rejected(sdp: &mut String, kind: &str, protocol: &str, formats: &[String]) {
    push_line(sdp, format_args!("m={kind} 0 {protocol} {}", formats.join(" ")));
}

fn push_line(sdp: &mut String, line: fmt::Arguments<'_>) {
    // Writing into a String cannot fail.
    let _ = sdp.write_fmt(line);
    sdp.push_str("\r\n");
}

/// `IP4 192.0.2.1` or `IP6 2001:db8::1`, as `o=` and `c=` write them.
struct AddressText(IpAddr);

impl fmt::Display for AddressText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(address) => write!(f, "IP4 {address}"),
            IpAddr::V6(address) => write!(f, "IP6 {address}"),
        }
    }
}

#[cfg(test)]
mod tests;
