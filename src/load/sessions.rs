//! `ferrophone load sessions`: N WebSocket sessions doing the real WebSDK handshake at a
//! given rate, answering the server's pings while held open.

use super::latency::{ms, Latencies};
use super::server_probe::{health_or_warn, Health};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct SessionsArgs {
    /// WebSocket URL of the server under test.
    #[arg(long, default_value = "ws://127.0.0.1:8080")]
    url: String,
    /// Sessions to open.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// New sessions per second.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// Seconds to hold every session open once all are up.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's /health, read for its resident memory ("" to skip).
    #[arg(long, default_value = "http://127.0.0.1:8081/health")]
    health_url: String,
    /// Log in with keepAlive: true.
    #[arg(long)]
    keep_alive: bool,
}

#[derive(Default)]
struct Tally {
    started: AtomicUsize,
    established: AtomicUsize,
    failed: AtomicUsize,
    pings_answered: AtomicU64,
    handshakes: Mutex<Latencies>,
    failures: Mutex<BTreeMap<String, usize>>,
}

impl Tally {
    fn fail(&self, why: impl Into<String>) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self.failures.lock().unwrap().entry(why.into()).or_default() += 1;
    }

    fn done(&self) -> usize {
        self.established.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

pub async fn run(args: SessionsArgs) -> Result<(), String> {
    if args.count == 0 || args.rate <= 0.0 {
        return Err("--count and --rate must be above 0".into());
    }
    let before = health_or_warn(&args.health_url).await;
    let measured_from = Instant::now();
    let tally = Arc::new(Tally::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let started_at = Instant::now();
    let progress = tokio::spawn(report_progress(tally.clone(), args.count, started_at));

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(args.count);
    for _ in 0..args.count {
        ticker.tick().await;
        tally.started.fetch_add(1, Ordering::Relaxed);
        tasks.push(tokio::spawn(session(args.url.clone(), args.keep_alive, tally.clone(), stop_rx.clone())));
    }
    let ramp = started_at.elapsed();
    let deadline = Instant::now() + STEP_TIMEOUT * 2;
    while tally.done() < args.count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_up = health_or_warn(&args.health_url).await;
    eprintln!("all sessions up after {:.1} s; holding for {} s", started_at.elapsed().as_secs_f64(), args.duration);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let held = health_or_warn(&args.health_url).await;
    let measured_for = measured_from.elapsed();
    stop_tx.send_replace(true);
    for task in tasks {
        let _ = task.await;
    }
    progress.abort();

    print_summary(&args, &tally, ramp, measured_for, before, all_up, held);
    if tally.failed.load(Ordering::Relaxed) > 0 {
        return Err(format!("{} sessions failed", tally.failed.load(Ordering::Relaxed)));
    }
    Ok(())
}

async fn session(url: String, keep_alive: bool, tally: Arc<Tally>, mut stop: watch::Receiver<bool>) {
    let begun = Instant::now();
    let mut ws = match tokio::time::timeout(STEP_TIMEOUT, tokio_tungstenite::connect_async(url.as_str())).await {
        Err(_) => return tally.fail("connect timeout"),
        Ok(Err(e)) => return tally.fail(format!("connect: {e}")),
        Ok(Ok((ws, _))) => ws,
    };
    let login = json!({"message": "connection", "data": [{
        "appKey": "defaultApp", "mediaProviders": ["WebRTC"], "clientVersion": "2.0",
        "clientOSVersion": "load", "clientBrowserVersion": "ferrophone-load", "msePacketizationVersion": 2,
        "keepAlive": keep_alive,
    }]});
    if ws.send(Message::text(login.to_string())).await.is_err() {
        return tally.fail("send connection");
    }
    loop {
        match tokio::time::timeout(STEP_TIMEOUT, ws.next()).await {
            Err(_) => return tally.fail("no getUserData in 10 s"),
            Ok(Some(Ok(Message::Text(text)))) if text.contains("\"getUserData\"") => break,
            Ok(Some(Ok(Message::Text(text)))) if is_ping(&text) => {
                let _ = ws.send(Message::text(PONG)).await;
            }
            Ok(Some(Ok(Message::Text(text)))) => return tally.fail(format!("unexpected before getUserData: {text}")),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return tally.fail(format!("before getUserData: {e}")),
            Ok(None) => return tally.fail("closed before getUserData"),
        }
    }
    tally.handshakes.lock().unwrap().record(begun.elapsed());
    tally.established.fetch_add(1, Ordering::Relaxed);

    loop {
        tokio::select! {
            _ = stop.changed() => break,
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) if is_ping(&text) => {
                    if ws.send(Message::text(PONG)).await.is_err() {
                        return tally.fail("pong failed");
                    }
                    tally.pings_answered.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(_))) | None => return tally.fail("closed by the server while held"),
                Some(Err(e)) => return tally.fail(format!("while held: {e}")),
                Some(Ok(_)) => {}
            }
        }
    }
    let _ = ws.close(None).await;
}

