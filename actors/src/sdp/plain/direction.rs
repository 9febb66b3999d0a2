use std::fmt;

/// Which way a media stream flows, seen from the side that wrote the SDP (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// What a stream without a direction attribute means (RFC 8866 §6.7).
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// From an attribute name (`sendonly`); `None` for any other attribute.
    pub fn from_attribute(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// As an SDP attribute name, without the `a=`.
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same flow seen from the other side: an answer to `sendonly` is `recvonly` (RFC 3264 §6.1).
    pub fn mirrored(self) -> Self {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow: an answerer that is itself holding the call narrows the mirrored offer.
    pub fn intersect(self, other: Direction) -> Self {
        Direction::from_flags(self.sends() && other.sends(), self.receives() && other.receives())
    }

    /// The same, minus receiving: what `c=0.0.0.0` does to a stream (RFC 3264 §8.4).
    pub fn without_receiving(self) -> Self {
        Direction::from_flags(self.sends(), false)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_and_narrows() {
        assert_eq!(Direction::SendOnly.mirrored(), Direction::RecvOnly);
        assert_eq!(Direction::RecvOnly.mirrored(), Direction::SendOnly);
        assert_eq!(Direction::Inactive.mirrored(), Direction::Inactive);
        assert_eq!(Direction::SendRecv.mirrored(), Direction::SendRecv);
        assert_eq!(Direction::RecvOnly.intersect(Direction::SendOnly), Direction::Inactive);
        assert_eq!(Direction::SendRecv.intersect(Direction::SendOnly), Direction::SendOnly);
        assert_eq!(Direction::SendRecv.without_receiving(), Direction::SendOnly);
        assert_eq!(Direction::from_attribute("inactive"), Some(Direction::Inactive));
        assert_eq!(Direction::from_attribute("rtpmap"), None);
    }
}
