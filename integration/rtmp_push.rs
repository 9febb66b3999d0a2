//! Republishing to RTMP (seed 002) against nginx with the RTMP module: what arrives is H.264 +
//! AAC that ffprobe reads and ffmpeg decodes, mute and sound insertion are heard, names and
//! URLs follow the WCS rules, and failures are reported without touching the stream.

use crate::common::media_check::{band_level, decode_errors, format_duration, mean_volume, packet_spans, probe_streams};
use crate::common::{Nginx, Server};
use ferrophone::load::encoded_media::{encode_clip, EncodedClip};
use ferrophone::load::publisher::{start_publisher, PublisherMedia, PublisherSpec, RunningPublisher};
use ferrophone::load::synthetic_media::VideoCodec;
use ferrophone::load::webrtc_client::OpusChannels;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const QUIET: (&str, &str) = ("session.keep_alive.algorithm", "NONE");

/// Four seconds of 320x240 video and a 440 Hz Opus tone, made once for every test: stereo
/// with H.264, mono (like a browser) with VP8.
fn clip(codec: VideoCodec) -> Arc<EncodedClip> {
    static H264: OnceLock<Arc<EncodedClip>> = OnceLock::new();
    static VP8: OnceLock<Arc<EncodedClip>> = OnceLock::new();
    let (cell, channels) = if codec == VideoCodec::H264 { (&H264, OpusChannels::Stereo) } else { (&VP8, OpusChannels::Mono) };
    cell.get_or_init(|| Arc::new(encode_clip(4, 320, 240, 30, 440.0, codec, channels).unwrap())).clone()
}

async fn publisher_of(server: &Server, name: &str, codec: VideoCodec, rtmp_url: Option<String>) -> RunningPublisher {
    let spec = PublisherSpec { url: server.ws_url(), stream: name.into(), media: PublisherMedia::Clip(clip(codec)), rtmp_url, record: false };
    start_publisher(spec).await.unwrap()
}

async fn publisher(server: &Server, name: &str, rtmp_url: Option<String>) -> RunningPublisher {
    publisher_of(server, name, VideoCodec::H264, rtmp_url).await
}

