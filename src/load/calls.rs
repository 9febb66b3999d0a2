//! `ferrophone load calls`: many bridged SIP calls at once. Each is a WebSDK session placing a
//! `call` from a str0m browser side (Opus) to a SIP phone that echoes its RTP (sipp with
//! `-rtp_echo` in scripts/load.sh), so the server transcodes Opus → G.711 and back on every
//! call. Reports call-setup latency, the echo that came back, and the server's CPU and memory
//! per call.

use super::encoded_media::encode_microphone_tone;
use super::latency::Latencies;
use super::phone::{call, connect_phone, CallReport, Microphone};
use super::server_probe::{cores_between, health_or_warn, metric_sum};
use clap::Args;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const STEP: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct CallsArgs {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8080")]
    url: String,
    #[command(flatten)]
    load: CallLoad,
    /// The server's /health ("" to skip).
    #[arg(long, default_value = "http://127.0.0.1:8081/health")]
    health_url: String,
}

/// Which calls a call benchmark places, and how fast; shared with `load stream-calls`.
#[derive(Args)]
pub struct CallLoad {
    /// The SIP phone every call goes to, host:port: it answers at once, and echoes (`calls`)
    /// or talks (`stream-calls`).
    #[arg(long, default_value = "127.0.0.1:5090")]
    pub phone: String,
    /// Concurrent calls.
    #[arg(long, default_value_t = 50)]
    pub calls: usize,
    /// New calls per second.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Seconds to hold every call once all are up.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
}

#[derive(Default)]
struct Tally {
    established: AtomicUsize,
    failed: AtomicUsize,
    /// Established, then lost before a clean hangup.
    broken: AtomicUsize,
    setups: Mutex<Latencies>,
    failures: Mutex<BTreeMap<String, usize>>,
}

impl Tally {
    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self.failures.lock().unwrap().entry(why).or_default() += 1;
    }
}

pub async fn run(args: CallsArgs) -> Result<(), String> {
    let (host, port) = args.load.phone.rsplit_once(':').ok_or("--phone is host:port")?;
    let tone = tokio::task::spawn_blocking(microphone).await.map_err(|e| e.to_string())??;
    let idle = health_or_warn(&args.health_url).await;
    let tally = Arc::new(Tally::default());
    let (hang_up, hang_up_rx) = watch::channel(false);
    let started = Instant::now();
    let mut calls = Vec::new();
    for i in 0..args.load.calls {
        tokio::time::sleep_until((started + Duration::from_secs_f64(i as f64 / args.load.rate)).into()).await;
        let login = json!({"sipLogin": format!("load{i}"), "sipPassword": "load", "sipDomain": host, "sipOutboundProxy": host,
            "sipPort": port, "sipRegisterRequired": false});
        calls.push(tokio::spawn(one_call(args.url.clone(), login, tone.clone(), tally.clone(), hang_up_rx.clone())));
        if i % 50 == 49 {
            progress(&tally, started, args.load.calls);
        }
    }
    while tally.established.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed) < args.load.calls {
        if started.elapsed() > Duration::from_secs_f64(args.load.calls as f64 / args.load.rate) + 2 * STEP {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        progress(&tally, started, args.load.calls);
    }
    // Let every call's media settle before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held_from = (health_or_warn(&args.health_url).await, Instant::now());
    tokio::time::sleep(Duration::from_secs(args.load.duration)).await;
    let held = health_or_warn(&args.health_url).await;
    let hold = held_from.1.elapsed().as_secs_f64();
    let _ = hang_up.send(true);
    let (mut sent, mut received, mut finished) = (0u64, 0u64, 0usize);
    for handle in calls {
        if let Ok(Some(report)) = handle.await {
            sent += report.sent;
            received += report.received.len() as u64;
            finished += 1;
        }
    }

    let established = tally.established.load(Ordering::Relaxed);
    println!("load calls: {} calls to {} at {}/s, held {} s", args.load.calls, args.load.phone, args.load.rate, args.load.duration);
    println!(
        "  established    {established}, failed {}, lost before hangup {}, hung up cleanly {finished}",
        tally.failed.load(Ordering::Relaxed),
        tally.broken.load(Ordering::Relaxed)
    );
    for (why, count) in tally.failures.lock().unwrap().iter() {
        println!("    {count} x {why}");
    }
    println!("  setup          {} (`call` sent → ESTABLISHED; the phone answers at once)", tally.setups.lock().unwrap().summary());
    // Not a loss figure: until the echo starts the server keeps the browser's audio going with
    // silence; well under 100 % means audio was lost on the way.
    println!("  to browsers    {received} Opus packets for {sent} sent ({:.1} %)", 100.0 * received as f64 / sent.max(1) as f64);
    // A call's leg adds its counts when it ends, just after its hangup.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let phone_audio = "ferrophone_call_phone_audio_packets_total{kind=";
    let http_url = args.health_url.trim_end_matches("/health");
    let received = metric_sum(http_url, &format!("{phone_audio}\"received\"}}")).await;
    let lost = metric_sum(http_url, &format!("{phone_audio}\"lost\"}}")).await;
    if let (Some(received), Some(lost)) = (received, lost) {
        // Lost here is late or missing at the server's jitter buffer: the browser hears concealment.
        println!("  from phones    {received:.0} RTP packets, {:.2} % lost or late at the server", 100.0 * lost / received.max(1.0));
    }
    if let (Some(cores), true) = (cores_between(&held_from.0, &held, hold), established > 0) {
        let per_call = cores * 100.0 / established as f64;
        println!("  server CPU     {:.0} % of one core holding: {per_call:.2} % per call, {:.0} calls per core", cores * 100.0, 100.0 / per_call);
    }
    if let (Some(a), Some(b)) = (idle.as_ref().and_then(|h| h.rss_bytes), held.as_ref().and_then(|h| h.rss_bytes)) {
        println!("  server RSS     {:.1} MB idle, {:.1} MB holding: {:.0} KB per call", a as f64 / 1e6, b as f64 / 1e6, b.saturating_sub(a) as f64 / established.max(1) as f64 / 1024.0);
    }
    if finished < args.load.calls {
        return Err(format!("{} of {} calls did not last to a clean hangup", args.load.calls - finished, args.load.calls));
    }
    Ok(())
}

