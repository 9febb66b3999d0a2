//! `ferrophone load stream-calls`: many SIP-as-stream calls at once, placed by REST
//! `/call/startup` with `toStream` to a phone that talks (sipp in scripts/load.sh), each with
//! `--viewers` WebRTC players of its stream. Reports call-setup latency, what the players got,
//! and the server's CPU and memory per call.

use super::calls::CallLoad;
use super::latency::Latencies;
use super::server_probe::{cores_between, health_or_warn, http};
use super::signalling::Signalling;
use super::stream_client::play;
use clap::Args;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::sync::watch;

/// How often each call still coming up is looked for with `/call/find`: setup times are this coarse.
const POLL: Duration = Duration::from_millis(10);

#[derive(Args)]
pub struct StreamCallsArgs {
    /// WebSocket URL of the server (for the players).
    #[arg(long, default_value = "ws://127.0.0.1:8080")]
    url: String,
    /// Its HTTP base, for REST and /health.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    http_url: String,
    #[command(flatten)]
    load: CallLoad,
    /// WebRTC players of each call's stream.
    #[arg(long, default_value_t = 1)]
    viewers: usize,
    /// The server's /health ("" to skip).
    #[arg(long, default_value = "http://127.0.0.1:8081/health")]
    health_url: String,
}