fn startup(server: &Server, body: Value) -> (u16, Value) {
    let (status, text) = server.rest("POST", "/rest-api/push/startup", Some(&body.to_string()));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn push_call(server: &Server, method: &str, body: Value) -> u16 {
    server.rest("POST", &format!("/rest-api/push/{method}"), Some(&body.to_string())).0
}

/// Polls `/push/find` for one transponder until `check` holds.
async fn wait_push(server: &Server, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, text) = server.rest("POST", "/rest-api/push/find", Some(&json!({"mediaSessionId": id}).to_string()));
        let found: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 && check(&found[0]) {
            return found[0].clone();
        }
        assert!(Instant::now() < deadline, "{what}: {status} {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The recording nginx finished for `name`.
async fn recording(nginx: &Nginx, name: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = nginx.hooks().lines().any(|l| l.contains("/on_publish_done") && l.contains(&format!("name={name}")));
        if let (true, Some(file)) = (done, nginx.recordings(name).pop()) {
            return file;
        }
        assert!(Instant::now() < deadline, "no finished recording of {name}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_h264_and_aac_that_nginx_records_cleanly() {
    let nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let publisher = publisher(&server, "cam", None).await;

    let (status, push) = startup(&server, json!({"streamName": "cam", "rtmpUrl": nginx.rtmp_url("live")}));
    assert_eq!(status, 200, "{push}");
    let id = push["mediaSessionId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26);
    assert_eq!(push["streamName"], "rtmp_cam");
    assert_eq!(push["rtmpUrl"], nginx.rtmp_url("live"));
    assert_eq!((push["muted"].clone(), push["soundEnabled"].clone()), (json!(false), json!(false)));
    wait_push(&server, &id, "publishing", |t| t["status"] == "PUBLISHING").await;
    let started = Instant::now();

    let live = probe_streams(&format!("{}/rtmp_cam", nginx.rtmp_url("live")));
    let codec = |kind: &str| live.iter().find(|s| s["codec_type"] == kind).cloned().unwrap_or(Value::Null);
    assert_eq!(codec("video")["codec_name"], "h264", "{live:?}");
    assert_eq!((codec("video")["width"].clone(), codec("video")["height"].clone()), (json!(320), json!(240)));
    assert_eq!(codec("audio")["codec_name"], "aac", "{live:?}");
    assert_eq!(codec("audio")["sample_rate"], "48000");
    assert_eq!(codec("audio")["channels"], 2, "the clip's Opus is stereo, so is the AAC");

    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    let listed = wait_push(&server, &id, "size known", |t| t["width"] == 320).await;
    assert_eq!(listed["height"], 240);
    assert!(listed["bytesSent"].as_u64().unwrap() > 100_000, "{listed}");
    assert_eq!(push_call(&server, "terminate", json!({"mediaSessionId": id})), 200);
    let pushed_for = started.elapsed().as_secs_f64();

    let file = recording(&nginx, "rtmp_cam").await;
    assert_eq!(decode_errors(&file), "", "the recording decodes without errors");
    let duration = format_duration(&file);
    assert!((duration - pushed_for).abs() <= pushed_for * 0.1, "recorded {duration:.2} s of {pushed_for:.2} s");
    let (video, audio) = packet_spans(&file);
    assert!(video.1 > pushed_for - 1.5 && audio.1 > pushed_for - 1.5, "both tracks run to the end: {video:?} {audio:?}");
    assert!((video.1 - audio.1).abs() < 0.3 && (video.0 - audio.0).abs() < 1.0, "audio and video in step: {video:?} {audio:?}");
    assert!(mean_volume(&file, 1.0, 5.0, None) > -30.0, "the publisher's tone is in the pushed audio");
    assert!(nginx.hooks().contains("call=publish&name=rtmp_cam&type=live"), "{}", nginx.hooks());

    let (status, _) = server.rest("GET", "/rest-api/push/find_all", None);
    assert_eq!(status, 404, "the terminated push is gone");
    publisher.stop().await.unwrap();
}

fn tone_wav(dir: &std::path::Path, name: &str, hz: f32) {
    let samples: Vec<i16> = (0..16_000).map(|i| ((i as f32 * hz * std::f32::consts::TAU / 8000.0).sin() * 12_000.0) as i16).collect();
    let mut wav = Vec::new();
    let data = (samples.len() * 2) as u32;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00");
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&16000u32.to_le_bytes());
    wav.extend_from_slice(b"\x02\x00\x10\x00data");
    wav.extend_from_slice(&data.to_le_bytes());
    samples.iter().for_each(|s| wav.extend_from_slice(&s.to_le_bytes()));
    std::fs::write(dir.join(name), wav).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_and_sound_insertion_are_heard() {
    let nginx = Nginx::start();
    let media = nginx.dir().join("media");
    std::fs::create_dir_all(&media).unwrap();
    tone_wav(&media, "beep1k.wav", 1000.0);
    let server = Server::start_with(&[QUIET, ("rtmp.media_dir", media.to_str().unwrap())]);
    let publisher = publisher(&server, "mix", None).await;
    let (_, push) = startup(&server, json!({"streamName": "mix", "rtmpUrl": nginx.rtmp_url("live")}));
    let id = push["mediaSessionId"].as_str().unwrap().to_owned();
    wait_push(&server, &id, "publishing", |t| t["status"] == "PUBLISHING").await;
    let t0 = Instant::now();
    let at = |s: f64| t0 + Duration::from_secs_f64(s);
    let id_body = json!({"mediaSessionId": id});

    tokio::time::sleep_until(at(3.0).into()).await;
    assert_eq!(push_call(&server, "mute", id_body.clone()), 200);
    assert_eq!(wait_push(&server, &id, "muted", |t| t["muted"] == true).await["muted"], true);
    tokio::time::sleep_until(at(6.0).into()).await;
    assert_eq!(push_call(&server, "unmute", id_body.clone()), 200);
    tokio::time::sleep_until(at(8.5).into()).await;
    assert_eq!(push_call(&server, "sound_on", json!({"mediaSessionId": id, "soundFile": "beep1k.wav", "loop": true})), 200);
    wait_push(&server, &id, "sound on", |t| t["soundEnabled"] == true).await;
    tokio::time::sleep_until(at(11.5).into()).await;
    assert_eq!(push_call(&server, "sound_off", id_body.clone()), 200);
    tokio::time::sleep_until(at(14.0).into()).await;
    assert_eq!(push_call(&server, "terminate", id_body), 200);
    let file = recording(&nginx, "rtmp_mix").await;

    let tone = |start: f64, end: f64| band_level(&file, start, end - start, 440);
    let beep = |start: f64, end: f64| band_level(&file, start, end - start, 1000);
    let (normal, muted) = ((0.8, 2.6), (3.8, 5.6));
    assert!(tone(normal.0, normal.1) > -35.0, "440 Hz before muting: {}", tone(normal.0, normal.1));
    assert!(mean_volume(&file, muted.0, muted.1 - muted.0, None) < -60.0, "silence while muted");
    assert!(tone(6.8, 8.1) > -35.0, "the tone is back after unmute");
    let (sound_tone, sound_beep) = (tone(9.3, 11.1), beep(9.3, 11.1));
    assert!(sound_beep > -35.0 && sound_beep - sound_tone > 15.0, "the WAV's 1 kHz replaces the tone: 1k {sound_beep} 440 {sound_tone}");
    let (after_tone, after_beep) = (tone(12.3, 13.6), beep(12.3, 13.6));
    assert!(after_tone - after_beep > 15.0, "sound off: 440 {after_tone} 1k {after_beep}");
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_requests_get_the_documented_answers() {
    let nginx = Nginx::start();
    let media = nginx.dir().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let server = Server::start_with(&[QUIET, ("rtmp.media_dir", media.to_str().unwrap())]);
    let (status, _) = server.rest("GET", "/rest-api/push/find_all", None);
    assert_eq!(status, 404, "find_all with no transponder");
    let publisher = publisher(&server, "doc", None).await;
    let url = nginx.rtmp_url("live");

    assert_eq!(startup(&server, json!({"streamName": "nobody", "rtmpUrl": url})).0, 404);
    assert_eq!(startup(&server, json!({"streamName": "doc", "rtmpUrl": "http://example.com/live"})).0, 400);
    assert_eq!(startup(&server, json!({"streamName": "doc"})).0, 400);
    assert_eq!(server.rest("POST", "/rest-api/push/startup", Some("{bad json")).0, 400);
    let (status, body) = startup(&server, json!({"streamName": "doc", "rtmpUrl": url, "options": {"action": "sound_on", "soundFile": "../../etc/passwd"}}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = startup(&server, json!({"streamName": "doc", "rtmpUrl": url, "options": {"action": "sound_on", "soundFile": "none.wav"}}));
    assert_eq!(status, 404, "{body}");

    let (status, push) = startup(&server, json!({"streamName": "doc", "rtmpUrl": url, "options": {"action": "mute"}}));
    assert_eq!(status, 200);
    assert_eq!(push["muted"], true);
    assert_eq!(push["options"], json!({"action": "mute"}));
    let id = push["mediaSessionId"].as_str().unwrap().to_owned();
    let (status, body) = startup(&server, json!({"streamName": "doc", "rtmpUrl": url}));
    assert_eq!(status, 409, "the same stream to the same URL: {body}");

    for method in ["terminate", "mute", "unmute", "sound_off"] {
        assert_eq!(push_call(&server, method, json!({"mediaSessionId": "nope"})), 404, "{method}");
    }
    assert_eq!(push_call(&server, "sound_on", json!({"mediaSessionId": id, "soundFile": "sub/x.wav"})), 400);
    assert_eq!(push_call(&server, "sound_on", json!({"mediaSessionId": id, "soundFile": "missing.wav"})), 404);
    let (status, found) = server.rest("POST", "/rest-api/push/find", Some(r#"{"streamName":"rtmp_doc"}"#));
    assert_eq!(status, 200, "find by the prefixed name");
    assert!(found.contains(&id));
    assert_eq!(server.rest("POST", "/rest-api/push/find", Some(r#"{"streamName":"doc"}"#)).0, 404);
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_names_queries_and_refusals_follow_the_wcs_rules() {
    let nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let publisher = publisher(&server, "rules", None).await;
    let base = nginx.rtmp_url("live");

    // Full URL: the name comes from the URL, its query reaches on_publish, credentials stay out.
    let full = format!("rtmp://alice:s3cret@127.0.0.1:{}/live/custom_name?user=alice&pass=s3cret", nginx.rtmp_port);
    let (status, push) = startup(&server, json!({"streamName": "rules", "rtmpUrl": full, "rtmpTransponderFullUrl": true}));
    assert_eq!(status, 200, "{push}");
    assert_eq!(push["streamName"], "custom_name?user=alice&pass=s3cret");
    assert!(!push["rtmpUrl"].as_str().unwrap().contains("s3cret@"), "{push}");
    wait_push(&server, push["mediaSessionId"].as_str().unwrap(), "full url publishing", |t| t["status"] == "PUBLISHING").await;
    assert!(nginx.hooks().contains("name=custom_name&type=live&user=alice&pass=s3cret"), "{}", nginx.hooks());

    // A query after the app goes to connect: nginx passes it on in tcurl.
    let (status, push) = startup(&server, json!({"streamName": "rules", "rtmpUrl": format!("{base}?user=bob&pass=pw2")}));
    assert_eq!(status, 200, "{push}");
    wait_push(&server, push["mediaSessionId"].as_str().unwrap(), "query publishing", |t| t["status"] == "PUBLISHING").await;
    assert!(nginx.hooks().contains("tcurl=rtmp://127.0.0.1:{}/live%3Fuser=bob%26pass=pw2".replace("{}", &nginx.rtmp_port.to_string()).as_str()), "{}", nginx.hooks());

    // nginx refuses pass=wrong: the push fails with the reason, the stream is untouched.
    let refused = format!("rtmp://127.0.0.1:{}/live/denied?pass=wrong", nginx.rtmp_port);
    let (status, push) = startup(&server, json!({"streamName": "rules", "rtmpUrl": refused, "rtmpTransponderFullUrl": "true"}));
    assert_eq!(status, 200);
    let failed = wait_push(&server, push["mediaSessionId"].as_str().unwrap(), "refused", |t| t["status"] == "FAILED").await;
    assert!(failed["info"].as_str().unwrap().contains("refused"), "{failed}");
    assert_eq!(server.metric(r#"ferrophone_rtmp_push_failures_total{kind="refused"}"#), Some(1.0));

    // Nobody listens there: a clear reason, and the stream goes on.
    let (_, push) = startup(&server, json!({"streamName": "rules", "rtmpUrl": "rtmp://127.0.0.1:9/live"}));
    let failed = wait_push(&server, push["mediaSessionId"].as_str().unwrap(), "unreachable", |t| t["status"] == "FAILED").await;
    assert!(failed["info"].as_str().unwrap().starts_with("Cannot connect"), "{failed}");
    // The stream goes on, feeding the two pushes that work.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let streams = server.rest_json("GET", "/rest-api/stream/find_all", None);
        if streams[0]["status"] == "PUBLISHING" && streams[0]["viewers"] == 2 && streams[0]["bitrate"].as_u64() > Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "{streams}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_url_on_publish_and_a_server_that_goes_away() {
    let mut nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let publisher = publisher(&server, "webrtc_as_rtmp", Some(nginx.rtmp_url("live"))).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let id = loop {
        let (status, text) = server.rest("GET", "/rest-api/push/find_all", None);
        let all: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == 200 && all[0]["status"] == "PUBLISHING" {
            assert_eq!(all[0]["streamName"], "rtmp_webrtc_as_rtmp");
            break all[0]["mediaSessionId"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "rtmpUrl on publish starts a push: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let live = probe_streams(&format!("{}/rtmp_webrtc_as_rtmp", nginx.rtmp_url("live")));
    assert_eq!(live.len(), 2, "{live:?}");

    nginx.stop();
    let failed = wait_push(&server, &id, "server gone", |t| t["status"] == "FAILED").await;
    assert!(!failed["info"].as_str().unwrap().is_empty());
    let streams = server.rest_json("GET", "/rest-api/stream/find_all", None);
    assert_eq!(streams[0]["status"], "PUBLISHING", "the stream outlives its push: {streams}");
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_start_pushes_every_published_stream() {
    let nginx = Nginx::start();
    let url = nginx.rtmp_url("live");
    let server = Server::start_with(&[QUIET, ("rtmp.rtmp_push_auto_start", "true"), ("rtmp.rtmp_push_auto_start_url", &url)]);
    let publisher = publisher(&server, "auto1", None).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !nginx.hooks().contains("call=publish&name=rtmp_auto1") {
        assert!(Instant::now() < deadline, "auto push reached nginx: {}", nginx.hooks());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    publisher.stop().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.rest("GET", "/rest-api/push/find_all", None).0 != 404 {
        assert!(Instant::now() < deadline, "the push ends with its stream");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !nginx.hooks().contains("/on_publish_done") {
        assert!(Instant::now() < deadline, "FCUnpublish/deleteStream end the push politely: {}", nginx.hooks());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vp8_stream_is_pushed_as_h264() {
    let nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let publisher = publisher_of(&server, "vp8cam", VideoCodec::Vp8, None).await;
    let streams = server.rest_json("GET", "/rest-api/stream/find_all", None);
    assert_eq!(streams[0]["videoCodec"], "VP8/90000");
    let (status, push) = startup(&server, json!({"streamName": "vp8cam", "rtmpUrl": nginx.rtmp_url("live")}));
    assert_eq!(status, 200, "{push}");
    let id = push["mediaSessionId"].as_str().unwrap().to_owned();
    wait_push(&server, &id, "publishing", |t| t["status"] == "PUBLISHING").await;
    let live = probe_streams(&format!("{}/rtmp_vp8cam", nginx.rtmp_url("live")));
    let codecs: Vec<&str> = live.iter().filter_map(|s| s["codec_name"].as_str()).collect();
    assert!(codecs.contains(&"h264") && codecs.contains(&"aac"), "{live:?}");
    let aac = live.iter().find(|s| s["codec_type"] == "audio").unwrap();
    assert_eq!(aac["channels"], 1, "mono Opus is pushed as mono AAC");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(wait_push(&server, &id, "size", |t| t["width"] == 320).await["height"], 240);
    assert_eq!(push_call(&server, "terminate", json!({"mediaSessionId": id})), 200);
    let file = recording(&nginx, "rtmp_vp8cam").await;
    assert_eq!(decode_errors(&file), "", "the transcoded recording decodes without errors");
    assert!(format_duration(&file) > 3.0);
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_size_is_scaled_and_the_stream_is_not() {
    let nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let publisher = publisher(&server, "big", None).await;
    let bad = [json!({"width": 160}), json!({"width": "wide", "height": 90}), json!({"width": 9000, "height": 90})];
    for size in bad {
        let mut body = json!({"streamName": "big", "rtmpUrl": nginx.rtmp_url("live")});
        body.as_object_mut().unwrap().extend(size.as_object().unwrap().clone());
        let (status, answer) = startup(&server, body);
        assert_eq!(status, 400, "{answer}");
    }
    // A scaled push and one as published, of the same 320x240 H.264 stream.
    let (status, small) = startup(&server, json!({"streamName": "big", "rtmpUrl": nginx.rtmp_url("live"), "width": "160", "height": 120}));
    assert_eq!(status, 200, "{small}");
    assert_eq!((small["width"].clone(), small["height"].clone()), (json!(160), json!(120)));
    let full_url = format!("{}/big_full", nginx.rtmp_url("live"));
    let (status, full) = startup(&server, json!({"streamName": "big", "rtmpUrl": full_url, "rtmpTransponderFullUrl": true}));
    assert_eq!(status, 200, "{full}");
    for push in [&small, &full] {
        wait_push(&server, push["mediaSessionId"].as_str().unwrap(), "publishing", |t| t["status"] == "PUBLISHING").await;
    }
    let video_of = |url: String| probe_streams(&url).into_iter().find(|s| s["codec_type"] == "video").expect("a video track");
    let scaled = video_of(format!("{}/rtmp_big", nginx.rtmp_url("live")));
    assert_eq!((scaled["codec_name"].as_str(), scaled["width"].as_u64(), scaled["height"].as_u64()), (Some("h264"), Some(160), Some(120)));
    let unscaled = video_of(full_url);
    assert_eq!((unscaled["width"].as_u64(), unscaled["height"].as_u64()), (Some(320), Some(240)));
    let id = small["mediaSessionId"].as_str().unwrap().to_owned();
    assert_eq!(push_call(&server, "terminate", json!({"mediaSessionId": id})), 200);
    let file = recording(&nginx, "rtmp_big").await;
    assert_eq!(decode_errors(&file), "", "the scaled recording decodes without errors");
    publisher.stop().await.unwrap();
}
