//! Configuration: the embedded default (`config/ferrophone.toml`), then an optional file, then
//! `FERROPHONE_<SECTION>__<KEY>` environment variables, then `--set key=value` flags.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const EMBEDDED_DEFAULT: &str = include_str!("../config/ferrophone.toml");
pub const ENV_PREFIX: &str = "FERROPHONE_";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub media: MediaConfig,
    pub sip: SipConfig,
    pub rtmp: RtmpConfig,
    pub web: WebConfig,
    pub log: LogConfig,
    pub session: SessionConfig,
    pub testing: TestingConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind_address: IpAddr,
    pub ws_port: u16,
    pub http_port: u16,
    pub wss_port: u16,
    pub https_port: u16,
    pub tls_certificate: String,
    pub tls_private_key: String,
    pub workers: usize,
    pub shutdown_timeout: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    pub advertised_ip: String,
    pub udp_port: u16,
    pub workers: usize,
    pub video_resend_packets: usize,
    pub audio_resend_packets: usize,
    pub record_dir: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    pub port: u16,
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// Seconds.
    pub register_expires: u32,
    pub codecs: String,
    pub codecs_exclude_sip: String,
    pub allow_outside_codecs: bool,
    pub rtp_activity_detecting: bool,
    /// Milliseconds.
    pub rtp_activity_timeout: u64,
    /// Milliseconds.
    pub ring_timeout: u64,
    pub record_stream: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RtmpConfig {
    pub port: u16,
    pub rtmp_transponder_stream_name_prefix: String,
    pub rtmp_transponder_full_url: bool,
    pub rtmp_push_auto_start: bool,
    pub rtmp_push_auto_start_url: String,
    pub media_dir: String,
    pub aac_bitrate: usize,
    pub h264_bitrate: usize,
    /// Milliseconds.
    pub keyframe_interval: u64,
    /// Milliseconds.
    pub connect_timeout: u64,
    /// Milliseconds.
    pub failed_linger: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub client2_dir: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Milliseconds.
    pub client_timeout: u64,
    /// Milliseconds.
    pub connection_timeout: u64,
    pub keep_alive: KeepAliveConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeepAliveAlgorithmName {
    HighLevel,
    Internal,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeepAliveConfig {
    pub algorithm: KeepAliveAlgorithmName,
    /// Milliseconds.
    pub server_interval: u64,
    pub probes: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestingConfig {
    pub panic_on_message: String,
}

impl Config {
    /// Layers the sources in order; later ones win.
    pub fn load(file: Option<&Path>, overrides: &[(String, String)]) -> Result<Config, String> {
        let mut figment = Figment::from(Toml::string(EMBEDDED_DEFAULT));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(format!("config file {} does not exist", file.display()));
            }
            figment = figment.merge(Toml::file(file));
        }
        // Only FERROPHONE_<SECTION>__<KEY>: other FERROPHONE_* variables (FERROPHONE_CONFIG, ...) are not settings.
        figment = figment.merge(Env::prefixed(ENV_PREFIX).filter(|key| key.as_str().contains("__")).split("__"));
        for (key, value) in overrides {
            figment = figment.merge(Toml::string(&set_flag_as_toml(key, value)?));
        }
        let config: Config = figment.extract().map_err(|e| format!("configuration error: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let s = &self.server;
        if s.tls_certificate.is_empty() != s.tls_private_key.is_empty() {
            return Err("server.tls_certificate and server.tls_private_key must be set together".into());
        }
        if !self.media.advertised_ip.is_empty() && self.media.advertised_ip.parse::<IpAddr>().is_err() {
            return Err(format!("media.advertised_ip '{}' is not an IP address", self.media.advertised_ip));
        }
        if self.rtmp.rtmp_push_auto_start && self.rtmp.rtmp_push_auto_start_url.is_empty() {
            return Err("rtmp.rtmp_push_auto_start needs rtmp.rtmp_push_auto_start_url".into());
        }
        let k = &self.session.keep_alive;
        if k.algorithm != KeepAliveAlgorithmName::None && (k.server_interval == 0 || k.probes == 0) {
            return Err("session.keep_alive.server_interval and probes must be above 0".into());
        }
        Ok(())
    }

    pub fn push_settings(&self) -> ferrophone_actors::media_context::PushSettings {
        let r = &self.rtmp;
        ferrophone_actors::media_context::PushSettings {
            naming: ferrophone_actors::rtmp::target::NamingRules {
                prefix: r.rtmp_transponder_stream_name_prefix.clone(),
                full_url: r.rtmp_transponder_full_url,
            },
            media_dir: PathBuf::from(&r.media_dir),
            aac_bitrate: r.aac_bitrate,
            h264_bitrate: r.h264_bitrate,
            keyframe_interval: Duration::from_millis(r.keyframe_interval.max(500)),
            connect_timeout: Duration::from_millis(r.connect_timeout),
            failed_linger: Duration::from_millis(r.failed_linger),
            auto_start_url: (r.rtmp_push_auto_start && !r.rtmp_push_auto_start_url.is_empty())
                .then(|| r.rtmp_push_auto_start_url.clone()),
        }
    }

    /// The SIP side's settings; `advertised_ip` is the media one (SIP and SDP name one host).
    pub fn sip_settings(&self, advertised_ip: IpAddr) -> ferrophone_actors::sip::SipSettings {
        let s = &self.sip;
        ferrophone_actors::sip::SipSettings {
            bind: self.server.bind_address,
            port: s.port,
            advertised_ip,
            rtp_ports: s.rtp_port_min..=s.rtp_port_max.max(s.rtp_port_min.saturating_add(1)),
            register_expires: s.register_expires.max(60),
            codecs: s.codecs.clone(),
            codecs_exclude_sip: s.codecs_exclude_sip.clone(),
            allow_outside_codecs: s.allow_outside_codecs,
            rtp_activity_timeout: s.rtp_activity_detecting.then(|| Duration::from_millis(s.rtp_activity_timeout.max(1000))),
            ring_timeout: Duration::from_millis(s.ring_timeout),
            record_stream: s.record_stream,
        }
    }

    pub fn tls_enabled(&self) -> bool {
        !self.server.tls_certificate.is_empty()
    }

    pub fn session_settings(&self) -> ferrophone_actors::session_settings::SessionSettings {
        use ferrophone_actors::session_settings::{KeepAliveAlgorithm, SessionSettings};
        let s = &self.session;
        SessionSettings {
            keep_alive: match s.keep_alive.algorithm {
                KeepAliveAlgorithmName::HighLevel => KeepAliveAlgorithm::HighLevel,
                KeepAliveAlgorithmName::Internal => KeepAliveAlgorithm::Internal,
                KeepAliveAlgorithmName::None => KeepAliveAlgorithm::None,
            },
            ping_interval: Duration::from_millis(s.keep_alive.server_interval),
            ping_probes: s.keep_alive.probes,
            client_timeout: Duration::from_millis(s.client_timeout),
            connection_timeout: Duration::from_millis(s.connection_timeout),
            panic_on_message: Some(self.testing.panic_on_message.clone()).filter(|m| !m.is_empty()),
        }
    }

    /// Where the WebSDK package is: the configured folder, else the one setup.sh installs.
    pub fn client2_dir(&self) -> PathBuf {
        if self.web.client2_dir.is_empty() {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/web/node_modules/@flashphoner/websdk")
        } else {
            PathBuf::from(&self.web.client2_dir)
        }
    }
}

/// `--set section.key=value`: the value is a TOML scalar (`9000`, `true`, `"text"`) or else
/// taken as a string, so `--set log.level=debug` works unquoted.
fn set_flag_as_toml(key: &str, value: &str) -> Result<String, String> {
    let valid_key = !key.is_empty()
        && key.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !valid_key {
        return Err(format!("--set: '{key}' is not a key like section.name"));
    }
    let as_scalar = format!("{key} = {value}");
    if toml_scalar_parses(&as_scalar) {
        Ok(as_scalar)
    } else {
        Ok(format!("{key} = {}", serde_json::Value::String(value.to_owned())))
    }
}

fn toml_scalar_parses(line: &str) -> bool {
    Figment::from(Toml::string(line)).extract::<figment::value::Dict>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_complete_and_valid() {
        let c = Config::load(None, &[]).unwrap();
        assert_eq!((c.server.ws_port, c.server.http_port), (8080, 8081));
        assert_eq!((c.server.wss_port, c.server.https_port), (8443, 8444));
        assert_eq!((c.sip.port, c.rtmp.port), (5060, 1935));
        assert_eq!(c.session.client_timeout, 3_600_000);
        assert_eq!(c.session.keep_alive.algorithm, KeepAliveAlgorithmName::HighLevel);
        assert!(!c.tls_enabled());
        assert_eq!(c.session_settings().panic_on_message, None);
    }

    #[test]
    fn set_flags_override_with_typed_values() {
        let c = Config::load(
            None,
            &[
                ("server.ws_port".into(), "9080".into()),
                ("session.keep_alive.algorithm".into(), "NONE".into()),
                ("log.level".into(), "debug".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.server.ws_port, 9080);
        assert_eq!(c.session.keep_alive.algorithm, KeepAliveAlgorithmName::None);
        assert_eq!(c.log.level, "debug");
    }

    #[test]
    fn environment_sections_override_and_other_variables_are_ignored() {
        // SAFETY: no other test reads these variables' values.
        std::env::set_var("FERROPHONE_LOG__FORMAT", "json");
        std::env::set_var("FERROPHONE_SOMETHING_ELSE", "/path");
        let c = Config::load(None, &[]).unwrap();
        std::env::remove_var("FERROPHONE_LOG__FORMAT");
        std::env::remove_var("FERROPHONE_SOMETHING_ELSE");
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn a_file_overrides_only_what_it_sets() {
        let dir = std::env::temp_dir().join(format!("ferrophone-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f.toml");
        std::fs::write(&file, "[server]\nhttp_port = 9091\n").unwrap();
        let c = Config::load(Some(&file), &[]).unwrap();
        assert_eq!((c.server.http_port, c.server.ws_port), (9091, 8080));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mistakes_are_reported() {
        let e = Config::load(None, &[("server.ws_port".into(), "99999".into())]).unwrap_err();
        assert!(e.contains("ws_port"), "{e}");
        let e = Config::load(None, &[("server.wsport".into(), "1".into())]).unwrap_err();
        assert!(e.contains("wsport"), "{e}");
        let e = Config::load(None, &[("server.tls_certificate".into(), "/x.pem".into())]).unwrap_err();
        assert!(e.contains("tls_private_key"), "{e}");
        let e = Config::load(None, &[("media.advertised_ip".into(), "nope".into())]).unwrap_err();
        assert!(e.contains("advertised_ip"), "{e}");
        assert!(Config::load(Some(Path::new("/nonexistent.toml")), &[]).is_err());
    }
}