/// A voice in the widths a browser codes for a phone's codecs: 8 kHz (G.711), 16 kHz (G.722)
/// and full (Opus).
fn microphone() -> Result<Microphone, String> {
    let versions = [8_000, 16_000, 48_000].map(|rate| encode_microphone_tone(10, 440.0, rate).map(|packets| (rate, Arc::new(packets))));
    Ok(Microphone::in_widths(versions.into_iter().collect::<Result<_, _>>()?))
}

/// One call: place it, hold it until told, hang up. Its media report when it ended cleanly.
async fn one_call(url: String, login: serde_json::Value, tone: Microphone, tally: Arc<Tally>, mut hang_up: watch::Receiver<bool>) -> Option<CallReport> {
    let setup = async {
        let signalling = connect_phone(&url, login).await?;
        let mut running = call(signalling, "echo", tone).await?;
        running.wait_status("ESTABLISHED", STEP).await?;
        Ok::<_, String>((running.sent_at.elapsed(), running))
    };
    let mut running = match setup.await {
        Ok((took, running)) => {
            tally.setups.lock().unwrap().record(took);
            tally.established.fetch_add(1, Ordering::Relaxed);
            running
        }
        Err(why) => {
            tally.fail(why.chars().take(120).collect());
            return None;
        }
    };
    let _ = hang_up.wait_for(|&now| now).await;
    running.send("hangup", json!({}));
    let ended = match running.wait_status("FINISH", STEP).await {
        Ok(_) => running.end(STEP).await,
        Err(why) => Err(why),
    };
    ended.map_err(|why| {
        tally.broken.fetch_add(1, Ordering::Relaxed);
        eprintln!("a call did not end cleanly: {why}");
    })
    .ok()
}

fn progress(tally: &Tally, started: Instant, total: usize) {
    eprintln!(
        "[{:>4.0} s] calls established {}/{total}, failed {}",
        started.elapsed().as_secs_f64(),
        tally.established.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed)
    );
}