const PONG: &str = r#"{"message":"pong","data":[null]}"#;

fn is_ping(text: &str) -> bool {
    text.starts_with(r#"{"message":"ping""#)
}

async fn report_progress(tally: Arc<Tally>, count: usize, since: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let p99 = tally.handshakes.lock().unwrap().percentile(99.0).map(ms).unwrap_or_else(|| "-".into());
        eprintln!(
            "[{:>4.0} s] started {}/{count}  established {}  failed {}  pongs {}  handshake p99 {p99}",
            since.elapsed().as_secs_f64(),
            tally.started.load(Ordering::Relaxed),
            tally.established.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed),
            tally.pings_answered.load(Ordering::Relaxed),
        );
    }
}

fn print_summary(
    args: &SessionsArgs,
    tally: &Tally,
    ramp: Duration,
    measured_for: Duration,
    before: Option<Health>,
    all_up: Option<Health>,
    held: Option<Health>,
) {
    let established = tally.established.load(Ordering::Relaxed);
    let handshakes = tally.handshakes.lock().unwrap();
    println!("load sessions: {} at {}/s against {}", args.count, args.rate, args.url);
    println!("  ramp          {:.1} s", ramp.as_secs_f64());
    println!("  established   {established} ({} handshakes timed)", handshakes.len());
    println!("  failed        {}", tally.failed.load(Ordering::Relaxed));
    for (why, n) in tally.failures.lock().unwrap().iter() {
        println!("    {n} x {why}");
    }
    println!("  handshake     {}", handshakes.summary());
    println!("  pongs sent    {}", tally.pings_answered.load(Ordering::Relaxed));
    let rss = |h: &Option<Health>| h.as_ref().and_then(|h| h.rss_bytes);
    if let (Some(base), Some(up)) = (rss(&before), rss(&all_up)) {
        let end = rss(&held).unwrap_or(up);
        let peak = up.max(end);
        println!(
            "  server RSS    {:.1} MB before, {:.1} MB with all sessions, {:.1} MB at end of hold",
            base as f64 / 1e6,
            up as f64 / 1e6,
            end as f64 / 1e6
        );
        if established > 0 {
            println!("  per session   {:.1} KB", peak.saturating_sub(base) as f64 / established as f64 / 1024.0);
        }
    }
    let cpu = |h: &Option<Health>| h.as_ref().and_then(|h| h.cpu_seconds);
    if let (Some(start), Some(end)) = (cpu(&before), cpu(&held)) {
        let used = end - start;
        println!(
            "  server CPU    {used:.1} s in {:.1} s ({:.0} % of one core)",
            measured_for.as_secs_f64(),
            100.0 * used / measured_for.as_secs_f64()
        );
    }
    if let Some(sessions) = held.as_ref().and_then(|h| h.sessions) {
        println!("  server saw    {sessions} sessions during the hold");
    }
}
