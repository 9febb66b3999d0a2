//! `ferrophone load publish` and `ferrophone load play`: a WebRTC publisher, and many
//! str0m viewers of one stream (ours, or a mountpoint of Janus's streaming plugin), with time
//! to the first decodable frame, packet loss and the server's CPU and memory per viewer.

use super::latency::{ms, Latencies};
use super::server_probe::{health_or_warn, metric_sum, process_health_or_warn, Health};
use super::janus_session::JanusSession;
use super::signalling::Signalling;
use super::encoded_media::encode_clip;
use super::publisher::{start_publisher, PublisherMedia, PublisherSpec};
use super::stream_client::play_from;
use super::synthetic_media::VideoCodec;
use super::webrtc_client::{ClientPeer, OpusChannels};
use clap::Args;
use ferrophone_actors::webrtc::keyframe::is_keyframe;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

#[derive(Args, Clone)]
pub struct PublishArgs {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8080")]
    pub url: String,
    /// Stream name.
    #[arg(long, default_value = "load")]
    pub stream: String,
    #[arg(long, value_enum, default_value = "h264")]
    pub codec: VideoCodec,
    /// Video bits per second (audio adds about 24 kbps).
    #[arg(long, default_value_t = 600_000)]
    pub bitrate: u64,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Seconds to publish.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Send a real H.264 + Opus clip (640x360, x264 and libopus, made at start) instead of
    /// synthetic frames, so that what the server passes on is decodable.
    #[arg(long)]
    pub clip: bool,
    /// Publish with this rtmpUrl (WebRTC as RTMP).
    #[arg(long)]
    pub rtmp_url: Option<String>,
}

#[derive(Args)]
pub struct PlayArgs {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8080")]
    url: String,
    /// Stream to play.
    #[arg(long, default_value = "load")]
    stream: String,
    /// Viewers to start.
    #[arg(long, default_value_t = 100)]
    viewers: usize,
    /// New viewers per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Seconds to hold every viewer once all are up.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Every Nth viewer decrypts all its media; the others count RTP packets after their first
    /// keyframe (SRTP headers are in the clear), so viewers cost less here than on the server.
    #[arg(long, default_value_t = 20)]
    sample_every: usize,
    /// Also run a synthetic publisher of the stream with this codec.
    #[arg(long, value_enum)]
    publish: Option<VideoCodec>,
    /// Video bits per second of that publisher.
    #[arg(long, default_value_t = 600_000)]
    bitrate: u64,
    /// The server's /health, for its CPU and memory ("" to skip), and its /metrics beside it.
    #[arg(long, default_value = "http://127.0.0.1:8081/health")]
    health_url: String,
    /// Read the server's CPU and memory from this process on this machine instead of /health:
    /// a server of any kind is then measured the same way.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Watch this mountpoint of Janus's streaming plugin instead of a stream of ours, for a
    /// side by side: `--url` is then Janus's WebSocket API and viewers answer its offers of
    /// Opus with H.264 or VP8 (scripts/load-janus.sh sets it up).
    #[arg(long)]
    janus_mountpoint: Option<u64>,
    /// The address viewers take their UDP sockets on (a local one): Janus gathers no loopback
    /// candidates, so it is given another local address, and so are its viewers.
    #[arg(long, default_value = "127.0.0.1")]
    client_ip: IpAddr,
}

impl PublishArgs {
    async fn spec(&self) -> Result<PublisherSpec, String> {
        let media = if self.clip {
            let clip = tokio::task::spawn_blocking(|| encode_clip(10, 640, 360, 30, 440.0, VideoCodec::H264, OpusChannels::Mono)).await.map_err(|e| e.to_string())??;
            PublisherMedia::Clip(Arc::new(clip))
        } else {
            PublisherMedia::Synthetic { codec: self.codec, bitrate: self.bitrate, fps: self.fps }
        };
        Ok(PublisherSpec { url: self.url.clone(), stream: self.stream.clone(), media, rtmp_url: self.rtmp_url.clone(), record: false })
    }
}

pub async fn run_publish(args: PublishArgs) -> Result<(), String> {
    let publisher = start_publisher(args.spec().await?).await?;
    eprintln!("publishing '{}' for {} s", args.stream, args.duration);
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(args.duration)) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let frames = publisher.stop().await?;
    println!("published {frames} video frames of '{}'", args.stream);
    Ok(())
}

