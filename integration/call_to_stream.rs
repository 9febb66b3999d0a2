//! SIP as stream (seed 001, rest-api.md §3 and §7): REST `/call/startup` with `toStream` calls a
//! sipp phone, the phone's audio is a stream that a WebRTC player hears, and `/call/terminate`
//! hangs up with BYE while the player is told the stream stopped.

use crate::common::audio_check::level_and_pitch;
use crate::common::kamailio::Kamailio;
use crate::common::sipp::{scenario, Sipp};
use crate::common::media_check::{band_level, decode_errors, format_duration, probe_streams};
use crate::common::video_pcap::{video_rtp_pcap, PhoneVideo};
use crate::common::{scratch_dir, Nginx, Server};
use ferrophone::load::signalling::Signalling;
use ferrophone::load::stream_client::play;
use ferrophone::load::synthetic_media::VideoCodec;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use str0m::Event;

const SECOND: Duration = Duration::from_secs(1);
const QUIET: (&str, &str) = ("session.keep_alive.algorithm", "NONE");

/// The seed's `/call/startup` body, string-typed as WCS pages send it.
fn startup_body(call_id: &str, stream: &str, phone_port: u16) -> Value {
    json!({"callId": call_id, "callee": "10005", "toStream": stream, "hasAudio": "true", "hasVideo": "false",
        "sipLogin": "10006", "sipAuthenticationName": "10006", "sipPassword": "secret", "sipDomain": "127.0.0.1",
        "sipOutboundProxy": "127.0.0.1", "sipPort": phone_port.to_string(), "appKey": "defaultApp", "sipRegisterRequired": "false"})
}

fn call_rest(server: &Server, method: &str, body: &Value) -> (u16, String) {
    server.rest("POST", &format!("/rest-api/call/{method}"), Some(&body.to_string()))
}

