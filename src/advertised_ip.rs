//! The address the server writes into SDP and ICE candidates: the configured one, else the
//! address the server is bound to when that is a specific one, else the first non-loopback
//! IPv4 of the host, else 127.0.0.1 (what a private network namespace with only `lo` leaves).

use std::net::{IpAddr, Ipv4Addr};

pub fn advertised_ip(configured: &str, bound: IpAddr) -> IpAddr {
    if let Ok(ip) = configured.parse() {
        return ip;
    }
    if !bound.is_unspecified() {
        return bound;
    }
    let interfaces = if_addrs::get_if_addrs().unwrap_or_default();
    choose(interfaces.iter().map(|i| i.ip()))
}

/// The choice itself, over the host's addresses in interface order.
fn choose(addresses: impl IntoIterator<Item = IpAddr>) -> IpAddr {
    addresses
        .into_iter()
        .find(|ip| matches!(ip, IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() && !v4.is_link_local()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_address_wins() {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(advertised_ip("203.0.113.7", any), "203.0.113.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_specific_bind_address_is_advertised() {
        assert_eq!(advertised_ip("", IpAddr::V4(Ipv4Addr::LOCALHOST)), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn first_non_loopback_ipv4() {
        let ips: Vec<IpAddr> =
            ["127.0.0.1", "::1", "fe80::1", "169.254.1.1", "192.0.2.2", "10.0.0.1"].iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(choose(ips), "192.0.2.2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn loopback_when_nothing_else() {
        let ips: Vec<IpAddr> = ["127.0.0.1", "::1"].iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(choose(ips), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
}