#[derive(Default)]
struct Tally {
    started: AtomicUsize,
    playing: AtomicUsize,
    first_frame: AtomicUsize,
    failed: AtomicUsize,
    ended_early: AtomicUsize,
    first_frame_times: Mutex<Latencies>,
    /// The two parts of the time to the first frame: until the media connected, and from
    /// then until the first keyframe.
    connect_times: Mutex<Latencies>,
    keyframe_waits: Mutex<Latencies>,
    failures: Mutex<BTreeMap<String, usize>>,
    /// (received, expected) RTP packets of viewers that finished, and the time they had media.
    packets: Mutex<(u64, u64, Duration)>,
}

impl Tally {
    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self.failures.lock().unwrap().entry(why).or_default() += 1;
    }

    /// Viewers whose media connected but who got no keyframe (of a codec they took) at all.
    fn without_picture(&self) -> usize {
        self.playing.load(Ordering::Relaxed).saturating_sub(self.first_frame.load(Ordering::Relaxed))
    }
}

/// The server the viewers watch, and how.
enum Server {
    /// ferrophone, or any server of the WebSDK's protocol: viewers offer from UDP sockets on
    /// `client_ip` and play `stream`.
    WebSdk { url: String, stream: String, client_ip: IpAddr },
    /// Janus's streaming plugin: viewers answer its offer of `mountpoint` from UDP sockets on
    /// `client_ip`.
    Janus { url: String, mountpoint: u64, client_ip: IpAddr },
}

/// A started viewer's signalling, which tells it when the server ends its stream.
enum Watching {
    WebSdk(Signalling),
    Janus(JanusSession),
}

impl Server {
    /// Signalling, then ICE and DTLS, up to connected media.
    async fn watch(&self) -> Result<(Watching, ClientPeer), String> {
        match self {
            Server::WebSdk { url, stream, client_ip } => {
                let mut signalling = Signalling::connect(url, json!({})).await.map_err(|e| format!("connect: {e}"))?;
                let session = play_from(&mut signalling, stream, None, *client_ip).await.map_err(|e| format!("play: {}", e.info()))?;
                Ok((Watching::WebSdk(signalling), session.peer))
            }
            Server::Janus { url, mountpoint, client_ip } => {
                let mut janus = JanusSession::attach_streaming(url).await.map_err(|e| format!("connect: {e}"))?;
                let offer = janus.watch(*mountpoint).await?;
                let (mut peer, answer) = ClientPeer::answer(&offer, &[VideoCodec::H264, VideoCodec::Vp8], *client_ip).await?;
                janus.start(&answer).await?;
                peer.until_connected(Duration::from_secs(10)).await?;
                Ok((Watching::Janus(janus), peer))
            }
        }
    }
}

impl Watching {
    /// Waits until the server ends the stream for this viewer, or its signalling fails.
    async fn ended(&mut self) {
        match self {
            Watching::WebSdk(signalling) => loop {
                match signalling.next_message().await {
                    Ok(m) if m.name == "notifyStreamStatusEvent" && m.payload()["status"] != "PLAYING" => return,
                    Ok(_) => continue,
                    Err(_) => return,
                }
            },
            Watching::Janus(janus) => janus.ended().await,
        }
    }

    async fn close(self) {
        match self {
            Watching::WebSdk(signalling) => signalling.close().await,
            Watching::Janus(janus) => janus.close().await,
        }
    }

    /// Moves the signalling to a task of its own. A viewer's media loop turns about a hundred
    /// times a second, and polling the WebSocket on each turn was a good share of the load
    /// command's work (a read attempt, tungstenite clearing its buffer, a waker registered).
    fn on_own_task(mut self) -> SignallingTask {
        let (ended_tx, ended) = oneshot::channel();
        let (close, mut close_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = self.ended() => {
                    let _ = ended_tx.send(());
                    let _ = close_rx.await;
                }
                _ = &mut close_rx => {}
            }
            self.close().await;
        });
        SignallingTask { ended, close, task }
    }
}