/// Polls `/call/find` until the call shows `status`.
async fn wait_call(server: &Server, call_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + 10 * SECOND;
    loop {
        let (code, text) = call_rest(server, "find", &json!({"callId": call_id}));
        let found: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if code == 200 && found[0]["status"] == status {
            return found[0].clone();
        }
        assert!(Instant::now() < deadline, "no {status}: {code} {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_call_to_a_stream_is_heard_by_a_webrtc_player_until_terminate() {
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_talks.xml"), None, &[]);

    let (code, text) = call_rest(&server, "startup", &startup_body("call-1", "call_stream1", phone.sip_port));
    assert_eq!((code, text.as_str()), (200, ""), "200 with an empty body");
    // Refusals: the same callId, the same stream name, a missing field; none touches the call.
    assert_eq!(call_rest(&server, "startup", &startup_body("call-1", "other", phone.sip_port)).0, 409);
    assert_eq!(call_rest(&server, "startup", &startup_body("call-2", "call_stream1", phone.sip_port)).0, 409);
    let mut no_callee = startup_body("call-3", "s3", phone.sip_port);
    no_callee.as_object_mut().unwrap().remove("callee");
    let (code, text) = call_rest(&server, "startup", &no_callee);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("callee"), "{text}");

    let call = wait_call(&server, "call-1", "ESTABLISHED").await;
    assert_eq!(call["streamName"], "call_stream1");
    assert_eq!(call["callee"], "10005");
    assert!(call["record"]["answered"].as_u64().is_some(), "{call}");
    let streams = server.rest_json("POST", "/rest-api/stream/find", Some(r#"{"name":"call_stream1"}"#));
    assert_eq!(streams[0]["mediaProvider"], "SIP", "{streams}");

    // Nobody listens yet: the phone's audio is not transcoded into the stream.
    tokio::time::sleep(SECOND).await;
    let frames = || server.metric(r#"ferrophone_stream_frames_received_total{stream="call_stream1"}"#).unwrap_or(0.0);
    assert_eq!(frames(), 0.0, "no transcoding without a listener");

    // A WebRTC player hears the phone's tone, transcoded from PCMU to Opus.
    let mut viewer = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut player = play(&mut viewer, "call_stream1", None).await.unwrap();
    assert_eq!(player.status["audioCodec"], "opus/48000/2");
    let mut heard = Vec::new();
    let until = Instant::now() + 3 * SECOND;
    while let Some(event) = player.peer.next_event(until).await.unwrap() {
        if let Event::MediaData(data) = event {
            heard.push(data.data.to_vec());
        }
    }
    let (level, pitch) = level_and_pitch(&heard, 1.0);
    assert!(level > 0.05 && (pitch - 440.0).abs() < 20.0, "the player hears the phone: {} packets, level {level}, {pitch} Hz", heard.len());
    assert!(frames() > 100.0, "transcoded while listened to");

    assert_eq!(call_rest(&server, "send_dtmf", &json!({"callId": "call-1", "dtmf": "12", "type": "RFC2833"})).0, 200);
    assert_eq!(call_rest(&server, "terminate", &json!({"callId": "call-1"})).0, 200);
    let stopped = viewer.expect("notifyStreamStatusEvent", 5 * SECOND).await.unwrap();
    assert_eq!(stopped.payload()["status"], "STOPPED", "{:?}", stopped.payload());
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone got its BYE: {}", phone.errors());
    // The ended call is listed with its final status and record for a moment, then gone.
    let ended = wait_call(&server, "call-1", "FINISH").await;
    assert!(ended["record"]["duration"].as_u64().unwrap() >= 3000, "{ended}");
    assert_eq!(call_rest(&server, "terminate", &json!({"callId": "call-1"})).0, 404, "an ended call cannot be terminated");
    let deadline = Instant::now() + 10 * SECOND;
    while call_rest(&server, "find", &json!({"callId": "call-1"})).0 != 404 {
        assert!(Instant::now() < deadline, "an ended call is gone from find");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call_rest(&server, "find_all", &json!({})).0, 404);
    assert_eq!(server.rest_json("GET", "/rest-api/stream/find_all", None), json!([]), "the call's stream is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_callee_and_an_unreachable_proxy_end_with_a_clear_status() {
    let server = Server::start_with(&[QUIET]);
    let mut busy = Sipp::start(&scenario("uas_busy.xml"), None, &[]);
    assert_eq!(call_rest(&server, "startup", &startup_body("busy-1", "busy_stream", busy.sip_port)).0, 200);
    let ended = wait_call(&server, "busy-1", "FINISH").await;
    assert_eq!(ended["sipStatus"], 486, "{ended}");
    assert_eq!(busy.wait(10 * SECOND), 0, "{}", busy.errors());

    // The stream name is free again at once, and a proxy nobody can resolve fails clearly.
    let mut body = startup_body("nowhere-1", "busy_stream", 5060);
    body["sipOutboundProxy"] = "no-such-host.invalid".into();
    assert_eq!(call_rest(&server, "startup", &body).0, 200);
    let failed = wait_call(&server, "nowhere-1", "FAILED").await;
    assert!(failed["info"].as_str().unwrap().contains("no-such-host.invalid"), "{failed}");
    assert!(failed["record"]["endReason"].as_str().is_some(), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_call_through_kamailio_authenticates_with_its_separate_authentication_name() {
    let server = Server::start_with(&[QUIET]);
    let kamailio = Kamailio::start(&[("alice", "alicepw"), ("1002", "secret1002")], server.ports.sip);
    let registrar = format!("127.0.0.1:{}", kamailio.port);
    let mut phone = Sipp::start(&scenario("uas_talks.xml"), None, &[]);
    let contact_port = phone.sip_port.to_string();
    let mut registering = Sipp::start(&scenario("register.xml"), Some(registrar), &["-s", "1002", "-au", "1002", "-ap", "secret1002", "-key", "expires", "600", "-key", "contact_port", &contact_port]);
    assert_eq!(registering.wait(10 * SECOND), 0, "{}", registering.errors());

    let mut body = startup_body("kam-1", "kam_stream", kamailio.port);
    body["callee"] = "1002".into();
    body["sipLogin"] = "1001".into();
    body["sipAuthenticationName"] = "alice".into();
    body["sipPassword"] = "alicepw".into();
    body["sipRegisterRequired"] = "true".into();
    assert_eq!(call_rest(&server, "startup", &body).0, 200);
    wait_call(&server, "kam-1", "ESTABLISHED").await;
    assert!(kamailio.log().contains("REQ REGISTER") && kamailio.log().contains("au=alice"), "it registered first, as alice: {}", kamailio.log());
    assert_eq!(call_rest(&server, "terminate", &json!({"callId": "kam-1"})).0, 200);
    assert_eq!(phone.wait(10 * SECOND), 0, "{}\n{}", phone.errors(), kamailio.log());
    let invite = phone.messages();
    assert!(invite.contains("<sip:1001@"), "the SIP login is the caller: {invite}");

    // A wrong password: refused at the INVITE, or at the REGISTER when one is asked for.
    body["callId"] = "kam-2".into();
    body["sipPassword"] = "nope".into();
    body["sipRegisterRequired"] = "false".into();
    assert_eq!(call_rest(&server, "startup", &body).0, 200);
    let failed = wait_call(&server, "kam-2", "FAILED").await;
    assert!(failed["sipStatus"].as_u64().is_some_and(|s| s == 401 || s == 403 || s == 407), "{failed}");
    body["callId"] = "kam-3".into();
    body["sipRegisterRequired"] = "true".into();
    assert_eq!(call_rest(&server, "startup", &body).0, 200);
    let failed = wait_call(&server, "kam-3", "FAILED").await;
    assert!(failed["info"].as_str().unwrap().starts_with("Registration failed"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stream_pushed_to_nginx_is_aac_carrying_the_phone() {
    let nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_talks.xml"), None, &[]);
    assert_eq!(call_rest(&server, "startup", &startup_body("push-1", "call_stream1", phone.sip_port)).0, 200);
    wait_call(&server, "push-1", "ESTABLISHED").await;
    let push = json!({"streamName": "call_stream1", "rtmpUrl": nginx.rtmp_url("live")});
    let (code, text) = server.rest("POST", "/rest-api/push/startup", Some(&push.to_string()));
    assert_eq!(code, 200, "{text}");
    let live = probe_streams(&format!("{}/rtmp_call_stream1", nginx.rtmp_url("live")));
    let audio = live.iter().find(|s| s["codec_type"] == "audio").unwrap_or_else(|| panic!("{live:?}"));
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["channels"], 1, "a phone is mono, so is its AAC");
    tokio::time::sleep(4 * SECOND).await;
    // Hanging up ends the stream, and with it the push; nginx keeps what it got.
    assert_eq!(call_rest(&server, "terminate", &json!({"callId": "push-1"})).0, 200);
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());
    assert_nginx_got_the_tone(&nginx, "rtmp_call_stream1").await;
}

/// nginx finished its recording of `name` once the push ended, and it carries the phone's 440 Hz.
async fn assert_nginx_got_the_tone(nginx: &Nginx, name: &str) {
    let deadline = Instant::now() + 10 * SECOND;
    let file = loop {
        let done = nginx.hooks().lines().any(|l| l.contains("/on_publish_done") && l.contains(&format!("name={name}")));
        if let (true, Some(file)) = (done, nginx.recordings(name).pop()) {
            break file;
        }
        assert!(Instant::now() < deadline, "no finished recording of {name}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(decode_errors(&file), "", "the recording decodes cleanly");
    let tone = band_level(&file, 1.0, 2.0, 440);
    assert!(tone > -30.0, "the phone's 440 Hz is in the pushed audio: {tone} dB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmp_url_on_startup_forwards_the_call_to_an_rtmp_server() {
    let nginx = Nginx::start();
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_talks.xml"), None, &[]);
    let mut body = startup_body("fwd-1", "", phone.sip_port);
    body.as_object_mut().unwrap().remove("toStream");
    body["rtmpStream"] = "sip_fwd".into();
    // No name for the call's stream, or an RTMP URL that is none: 400, and nothing starts.
    body["rtmpUrl"] = "http://127.0.0.1/live".into();
    assert_eq!(call_rest(&server, "startup", &body).0, 400);
    let mut unnamed = body.clone();
    unnamed.as_object_mut().unwrap().remove("rtmpStream");
    unnamed["rtmpUrl"] = nginx.rtmp_url("live").into();
    let (code, text) = call_rest(&server, "startup", &unnamed);
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("rtmpStream"), "{text}");

    body["rtmpUrl"] = nginx.rtmp_url("live").into();
    assert_eq!(call_rest(&server, "startup", &body).0, 200);
    let call = wait_call(&server, "fwd-1", "ESTABLISHED").await;
    assert_eq!(call["streamName"], "sip_fwd", "the call's stream is named rtmpStream: {call}");
    let pushes = server.rest_json("POST", "/rest-api/push/find", Some(r#"{"streamName":"rtmp_sip_fwd"}"#));
    assert_eq!(pushes[0]["rtmpUrl"], nginx.rtmp_url("live"), "{pushes}");
    let live = probe_streams(&format!("{}/rtmp_sip_fwd", nginx.rtmp_url("live")));
    assert!(live.iter().any(|s| s["codec_name"] == "aac"), "{live:?}");
    tokio::time::sleep(3 * SECOND).await;
    assert_eq!(call_rest(&server, "terminate", &json!({"callId": "fwd-1"})).0, 200);
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());
    assert_nginx_got_the_tone(&nginx, "rtmp_sip_fwd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_shows_the_phones_picture_to_a_player_and_in_the_recording() {
    let dir = scratch_dir("video-call");
    let records = dir.join("records");
    let server = Server::start_with(&[QUIET, ("media.record_dir", records.to_str().unwrap()), ("sip.record_stream", "true")]);
    let pcap = dir.join("phone-video.pcap");
    assert!(video_rtp_pcap(&pcap, PhoneVideo::H264, 10, 320, 240) > 150, "ffmpeg sent the phone's video");
    let mut phone = Sipp::start(&PhoneVideo::H264.scenario(&scenario("uas_video.xml"), &pcap), None, &[]);

    let mut body = startup_body("video-1", "video_call", phone.sip_port);
    body["hasVideo"] = "true".into();
    assert_eq!(call_rest(&server, "startup", &body).0, 200);
    wait_call(&server, "video-1", "ESTABLISHED").await;
    let streams = server.rest_json("POST", "/rest-api/stream/find", Some(r#"{"name":"video_call"}"#));
    assert_eq!((streams[0]["hasVideo"].clone(), streams[0]["videoCodec"].clone()), (json!(true), json!("H264/90000")), "{streams}");

    // A WebRTC player gets the phone's pictures, starting at a keyframe, and they decode.
    let mut viewer = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut player = play(&mut viewer, "video_call", Some(VideoCodec::H264)).await.unwrap();
    let mut pictures: Vec<(Vec<u8>, bool)> = Vec::new();
    let until = Instant::now() + 3 * SECOND;
    while let Some(event) = player.peer.next_event(until).await.unwrap() {
        if let Event::MediaData(data) = event {
            if let (true, str0m::format::CodecExtra::H264(extra)) = (Some(data.mid) == player.peer.video, data.codec_extra) {
                pictures.push((data.data.to_vec(), extra.is_keyframe));
            }
        }
    }
    assert!(pictures.len() >= 30, "about 15 pictures a second for 3 s, got {}", pictures.len());
    assert!(pictures[0].1, "the player starts at a keyframe");
    let seen = dir.join("seen.h264");
    std::fs::write(&seen, pictures.iter().flat_map(|(p, _)| p.clone()).collect::<Vec<u8>>()).unwrap();
    let probed = probe_streams(seen.to_str().unwrap());
    assert_eq!((probed[0]["width"].as_u64(), probed[0]["height"].as_u64()), (Some(320), Some(240)), "{probed:?}");
    assert_eq!(decode_errors(&seen), "", "what the player got decodes cleanly");

    tokio::time::sleep(2 * SECOND).await;
    assert_eq!(call_rest(&server, "terminate", &json!({"callId": "video-1"})).0, 200);
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone got H.264 offered and its BYE: {}", phone.errors());

    // The call's recording has the picture and the sound.
    let deadline = Instant::now() + 10 * SECOND;
    let file = loop {
        let found = std::fs::read_dir(&records).into_iter().flatten().flatten().map(|e| e.path()).find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("video_call-") && n.ends_with(".mp4")) && format_duration(p) > 0.0
        });
        if let Some(file) = found {
            break file;
        }
        assert!(Instant::now() < deadline, "no finished recording in {}", records.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let recorded = probe_streams(file.to_str().unwrap());
    let codecs: Vec<_> = recorded.iter().map(|s| s["codec_name"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(codecs.len(), 2, "{recorded:?}");
    assert!(codecs.contains(&"h264".to_owned()) && codecs.contains(&"opus".to_owned()), "{codecs:?}");
    assert_eq!(decode_errors(&file), "", "the recording decodes cleanly");
    assert!(format_duration(&file) > 4.0, "{} s recorded", format_duration(&file));
    let _ = std::fs::remove_dir_all(&dir);
}