pub async fn run(args: StreamCallsArgs) -> Result<(), String> {
    let (host, port) = args.load.phone.rsplit_once(':').ok_or("--phone is host:port")?;
    let idle = health_or_warn(&args.health_url).await;
    let started = Instant::now();
    let placed_at = Arc::new(Mutex::new(HashMap::new()));
    let up = Arc::new(Mutex::new(HashMap::new()));
    // Sees calls come up while more are placed.
    let poller = {
        let (http_url, placed_at, up, total) = (args.http_url.clone(), placed_at.clone(), up.clone(), args.load.calls);
        let deadline = started + Duration::from_secs_f64(args.load.calls as f64 / args.load.rate) + Duration::from_secs(15);
        tokio::spawn(async move {
            while up.lock().unwrap().len() < total && Instant::now() < deadline {
                note_established(&http_url, &placed_at, &up).await;
                tokio::time::sleep(POLL).await;
            }
        })
    };
    let mut refused = 0;
    for i in 0..args.load.calls {
        tokio::time::sleep_until((started + Duration::from_secs_f64(i as f64 / args.load.rate)).into()).await;
        let call_id = format!("load-call-{i}");
        let body = json!({"callId": call_id, "callee": "talker", "toStream": format!("load_call_{i}"), "hasAudio": "true",
            "hasVideo": "false", "sipLogin": "load", "sipPassword": "load", "sipDomain": host, "sipOutboundProxy": host,
            "sipPort": port, "sipRegisterRequired": "false"});
        placed_at.lock().unwrap().insert(call_id, Instant::now());
        match http(&format!("{}/rest-api/call/startup", args.http_url), Some(&body.to_string())).await? {
            (200, _) => {}
            (status, text) => {
                refused += 1;
                eprintln!("call refused: {status} {text}");
            }
        }
    }
    let _ = poller.await;
    let mut setups = Latencies::default();
    let calls = {
        let up = up.lock().unwrap();
        up.values().for_each(|took| setups.record(*took));
        up.len()
    };
    eprintln!("[{:>4.0} s] calls established {calls}/{}", started.elapsed().as_secs_f64(), args.load.calls);

    let (stop, stop_rx) = watch::channel(false);
    let packets = Arc::new(AtomicU64::new(0));
    let mut players = Vec::new();
    for i in 0..args.load.calls {
        for _ in 0..args.viewers {
            players.push(tokio::spawn(watch_stream(args.url.clone(), format!("load_call_{i}"), packets.clone(), stop_rx.clone())));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held_from = (health_or_warn(&args.health_url).await, Instant::now(), packets.load(Ordering::Relaxed));
    tokio::time::sleep(Duration::from_secs(args.load.duration)).await;
    let held = health_or_warn(&args.health_url).await;
    let hold = held_from.1.elapsed().as_secs_f64();
    let got = packets.load(Ordering::Relaxed) - held_from.2;
    let _ = stop.send(true);
    let mut playing = 0;
    for player in players {
        if let Ok(Ok(())) = player.await {
            playing += 1;
        }
    }
    let mut ended = 0;
    let call_ids: Vec<String> = placed_at.lock().unwrap().keys().cloned().collect();
    for call_id in call_ids {
        if let Ok((200, _)) = http(&format!("{}/rest-api/call/terminate", args.http_url), Some(&json!({"callId": call_id}).to_string())).await {
            ended += 1;
        }
    }

    println!("load stream-calls: {} calls to {} at {}/s, {} viewer(s) each, held {} s", args.load.calls, args.load.phone, args.load.rate, args.viewers, args.load.duration);
    println!("  established    {calls} (refused {refused}), still up and terminated {ended}");
    println!("  setup          {} (`/call/startup` → ESTABLISHED in /call/find, seen every {} ms)", setups.summary(), POLL.as_millis());
    if args.viewers > 0 {
        let expected = (calls * args.viewers) as f64 * hold * 50.0;
        println!("  players        {playing} played to the end; {got} audio packets of {expected:.0} expected ({:.2} % missing)", 100.0 * (1.0 - got as f64 / expected.max(1.0)));
    }
    if let (Some(cores), true) = (cores_between(&held_from.0, &held, hold), calls > 0) {
        let per_call = cores * 100.0 / calls as f64;
        println!("  server CPU     {:.0} % of one core holding: {per_call:.2} % per call, {:.0} calls per core", cores * 100.0, 100.0 / per_call);
    }
    if let (Some(a), Some(b)) = (idle.as_ref().and_then(|h| h.rss_bytes), held.as_ref().and_then(|h| h.rss_bytes)) {
        println!("  server RSS     {:.1} MB idle, {:.1} MB holding: {:.0} KB per call", a as f64 / 1e6, b as f64 / 1e6, b.saturating_sub(a) as f64 / calls.max(1) as f64 / 1024.0);
    }
    if calls < args.load.calls || ended < calls {
        return Err(format!("{} calls did not come up, {} of those up did not last", args.load.calls - calls, calls - ended.min(calls)));
    }
    Ok(())
}

/// Asks `/call/find` for each placed call not yet up, and notes when it is first seen
/// ESTABLISHED. Only the few calls coming up are asked for: reading every call with
/// `/call/find_all` 100 times a second would load the server with the measurement.
async fn note_established(http_url: &str, placed_at: &Mutex<HashMap<String, Instant>>, up: &Mutex<HashMap<String, Duration>>) {
    let pending: Vec<(String, Instant)> = {
        let up = up.lock().unwrap();
        placed_at.lock().unwrap().iter().filter(|(id, _)| !up.contains_key(*id)).map(|(id, at)| (id.clone(), *at)).collect()
    };
    for (id, placed) in pending {
        let body = json!({ "callId": id }).to_string();
        let Ok((200, found)) = http(&format!("{http_url}/rest-api/call/find"), Some(&body)).await else { continue };
        let Ok(Value::Array(calls)) = serde_json::from_str::<Value>(&found) else { continue };
        if calls.iter().any(|c| c["status"] == "ESTABLISHED") {
            up.lock().unwrap().entry(id).or_insert_with(|| placed.elapsed());
        }
    }
}

/// One WebRTC player of `name`, counting the audio packets it gets until told to stop.
async fn watch_stream(url: String, name: String, packets: Arc<AtomicU64>, mut stop: watch::Receiver<bool>) -> Result<(), String> {
    let mut signalling = Signalling::connect(&url, json!({})).await?;
    let mut player = play(&mut signalling, &name, None).await.map_err(|e| e.info())?;
    loop {
        tokio::select! {
            event = player.peer.next_event(Instant::now() + Duration::from_secs(1)) => {
                if let Some(Event::MediaData(_)) = event? {
                    packets.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = stop.wait_for(|&now| now) => break,
        }
    }
    signalling.close().await;
    Ok(())
}
