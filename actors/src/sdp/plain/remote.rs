//! Reading the SDP of a SIP peer (an offer in an INVITE, an answer in a 200 OK): where its RTP goes,
//! which way it flows and with which payload types.

use super::payload::{is_telephone_event, rtp_clock_rate, static_payload_type, TelephoneEvent};
use super::Direction;
use crate::media::{CodecName, MediaKind, TrackCodec};
use crate::sdp::{MediaSection, SdpError, SessionDescription};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A SIP peer's session description: its streams in m-line order (an answer must keep that order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainSdp {
    pub media: Vec<RemoteMedia>,
}

/// One m-line of the peer's SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    /// `audio`, `video`, `application`, ... as written.
    pub kind: String,
    /// 0: the stream is rejected or disabled (RFC 3264 §5.1, §8.2).
    pub port: u16,
    /// `RTP/AVP` for plain RTP; anything else we cannot serve.
    pub protocol: String,
    /// The m-line's formats as written, so that an answer rejecting the stream can repeat them.
    pub formats: Vec<String>,
    /// Media-level `c=` over session-level. `0.0.0.0` is the RFC 2543 hold: send nothing there.
    pub address: IpAddr,
    /// `a=rtcp` (RFC 3605): where RTCP goes when not to `port + 1` (and, when given, not to `address`).
    pub rtcp_port: Option<u16>,
    pub rtcp_address: Option<IpAddr>,
    /// As written: media-level attribute over session-level, `sendrecv` when neither.
    pub direction: Direction,
    /// The payload types of the m-line, in the peer's order of preference.
    pub payloads: Vec<RemotePayload>,
    /// `a=ptime`, milliseconds of audio per packet the peer wants to receive.
    pub ptime: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePayload {
    pub pt: u8,
    pub encoding: Encoding,
}

/// What a payload type carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// A codec we can carry, at its standard RTP clock.
    Codec(TrackCodec),
    /// RFC 4733 DTMF events.
    TelephoneEvent { clock_rate: u32 },
    /// Anything else (G.729, GSM, comfort noise, a dynamic type without `a=rtpmap`): kept so that
    /// the stream can still be read and answered, never chosen. `name` as `G729/8000` when known.
    Unsupported { name: Option<String> },
}

impl PlainSdp {
    /// Fails only on what makes the description unreadable (no `v=0`, a bad `m=` or `c=` line, a
    /// stream without an address); codecs we do not know are kept as [`Encoding::Unsupported`].
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let description = SessionDescription::parse(text)?;
        let addresses = connection_addresses(text, description.media.len())?;
        let session_direction = direction_of(&description.attributes);
        let media = description
            .media
            .iter()
            .zip(addresses.media)
            .map(|(section, address)| {
                let address = match address.or(addresses.session) {
                    Some(address) => address,
                    // A disabled stream needs no address; some peers drop `c=` with the port.
                    None if section.port == 0 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    None => return Err(SdpError(format!("m={} {} has no c= line, at session or media level", section.kind, section.port))),
                };
                Ok(read_media(section, address, session_direction))
            })
            .collect::<Result<_, _>>()?;
        Ok(PlainSdp { media })
    }

    /// The first m-line of a kind, rejected or not (its port says which).
    pub fn first(&self, kind: MediaKind) -> Option<&RemoteMedia> {
        self.media.iter().find(|m| m.media_kind() == Some(kind))
    }

    pub fn audio(&self) -> Option<&RemoteMedia> {
        self.first(MediaKind::Audio)
    }

    pub fn video(&self) -> Option<&RemoteMedia> {
        self.first(MediaKind::Video)
    }
}

impl RemoteMedia {
    pub fn media_kind(&self) -> Option<MediaKind> {
        match self.kind.as_str() {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }

    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }

    /// Whether this is plain RTP (not SRTP, not DTLS, not a data channel).
    pub fn is_plain_rtp(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("RTP/AVP")
    }

    /// The direction as it behaves: a `c=0.0.0.0` peer receives nothing, whatever its attribute says.
    pub fn effective_direction(&self) -> Direction {
        if self.address.is_unspecified() {
            self.direction.without_receiving()
        } else {
            self.direction
        }
    }

    /// The peer takes no media from us: `sendonly`, `inactive` or `c=0.0.0.0` (a call on hold).
    pub fn is_hold(&self) -> bool {
        !self.effective_direction().receives()
    }

    /// Where to send RTP; `None` for a disabled stream or a hold address.
    pub fn rtp_target(&self) -> Option<SocketAddr> {
        (self.port != 0 && !self.address.is_unspecified()).then_some(SocketAddr::new(self.address, self.port))
    }

    /// Where to send RTCP: `a=rtcp` when given, else the RTP port + 1 (RFC 3550 §11).
    pub fn rtcp_target(&self) -> Option<SocketAddr> {
        let rtp = self.rtp_target()?;
        let port = self.rtcp_port.or_else(|| rtp.port().checked_add(1))?;
        Some(SocketAddr::new(self.rtcp_address.unwrap_or(rtp.ip()), port))
    }

