//! Recording (issue 5): a WebRTC publish with `record: true` and a REST call's stream with
//! `sip.record_stream` become MP4 files in `media.record_dir` that ffprobe reads with the right
//! codecs and length, that decode cleanly, and whose tracks are in step.

use crate::common::media_check::{decode_errors, format_duration, packet_spans, probe_streams};
use crate::common::sipp::{scenario, Sipp};
use crate::common::Server;
use ferrophone::load::encoded_media::encode_clip;
use ferrophone::load::publisher::{start_publisher, PublisherMedia, PublisherSpec};
use ferrophone::load::signalling::Signalling;
use ferrophone::load::stream_client::publish_with;
use ferrophone::load::synthetic_media::VideoCodec;
use ferrophone::load::webrtc_client::OpusChannels;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);

/// The finished recordings of `name` in `dir` (a file ffprobe gives a duration).
async fn finished_recording(dir: &Path, name: &str) -> PathBuf {
    let deadline = Instant::now() + 10 * SECOND;
    loop {
        let found = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{name}-")) && n.ends_with(".mp4")) && format_duration(p) > 0.0
        });
        if let Some(file) = found {
            return file;
        }
        assert!(Instant::now() < deadline, "no finished recording of {name} in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A REST call with `toStream` to `phone`, recorded when the server has `sip.record_stream`.
fn start_call(server: &Server, call_id: &str, stream: &str, phone: &Sipp) {
    let body = json!({"callId": call_id, "callee": "10005", "toStream": stream, "sipLogin": "10006", "sipPassword": "x",
        "sipDomain": "127.0.0.1", "sipPort": phone.sip_port.to_string()});
    let (code, text) = server.rest("POST", "/rest-api/call/startup", Some(&body.to_string()));
    assert_eq!(code, 200, "{text}");
}

fn record_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrophone-records-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_publish_with_record_becomes_an_mp4_in_step() {
    let dir = record_dir("publish");
    let server = Server::start_with(&[("media.record_dir", dir.to_str().unwrap()), ("session.keep_alive.algorithm", "NONE")]);
    let clip = Arc::new(encode_clip(4, 320, 240, 30, 440.0, VideoCodec::H264, OpusChannels::Stereo).unwrap());
    let spec = PublisherSpec { url: server.ws_url(), stream: "rec1".into(), media: PublisherMedia::Clip(clip), rtmp_url: None, record: true };
    let publisher = start_publisher(spec).await.unwrap();
    let started = Instant::now();
    tokio::time::sleep(6 * SECOND).await;
    publisher.stop().await.unwrap();
    let published_for = started.elapsed().as_secs_f64();

    let file = finished_recording(&dir, "rec1").await;
    let mut codecs: Vec<String> = probe_streams(file.to_str().unwrap()).iter().filter_map(|s| s["codec_name"].as_str().map(str::to_owned)).collect();
    codecs.sort();
    assert_eq!(codecs, ["h264", "opus"], "{}", file.display());
    assert_eq!(decode_errors(&file), "", "the recording decodes without errors");
    let duration = format_duration(&file);
    assert!((duration - published_for).abs() <= published_for * 0.15, "recorded {duration} s of {published_for} s");
    let ((video_start, video_end), (audio_start, audio_end)) = packet_spans(&file);
    assert!((video_end - audio_end).abs() < 0.3 && (video_start - audio_start).abs() < 0.5, "A/V in step: video {video_start}..{video_end}, audio {audio_start}..{audio_end}");

    // The WebSDK's recording page downloads it from /client/records/<recordName>.
    let name = file.file_name().unwrap().to_str().unwrap();
    let mut downloaded = Vec::new();
    let response = ureq::get(&server.http_url(&format!("/client/records/{name}"))).call().unwrap();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut downloaded).unwrap();
    assert_eq!(downloaded, std::fs::read(&file).unwrap());
    let outside = ureq::get(&server.http_url("/client/records/..%2F..%2Fetc%2Fpasswd")).call();
    assert!(matches!(outside, Err(ureq::Error::Status(400..=404, _))), "nothing outside the record directory: {outside:?}");

    // Its publish status names the file, as the SDK's getRecordInfo() reads it.
    let mut session = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let published = publish_with(&mut session, "named", Some(OpusChannels::Mono), None, json!({"record": true})).await.unwrap();
    assert_eq!(published.status["record"], true);
    assert!(published.status["recordName"].as_str().unwrap().starts_with("named-"), "{}", published.status);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_rest_call_is_an_opus_file_as_long_as_the_call() {
    let dir = record_dir("call");
    let server = Server::start_with(&[("media.record_dir", dir.to_str().unwrap()), ("sip.record_stream", "true")]);
    let mut phone = Sipp::start(&scenario("uas_talks.xml"), None, &[]);
    start_call(&server, "rec-call", "call_stream1", &phone);
    let answered = Instant::now();
    tokio::time::sleep(10 * SECOND).await;
    let (code, _) = server.rest("POST", "/rest-api/call/terminate", Some(r#"{"callId":"rec-call"}"#));
    assert_eq!(code, 200);
    let call_seconds = answered.elapsed().as_secs_f64();
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());

    let file = finished_recording(&dir, "call_stream1").await;
    let streams = probe_streams(file.to_str().unwrap());
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert_eq!(streams[0]["codec_name"], "opus");
    assert_eq!(decode_errors(&file), "");
    let duration = format_duration(&file);
    assert!((duration - call_seconds).abs() <= call_seconds * 0.1, "recorded {duration} s of a {call_seconds} s call");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_are_finished_when_the_server_shuts_down() {
    let dir = record_dir("shutdown");
    let server = Server::start_with(&[("media.record_dir", dir.to_str().unwrap()), ("sip.record_stream", "true")]);
    let mut phone = Sipp::start(&scenario("uas_talks.xml"), None, &[]);
    start_call(&server, "rec-down", "down_call", &phone);
    let clip = Arc::new(encode_clip(2, 320, 240, 30, 440.0, VideoCodec::H264, OpusChannels::Mono).unwrap());
    let spec = PublisherSpec { url: server.ws_url(), stream: "down_cam".into(), media: PublisherMedia::Clip(clip), rtmp_url: None, record: true };
    let _publisher = start_publisher(spec).await.unwrap();
    tokio::time::sleep(4 * SECOND).await;

    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.terminate(Duration::from_secs(15))
    });
    assert!(status.await.unwrap().is_some_and(|s| s.success()), "a clean exit");
    assert_eq!(phone.wait(10 * SECOND), 0, "the call was hung up with BYE: {}", phone.errors());
    for name in ["down_call", "down_cam"] {
        let file = finished_recording(&dir, name).await;
        assert_eq!(decode_errors(&file), "", "{name}");
        assert!(format_duration(&file) > 2.5, "{name}: {} s", format_duration(&file));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_starts_and_stops_a_recording_of_a_publisher() {
    let dir = record_dir("rest");
    let server = Server::start_with(&[("media.record_dir", dir.to_str().unwrap()), ("session.keep_alive.algorithm", "NONE")]);
    let clip = Arc::new(encode_clip(2, 320, 240, 30, 440.0, VideoCodec::H264, OpusChannels::Mono).unwrap());
    let spec = PublisherSpec { url: server.ws_url(), stream: "cam".into(), media: PublisherMedia::Clip(clip), rtmp_url: None, record: false };
    let publisher = start_publisher(spec).await.unwrap();
    let found = server.rest_json("POST", "/rest-api/stream/find", Some(r#"{"name":"cam","published":true}"#));
    let id = found[0]["mediaSessionId"].as_str().unwrap().to_owned();
    let call = |method: &str, body: serde_json::Value| server.rest("POST", &format!("/rest-api/recorder/{method}"), Some(&body.to_string()));

    assert_eq!(call("find_all", json!({})).0, 404, "nothing recorded yet");
    assert_eq!(call("startup", json!({"mediaSessionId": "nobody"})).0, 404);
    assert_eq!(call("startup", json!({"mediaSessionId": id})).0, 200);
    let (code, text) = call("find_all", json!({}));
    assert_eq!(code, 200, "{text}");
    let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed[0]["mediaSessionId"], id.as_str());
    assert!(listed[0]["fileName"].as_str().unwrap().starts_with("cam-"), "{listed}");
    tokio::time::sleep(3 * SECOND).await;
    // The older name of the same method.
    let (code, _) = server.rest("POST", "/rest-api/stream/stopRecording", Some(&json!({"mediaSessionId": id}).to_string()));
    assert_eq!(code, 200);
    assert_eq!(call("terminate", json!({"mediaSessionId": id})).0, 404, "already stopped");

    let file = finished_recording(&dir, "cam").await;
    assert_eq!(decode_errors(&file), "");
    let duration = format_duration(&file);
    assert!((2.0..4.0).contains(&duration), "about the 3 s recorded: {duration}");
    publisher.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
