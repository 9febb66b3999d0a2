//! Where a transponder publishes: from an `rtmpUrl` and a stream name to the server address,
//! the `connect` app and tcUrl, and the name to publish (seed 002, rest-api.md §4.1).

use std::fmt;

/// How names are formed (WCS `rtmp_transponder_stream_name_prefix`, `rtmp_transponder_full_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingRules {
    pub prefix: String,
    /// The last path element of the URL is the RTMP stream name.
    pub full_url: bool,
}

#[derive(Clone, PartialEq, Eq)]
pub struct RtmpTarget {
    pub host: String,
    pub port: u16,
    /// The `connect` application: the path after the host, with any query.
    pub app: String,
    pub tc_url: String,
    /// The name given to `releaseStream`, `FCPublish` and `publish`, with any query.
    pub stream_name: String,
    /// `rtmp://user:pass@host/...`: used for authentication, never shown.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for RtmpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtmpTarget")
            .field("tc_url", &self.tc_url)
            .field("stream_name", &self.stream_name)
            .field("credentials", &self.credentials.as_ref().map(|(user, _)| format!("{user}:***")))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRtmpUrl(pub String);

impl fmt::Display for BadRtmpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bad RTMP URL: {}", self.0)
    }
}

impl RtmpTarget {
    pub fn resolve(rtmp_url: &str, stream_name: &str, rules: &NamingRules) -> Result<Self, BadRtmpUrl> {
        let rest = rtmp_url.trim().strip_prefix("rtmp://").ok_or_else(|| BadRtmpUrl(format!("'{rtmp_url}' is not rtmp://host[:port]/app")))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (Some((user.to_owned(), pass.to_owned())), host_port)
            }
            None => (None, authority),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| BadRtmpUrl(format!("bad port '{port}'")))?),
            None => (host_port, 1935),
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(BadRtmpUrl(format!("no host in '{rtmp_url}'")));
        }
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let path = path.trim_end_matches('/');
        let (app, name) = if rules.full_url {
            let (app, name) = path.rsplit_once('/').ok_or_else(|| BadRtmpUrl(format!("no stream name at the end of '{rtmp_url}'")))?;
            let name = match query {
                Some(q) => format!("{name}?{q}"),
                None => name.to_owned(),
            };
            (app.to_owned(), name)
        } else {
            if stream_name.trim().is_empty() {
                return Err(BadRtmpUrl("no stream name".into()));
            }
            let app = match query {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            };
            (app, format!("{}{stream_name}", rules.prefix))
        };
        if app.is_empty() || name.is_empty() {
            return Err(BadRtmpUrl(format!("no application in '{rtmp_url}'")));
        }
        Ok(RtmpTarget {
            tc_url: format!("rtmp://{host}:{port}/{app}"),
            host: host.to_owned(),
            port,
            app,
            stream_name: name,
            credentials,
        })
    }

    /// The URL without credentials, for logs and REST.
    pub fn display_url(&self) -> String {
        self.tc_url.clone()
    }
}

/// `rtmp_url` without the `user:pass@` part, for showing.
pub fn without_credentials(rtmp_url: &str) -> String {
    match rtmp_url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            match path {
                Some(path) => format!("{scheme}://{host}/{path}"),
                None => format!("{scheme}://{host}"),
            }
        }
        None => rtmp_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixed() -> NamingRules {
        NamingRules { prefix: "rtmp_".into(), full_url: false }
    }

    #[test]
    fn default_naming_prefixes_the_stream_name() {
        let t = RtmpTarget::resolve("rtmp://localhost:1935/live", "stream1", &prefixed()).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.app.as_str()), ("localhost", 1935, "live"));
        assert_eq!(t.stream_name, "rtmp_stream1");
        assert_eq!(t.tc_url, "rtmp://localhost:1935/live");
        let t = RtmpTarget::resolve("rtmp://example.com/live/", "s", &NamingRules { prefix: String::new(), full_url: false }).unwrap();
        assert_eq!((t.port, t.app.as_str(), t.stream_name.as_str()), (1935, "live", "s"));
    }

    #[test]
    fn query_after_the_app_goes_to_connect() {
        let t = RtmpTarget::resolve("rtmp://h:1935/live/?user1&pass1", "stream1", &prefixed()).unwrap();
        assert_eq!(t.app, "live?user1&pass1");
        assert_eq!(t.tc_url, "rtmp://h:1935/live?user1&pass1");
        let t = RtmpTarget::resolve("rtmp://h/app/instance/?user=u&pass=p", "x", &prefixed()).unwrap();
        assert_eq!(t.app, "app/instance?user=u&pass=p");
    }

    #[test]
    fn full_url_takes_the_name_from_the_url() {
        let rules = NamingRules { prefix: "rtmp_".into(), full_url: true };
        let t = RtmpTarget::resolve("rtmp://alice:s3cret@127.0.0.1:1936/live/cam1?user=alice&pass=s3cret", "ignored", &rules).unwrap();
        assert_eq!((t.app.as_str(), t.stream_name.as_str(), t.port), ("live", "cam1?user=alice&pass=s3cret", 1936));
        assert_eq!(t.credentials, Some(("alice".into(), "s3cret".into())));
        assert!(!format!("{t:?}").contains("s3cret@"), "credentials never show");
        assert!(!t.display_url().contains("alice"));
        assert!(RtmpTarget::resolve("rtmp://h/live", "x", &rules).is_err(), "a full URL needs app and name");
    }

    #[test]
    fn credentials_are_cut_for_display() {
        assert_eq!(without_credentials("rtmp://a:b@h:1935/live/x?y=1"), "rtmp://h:1935/live/x?y=1");
        assert_eq!(without_credentials("rtmp://h/live"), "rtmp://h/live");
    }

    #[test]
    fn bad_urls_are_named() {
        for url in ["http://h/live", "rtmp://", "rtmp:///live", "rtmp://h:99999/live", "rtmp://h"] {
            assert!(RtmpTarget::resolve(url, "s", &prefixed()).is_err(), "{url}");
        }
    }
}