    /// The codecs we can carry, in the peer's order.
    pub fn codecs(&self) -> impl Iterator<Item = (u8, &TrackCodec)> + '_ {
        self.payloads.iter().filter_map(|p| match &p.encoding {
            Encoding::Codec(codec) => Some((p.pt, codec)),
            _ => None,
        })
    }

    /// The peer's first codec of this stream's kind that is in `allowed` (whose order does not matter:
    /// the peer's wins). H.264 only in packetization mode 1, the one our H.264 path speaks (as for browsers).
    pub fn first_codec_among(&self, allowed: &[CodecName]) -> Option<(u8, &TrackCodec)> {
        self.codecs().find(|(_, codec)| {
            allowed.contains(&codec.name)
                && Some(codec.kind()) == self.media_kind()
                && (codec.name != CodecName::H264 || codec.packetization_mode() == 1)
        })
    }

    pub fn telephone_events(&self) -> impl Iterator<Item = TelephoneEvent> + '_ {
        self.payloads.iter().filter_map(|p| match p.encoding {
            Encoding::TelephoneEvent { clock_rate } => Some(TelephoneEvent { pt: p.pt, clock_rate }),
            _ => None,
        })
    }

    /// The telephone-event to use beside an audio codec: the one at the codec's clock, as RFC 4733
    /// recommends, else the first one offered (peers that pair `opus/48000` with `/8000` exist).
    pub fn telephone_event_for(&self, audio_clock_rate: u32) -> Option<TelephoneEvent> {
        self.telephone_events().find(|t| t.clock_rate == audio_clock_rate).or_else(|| self.telephone_events().next())
    }
}

fn read_media(section: &MediaSection, address: IpAddr, session_direction: Option<Direction>) -> RemoteMedia {
    let rtcp = section.attribute("rtcp").map(parse_rtcp_attribute);
    RemoteMedia {
        kind: section.kind.clone(),
        port: section.port,
        protocol: section.protocol.clone(),
        formats: section.formats.clone(),
        address,
        rtcp_port: rtcp.and_then(|(port, _)| port),
        rtcp_address: rtcp.and_then(|(_, address)| address),
        direction: direction_of(&section.attributes).or(session_direction).unwrap_or_default(),
        payloads: section.payload_types().map(|pt| RemotePayload { pt, encoding: encoding_of(section, pt) }).collect(),
        ptime: section.attribute("ptime").and_then(|v| v.trim().parse().ok()),
    }
}

/// `a=rtpmap` when present (it wins even for a static type), else the RFC 3551 table.
fn encoding_of(section: &MediaSection, pt: u8) -> Encoding {
    let (name, clock_rate, channels) = match section.rtpmap(pt) {
        Some(map) => (map.name, map.clock_rate, map.channels),
        None => match static_payload_type(pt) {
            Some((name, clock_rate)) => (name.to_owned(), clock_rate, None),
            None => return Encoding::Unsupported { name: None },
        },
    };
    if is_telephone_event(&name) {
        return Encoding::TelephoneEvent { clock_rate };
    }
    match CodecName::from_rtpmap(&name) {
        Some(codec) if rtp_clock_rate(codec) == Some(clock_rate) => {
            Encoding::Codec(TrackCodec { name: codec, clock_rate, channels, fmtp: section.fmtp(pt).unwrap_or_default().to_owned() })
        }
        _ => Encoding::Unsupported { name: Some(format!("{name}/{clock_rate}")) },
    }
}

fn direction_of(attributes: &[crate::sdp::Attribute]) -> Option<Direction> {
    attributes.iter().find_map(|a| Direction::from_attribute(&a.name))
}

/// `a=rtcp:<port> [IN IP4 <address>]`; a value we cannot read is ignored (RTCP is optional to us).
fn parse_rtcp_attribute(value: &str) -> (Option<u16>, Option<IpAddr>) {
    let mut parts = value.split_ascii_whitespace();
    let port = parts.next().and_then(|p| p.parse().ok());
    let rest: Vec<&str> = parts.collect();
    let address = (rest.len() == 3).then(|| parse_connection(&rest.join(" ")).ok()).flatten();
    (port, address)
}

/// The `c=` lines, which [`SessionDescription`] skips: the session-level one and one per m-line.
struct ConnectionAddresses {
    session: Option<IpAddr>,
    media: Vec<Option<IpAddr>>,
}

/// Walks the lines the way [`SessionDescription::parse`] does, so that m-line `n` here is its `media[n]`.
fn connection_addresses(text: &str, media_count: usize) -> Result<ConnectionAddresses, SdpError> {
    let mut found = ConnectionAddresses { session: None, media: vec![None; media_count] };
    let mut media_seen = 0;
    for (index, line) in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).enumerate() {
        if line.starts_with("m=") {
            media_seen += 1;
        } else if let Some(value) = line.strip_prefix("c=") {
            let address = parse_connection(value).map_err(|e| SdpError(format!("line {}: {e}", index + 1)))?;
            let slot = match media_seen {
                0 => &mut found.session,
                n => found.media.get_mut(n - 1).ok_or_else(|| SdpError(format!("line {}: c= after an unknown m= line", index + 1)))?,
            };
            *slot = Some(address);
        }
    }
    Ok(found)
}

/// `IN IP4 192.0.2.1` (a multicast `/ttl` suffix is dropped) or `IN IP6 2001:db8::1`. A host name
/// is refused: RFC 8866 allows one, but a media gateway must not resolve names while answering.
fn parse_connection(value: &str) -> Result<IpAddr, String> {
    let parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let [network, address_type, address] = parts[..] else {
        return Err(format!("c={value} is not 'IN IP4 <address>'"));
    };
    if network != "IN" {
        return Err(format!("c={value}: network type '{network}' is not IN"));
    }
    let address = address.split('/').next().unwrap_or_default();
    let parsed = match address_type {
        "IP4" => address.parse::<Ipv4Addr>().map(IpAddr::V4).ok(),
        "IP6" => address.parse::<Ipv6Addr>().map(IpAddr::V6).ok(),
        _ => return Err(format!("c={value}: address type '{address_type}' is neither IP4 nor IP6")),
    };
    parsed.ok_or_else(|| format!("c={value}: '{address}' is not an {address_type} address"))
}

#[cfg(test)]
mod tests;