/// A viewer's signalling on its own task: `ended` resolves when the server ends the stream.
struct SignallingTask {
    ended: oneshot::Receiver<()>,
    close: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl SignallingTask {
    async fn close(self) {
        let _ = self.close.send(());
        let _ = self.task.await;
    }
}

/// One viewer: play, wait for the first keyframe, then count packets until `stop`.
async fn viewer(server: Arc<Server>, decrypt_all: bool, tally: Arc<Tally>, mut stop: watch::Receiver<bool>) {
    let begun = Instant::now();
    let (watching, mut peer) = match server.watch().await {
        Ok(started) => started,
        Err(e) => return tally.fail(e),
    };
    tally.playing.fetch_add(1, Ordering::Relaxed);
    let connected = begun.elapsed();
    tally.connect_times.lock().unwrap().record(connected);
    let mut signalling = watching.on_own_task();
    let video = peer.video;
    let mut waiting = true;
    loop {
        let deadline = Instant::now() + Duration::from_secs(1);
        tokio::select! {
            _ = stop.changed() => break,
            _ = &mut signalling.ended => {
                // At the end of a run the publisher stops first: that is no early end.
                if !*stop.borrow() {
                    tally.ended_early.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            event = peer.next_event(deadline) => match event {
                Ok(Some(Event::MediaData(data))) if waiting && Some(data.mid) == video => {
                    if is_keyframe(&data.codec_extra) {
                        waiting = false;
                        tally.first_frame_times.lock().unwrap().record(begun.elapsed());
                        tally.keyframe_waits.lock().unwrap().record(begun.elapsed().saturating_sub(connected));
                        tally.first_frame.fetch_add(1, Ordering::Relaxed);
                        if !decrypt_all {
                            peer.count_only();
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tally.fail(format!("media: {e}"));
                    break;
                }
            }
        }
    }
    let (received, expected) = peer.counter.totals();
    {
        let mut packets = tally.packets.lock().unwrap();
        packets.0 += received;
        packets.1 += expected;
        packets.2 += begun.elapsed().saturating_sub(connected);
    }
    signalling.close().await;
}

pub async fn run_play(args: PlayArgs) -> Result<(), String> {
    if args.viewers == 0 || args.rate <= 0.0 {
        return Err("--viewers and --rate must be above 0".into());
    }
    if args.janus_mountpoint.is_some() && args.publish.is_some() {
        return Err("--publish is for our own server: a Janus mountpoint is fed over RTP".into());
    }
    let server = Arc::new(match args.janus_mountpoint {
        Some(mountpoint) => Server::Janus { url: args.url.clone(), mountpoint, client_ip: args.client_ip },
        None => Server::WebSdk { url: args.url.clone(), stream: args.stream.clone(), client_ip: args.client_ip },
    });
    let (stop_tx, stop) = watch::channel(false);
    let publisher = match args.publish {
        Some(codec) => {
            let media = PublisherMedia::Synthetic { codec, bitrate: args.bitrate, fps: 30 };
            let spec = PublisherSpec { url: args.url.clone(), stream: args.stream.clone(), media, rtmp_url: None, record: false };
            Some(start_publisher(spec).await?)
        }
        None => None,
    };
    let before = server_health(&args).await;
    let measured_from = Instant::now();
    let tally = Arc::new(Tally::default());
    let progress = tokio::spawn(report_progress(tally.clone(), args.viewers));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut viewers = Vec::with_capacity(args.viewers);
    for i in 0..args.viewers {
        ticker.tick().await;
        tally.started.fetch_add(1, Ordering::Relaxed);
        let decrypt_all = args.sample_every > 0 && i % args.sample_every == 0;
        viewers.push(tokio::spawn(viewer(server.clone(), decrypt_all, tally.clone(), stop.clone())));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while tally.first_frame.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed) < args.viewers && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_up = server_health(&args).await;
    let fan_out_from = fan_out(&args.health_url, &args.stream).await;
    let hold_from = Instant::now();
    eprintln!("viewers up after {:.1} s; holding for {} s", measured_from.elapsed().as_secs_f64(), args.duration);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let held = server_health(&args).await;
    let fan_out_held = fan_out(&args.health_url, &args.stream).await;
    let hold = hold_from.elapsed();
    let sustained = tally.playing.load(Ordering::Relaxed) - tally.ended_early.load(Ordering::Relaxed);
    stop_tx.send_replace(true);
    for v in viewers {
        let _ = v.await;
    }
    progress.abort();
    if let Some(publisher) = publisher {
        if let Err(e) = publisher.stop().await {
            eprintln!("publisher: {e}");
        }
    }
    print_play_summary(&args, &tally, sustained, hold, (before, all_up, held));
    if let (Some(from), Some(to)) = (fan_out_from, fan_out_held) {
        let seconds = hold.as_secs_f64();
        let (received, sent, dropped) = (to.received - from.received, to.sent - from.sent, to.dropped - from.dropped);
        if received < 0.0 || sent < 0.0 || dropped < 0.0 {
            println!("  server fan-out unknown: the stream ended during the hold, and its counters with it");
        } else {
            let share = if sent + dropped > 0.0 { 100.0 * dropped / (sent + dropped) } else { 0.0 };
            println!(
                "  server fan-out {:.1} frames/s from the publisher, {:.1} frames/s to each viewer; {dropped} of {} dropped for viewers that fell behind ({share:.2} %)",
                received / seconds,
                sent / seconds / sustained.max(1) as f64,
                sent + dropped
            );
        }
    }
    if tally.failed.load(Ordering::Relaxed) > 0 || tally.ended_early.load(Ordering::Relaxed) > 0 || tally.without_picture() > 0 {
        return Err("some viewers failed, ended early or never saw a picture".into());
    }
    Ok(())
}

async fn server_health(args: &PlayArgs) -> Option<Health> {
    match args.server_pid {
        Some(pid) => process_health_or_warn(pid),
        None => health_or_warn(&args.health_url).await,
    }
}

/// A stream's frames so far, from /metrics. A frame the server drops, or never gets from its
/// publisher, takes no sequence number, so viewers cannot count it as lost: these show it.
struct FanOut {
    received: f64,
    sent: f64,
    dropped: f64,
}

async fn fan_out(health_url: &str, stream: &str) -> Option<FanOut> {
    if health_url.is_empty() {
        return None;
    }
    let http_url = health_url.trim_end_matches("/health");
    let count = |what: &str| format!("ferrophone_stream_frames_{what}_total{{stream=\"{stream}\"}}");
    Some(FanOut {
        received: metric_sum(http_url, &count("received")).await?,
        sent: metric_sum(http_url, &count("sent")).await?,
        dropped: metric_sum(http_url, &count("dropped")).await?,
    })
}

async fn report_progress(tally: Arc<Tally>, count: usize) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let started_at = Instant::now();
    loop {
        tick.tick().await;
        let p99 = tally.first_frame_times.lock().unwrap().percentile(99.0).map(ms).unwrap_or_else(|| "-".into());
        eprintln!(
            "[{:>4.0} s] started {}/{count}  playing {}  first frame {}  failed {}  ended {}  first-frame p99 {p99}",
            started_at.elapsed().as_secs_f64(),
            tally.started.load(Ordering::Relaxed),
            tally.playing.load(Ordering::Relaxed),
            tally.first_frame.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed),
            tally.ended_early.load(Ordering::Relaxed),
        );
    }
}

fn print_play_summary(
    args: &PlayArgs,
    tally: &Tally,
    sustained: usize,
    hold: Duration,
    (before, all_up, held): (Option<Health>, Option<Health>, Option<Health>),
) {
    let (received, expected, viewing) = *tally.packets.lock().unwrap();
    let loss = if expected > 0 { 100.0 * (expected.saturating_sub(received)) as f64 / expected as f64 } else { 0.0 };
    let watched = match args.janus_mountpoint {
        Some(mountpoint) => format!("Janus mountpoint {mountpoint}"),
        None => format!("'{}'", args.stream),
    };
    println!("load play: {} viewers of {watched} at {}/s against {}", args.viewers, args.rate, args.url);
    println!("  sustained      {sustained} viewers to the end");
    println!(
        "  failed         {}  (ended early {}, never saw a keyframe {})",
        tally.failed.load(Ordering::Relaxed),
        tally.ended_early.load(Ordering::Relaxed),
        tally.without_picture()
    );
    for (why, n) in tally.failures.lock().unwrap().iter() {
        println!("    {n} x {why}");
    }
    println!("  first frame    {}  (from opening the WebSocket to the first decodable video frame)", tally.first_frame_times.lock().unwrap().summary());
    println!("    connected    {}  (WebSocket, playStream, ICE and DTLS)", tally.connect_times.lock().unwrap().summary());
    println!("    keyframe     {}  (then the wait for a keyframe)", tally.keyframe_waits.lock().unwrap().summary());
    let per_second = received as f64 / viewing.as_secs_f64().max(1e-3);
    println!("  RTP packets    {received} of {expected} expected, loss {loss:.2} %; {per_second:.0} per viewer per second");
    let cpu = |h: &Option<Health>| h.as_ref().and_then(|h| h.cpu_seconds);
    if let (Some(a), Some(b)) = (cpu(&all_up), cpu(&held)) {
        let cores = (b - a) / hold.as_secs_f64();
        println!("  server CPU     {:.0} % of one core while holding ({:.2} ms per viewer per second)", cores * 100.0, cores * 1000.0 / sustained.max(1) as f64);
    }
    let rss = |h: &Option<Health>| h.as_ref().and_then(|h| h.rss_bytes);
    if let (Some(base), Some(end)) = (rss(&before), rss(&held)) {
        println!(
            "  server RSS     {:.1} MB before, {:.1} MB holding: {:.1} KB per viewer",
            base as f64 / 1e6,
            end as f64 / 1e6,
            end.saturating_sub(base) as f64 / sustained.max(1) as f64 / 1024.0
        );
    }
}
