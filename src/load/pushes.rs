//! `ferrophone load push`: many RTMP pushes at once, of one stream or of many, to an RTMP
//! server (nginx-rtmp in scripts/load.sh), with the server's CPU and memory per push and the
//! frames it dropped.

use super::encoded_media::encode_clip;
use super::publisher::{start_publisher, PublisherMedia, PublisherSpec};
use super::server_probe::{cores_between, health_or_warn, http, metric_sum};
use super::synthetic_media::VideoCodec;
use super::webrtc_client::OpusChannels;
use clap::Args;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct PushArgs {
    /// WebSocket URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8080")]
    url: String,
    /// Its HTTP base, for REST and /health.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    http_url: String,
    /// Where the pushes go.
    #[arg(long, default_value = "rtmp://127.0.0.1:1935/live")]
    rtmp_url: String,
    /// Streams published (real H.264 640x360 + Opus, from a clip).
    #[arg(long, default_value_t = 1)]
    streams: usize,
    /// Pushes of each stream.
    #[arg(long, default_value_t = 10)]
    pushes: usize,
    /// Seconds to hold every push once all are up.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// The server's /health ("" to skip).
    #[arg(long, default_value = "http://127.0.0.1:8081/health")]
    health_url: String,
}

pub async fn run(args: PushArgs) -> Result<(), String> {
    let clip = Arc::new(tokio::task::spawn_blocking(|| encode_clip(10, 640, 360, 30, 440.0, VideoCodec::H264, OpusChannels::Mono)).await.map_err(|e| e.to_string())??);
    let mut publishers = Vec::new();
    for s in 0..args.streams {
        let spec = PublisherSpec { url: args.url.clone(), stream: format!("push{s}"), media: PublisherMedia::Clip(clip.clone()), rtmp_url: None, record: false };
        publishers.push(start_publisher(spec).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // What the publishers cost alone, so the pushes' own share can be told apart.
    let publishers_from = (health_or_warn(&args.health_url).await, Instant::now());
    tokio::time::sleep(Duration::from_secs(args.duration.min(10))).await;
    let before = health_or_warn(&args.health_url).await;
    let publishers_cores = cores_between(&publishers_from.0, &before, publishers_from.1.elapsed().as_secs_f64());
    let measured_from = Instant::now();
    let (mut started, mut refused) = (0, 0);
    for s in 0..args.streams {
        for p in 0..args.pushes {
            // One stream may go to one URL once: each push gets its own stream name.
            let body = json!({"streamName": format!("push{s}"), "rtmpUrl": format!("{}/s{s}p{p}", args.rtmp_url), "rtmpTransponderFullUrl": true});
            match http(&format!("{}/rest-api/push/startup", args.http_url), Some(&body.to_string())).await {
                Ok((200, _)) => started += 1,
                Ok((status, body)) => {
                    refused += 1;
                    eprintln!("push refused: {status} {body}");
                }
                Err(e) => return Err(e),
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut publishing = 0;
    while Instant::now() < deadline {
        publishing = count_publishing(&args.http_url).await;
        eprintln!("[{:>4.0} s] pushes publishing {publishing}/{started}", measured_from.elapsed().as_secs_f64());
        if publishing >= started {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let dropped_before = dropped_frames(&args.http_url).await;
    let all_up = health_or_warn(&args.health_url).await;
    let hold_from = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let held = health_or_warn(&args.health_url).await;
    let hold = hold_from.elapsed().as_secs_f64();
    let still = count_publishing(&args.http_url).await;
    let dropped = dropped_frames(&args.http_url).await - dropped_before;
    for publisher in publishers {
        publisher.stop().await?;
    }

    println!("load push: {} streams x {} pushes to {}", args.streams, args.pushes, args.rtmp_url);
    println!("  started        {started} (refused {refused}), publishing {publishing}, still publishing after the hold {still}");
    println!("  dropped        {dropped:.0} frames while holding");
    if let (Some(cores), Some(alone)) = (cores_between(&all_up, &held, hold), publishers_cores) {
        let per_push = (cores - alone) * 100.0 / started.max(1) as f64;
        println!("  server CPU     {:.0} % of one core holding; {:.0} % with the publishers alone: {per_push:.2} % per push", cores * 100.0, alone * 100.0);
    }
    if let (Some(a), Some(b)) = (before.as_ref().and_then(|h| h.rss_bytes), held.as_ref().and_then(|h| h.rss_bytes)) {
        println!("  server RSS     {:.1} MB before the pushes, {:.1} MB holding: {:.1} KB per push", a as f64 / 1e6, b as f64 / 1e6, b.saturating_sub(a) as f64 / started.max(1) as f64 / 1024.0);
    }
    if still < started {
        return Err(format!("{} pushes did not last", started - still));
    }
    Ok(())
}

async fn count_publishing(http_url: &str) -> usize {
    match http(&format!("{http_url}/rest-api/push/find_all"), None).await {
        Ok((200, body)) => serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.as_array().map(|a| a.iter().filter(|t| t["status"] == "PUBLISHING").count()))
            .unwrap_or(0),
        _ => 0,
    }
}

/// Frames the server dropped so far, on the way to RTMP or to any subscriber.
async fn dropped_frames(http_url: &str) -> f64 {
    let rtmp = metric_sum(http_url, "ferrophone_rtmp_frames_dropped_total").await;
    let streams = metric_sum(http_url, "ferrophone_stream_frames_dropped_total").await;
    rtmp.unwrap_or(0.0) + streams.unwrap_or(0.0)
}
