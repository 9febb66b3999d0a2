use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    /// `audio`, `video`, `application`, ...
    pub kind: String,
    pub port: u16,
    pub protocol: String,
    /// Payload types (RTP) or format names, as listed on the `m=` line.
    pub formats: Vec<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaSection>,
}

/// `a=rtpmap:<pt> <name>/<clock>[/<channels>]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub pt: u8,
    pub name: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError(pub String);

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad SDP: {}", self.0)
    }
}

impl std::error::Error for SdpError {}

impl SessionDescription {
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut lines = text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).enumerate();
        match lines.next() {
            Some((_, "v=0")) => {}
            _ => return Err(SdpError("must start with v=0".into())),
        }
        let mut session = SessionDescription { attributes: Vec::new(), media: Vec::new() };
        for (index, line) in lines {
            let (kind, value) = line
                .split_once('=')
                .filter(|(k, _)| k.len() == 1)
                .ok_or_else(|| SdpError(format!("line {}: '{line}' is not <type>=<value>", index + 1)))?;
            match kind {
                "m" => session.media.push(parse_media_line(value).map_err(|e| SdpError(format!("line {}: {e}", index + 1)))?),
                "a" => {
                    let attribute = match value.split_once(':') {
                        Some((name, v)) => Attribute { name: name.to_owned(), value: Some(v.to_owned()) },
                        None => Attribute { name: value.to_owned(), value: None },
                    };
                    match session.media.last_mut() {
                        Some(media) => media.attributes.push(attribute),
                        None => session.attributes.push(attribute),
                    }
                }
                _ => {}
            }
        }
        Ok(session)
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        find(&self.attributes, name)
    }
}

fn parse_media_line(value: &str) -> Result<MediaSection, String> {
    let mut parts = value.split_ascii_whitespace();
    let kind = parts.next().ok_or("empty m= line")?;
    let port = parts.next().ok_or("m= line without a port")?;
    let port = port.split('/').next().unwrap_or_default().parse().map_err(|_| format!("bad port '{port}'"))?;
    let protocol = parts.next().ok_or("m= line without a protocol")?;
    Ok(MediaSection {
        kind: kind.to_owned(),
        port,
        protocol: protocol.to_owned(),
        formats: parts.map(str::to_owned).collect(),
        attributes: Vec::new(),
    })
}

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.name == name).map(|a| a.value.as_deref().unwrap_or(""))
}

impl MediaSection {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find(&self.attributes, name)
    }

    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name == name)
    }

    pub fn mid(&self) -> Option<&str> {
        self.attribute("mid")
    }

    /// `sendrecv` when no direction attribute is present (RFC 8866 §6.7).
    pub fn direction(&self) -> &str {
        ["sendrecv", "sendonly", "recvonly", "inactive"].into_iter().find(|d| self.has_attribute(d)).unwrap_or("sendrecv")
    }

    /// Payload types of the `m=` line, in the offerer's order of preference.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.attributes.iter().filter(|a| a.name == "rtpmap").filter_map(|a| parse_rtpmap(a.value.as_deref()?)).find(|m| m.pt == pt)
    }

    /// The `a=fmtp` parameters of one payload type (the text after the PT).
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes.iter().filter(|a| a.name == "fmtp").find_map(|a| {
            let (p, params) = a.value.as_deref()?.split_once(' ')?;
            (p.parse::<u8>().ok()? == pt).then_some(params.trim())
        })
    }

    /// The retransmission (RTX) payload type whose `apt` is `pt`.
    pub fn rtx_for(&self, pt: u8) -> Option<u8> {
        self.payload_types().find(|&rtx| {
            self.rtpmap(rtx).is_some_and(|m| m.name.eq_ignore_ascii_case("rtx"))
                && self.fmtp(rtx).and_then(|f| fmtp_value(f, "apt")).and_then(|v| v.parse::<u8>().ok()) == Some(pt)
        })
    }
}

fn parse_rtpmap(value: &str) -> Option<RtpMap> {
    let (pt, encoding) = value.split_once(' ')?;
    let mut parts = encoding.trim().split('/');
    Some(RtpMap {
        pt: pt.parse().ok()?,
        name: parts.next()?.to_owned(),
        clock_rate: parts.next()?.parse().ok()?,
        channels: parts.next().and_then(|c| c.parse().ok()),
    })
}

/// One `key=value` of an fmtp parameter list (`a=1;b=2`).
pub fn fmtp_value<'a>(fmtp: &'a str, key: &str) -> Option<&'a str> {
    fmtp.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| k.trim().eq_ignore_ascii_case(key)).map(|(_, v)| v.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_PUBLISH: &str = include_str!("../webrtc/testdata/chrome_publish_offer.sdp");

    #[test]
    fn reads_a_chrome_offer() {
        let sdp = SessionDescription::parse(CHROME_PUBLISH).unwrap();
        assert_eq!(sdp.attribute("group"), Some("BUNDLE 0 1"));
        assert_eq!(sdp.media.len(), 2);
        let audio = &sdp.media[0];
        assert_eq!((audio.kind.as_str(), audio.mid(), audio.direction()), ("audio", Some("0"), "sendonly"));
        assert_eq!(audio.rtpmap(111), Some(RtpMap { pt: 111, name: "opus".into(), clock_rate: 48000, channels: Some(2) }));
        assert_eq!(audio.fmtp(111), Some("minptime=10;useinbandfec=1"));
        let video = &sdp.media[1];
        assert_eq!(video.payload_types().next(), Some(96));
        assert_eq!(video.rtx_for(96), Some(97));
        assert_eq!(video.rtx_for(108), Some(109));
        assert_eq!(video.fmtp(108).and_then(|f| fmtp_value(f, "profile-level-id")), Some("42e01f"));
    }

    #[test]
    fn reads_plain_sip_sdp() {
        let sdp = SessionDescription::parse(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        )
        .unwrap();
        assert_eq!(sdp.media[0].port, 49170);
        assert_eq!(sdp.media[0].payload_types().collect::<Vec<_>>(), [0, 8, 101]);
        assert_eq!(sdp.media[0].direction(), "sendrecv");
    }

    #[test]
    fn rejects_what_is_not_sdp() {
        assert!(SessionDescription::parse("").is_err());
        assert!(SessionDescription::parse("hello").is_err());
        assert!(SessionDescription::parse("v=0\r\nm=audio x RTP/AVP 0\r\n").is_err());
        assert!(SessionDescription::parse("v=0\r\nnonsense\r\n").is_err());
    }
}
