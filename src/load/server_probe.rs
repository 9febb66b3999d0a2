//! Reads the server's `/health` (its RSS and session count) and `/metrics` over a plain
//! HTTP/1.1 GET, or the RSS and CPU time of any server process on this machine by its pid.

use crate::process_stats::{cpu_seconds, resident_bytes, Process};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub rss_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub sessions: Option<u64>,
}

/// `url` like `http://127.0.0.1:8081/health`.
pub async fn health(url: &str) -> Result<Health, String> {
    let (_, body) = http(url, None).await?;
    serde_json::from_str(&body).map_err(|e| format!("{url}: {e}"))
}

/// A plain HTTP/1.1 request: GET, or POST with a JSON body. Gives the status and the body.
pub async fn http(url: &str, json_body: Option<&str>) -> Result<(u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or("the URL must start with http://")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream = TcpStream::connect(authority).await.map_err(|e| format!("{url}: {e}"))?;
    let request = match json_body {
        None => format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"),
        Some(body) => format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    };
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("{url}: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("{url}: not HTTP"))?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// The health, or None (with a warning) when there is no URL or the server does not answer.
pub async fn health_or_warn(url: &str) -> Option<Health> {
    if url.is_empty() {
        return None;
    }
    health(url).await.map_err(|e| eprintln!("cannot read server health: {e}")).ok()
}

/// The RSS and CPU time of the server process `pid`, or None (with a warning) when it is gone.
pub fn process_health_or_warn(pid: u32) -> Option<Health> {
    let process = Process::Pid(pid);
    let health = Health { rss_bytes: resident_bytes(process), cpu_seconds: cpu_seconds(process), sessions: None };
    if health.rss_bytes.is_none() {
        eprintln!("cannot read process {pid}");
        return None;
    }
    Some(health)
}

/// Cores the server used between two /health readings `seconds` apart.
pub fn cores_between(from: &Option<Health>, to: &Option<Health>, seconds: f64) -> Option<f64> {
    Some((to.as_ref()?.cpu_seconds? - from.as_ref()?.cpu_seconds?) / seconds)
}

/// The samples of the server's `/metrics` (at `http_url`, its REST base) whose line starts with
/// `prefix`, summed: e.g. `ferrophone_errors_total{kind="panic"}`.
pub async fn metric_sum(http_url: &str, prefix: &str) -> Option<f64> {
    let (_, body) = http(&format!("{http_url}/metrics"), None).await.map_err(|e| eprintln!("cannot read server metrics: {e}")).ok()?;
    Some(body.lines().filter(|line| line.starts_with(prefix)).filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok()).sum())
}
