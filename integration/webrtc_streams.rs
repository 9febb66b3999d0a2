//! Publishing and playing over WebRTC with str0m clients in place of browsers: frames a
//! publisher sends reach its players byte for byte, and every way a stream starts, fails or ends
//! gets the documented status.

use crate::common::Server;
use ferrophone::load::signalling::Signalling;
use ferrophone::load::simulated_loss::SimulatedLoss;
use ferrophone::load::stream_client::{play, publish, MediaSession, StartError};
use ferrophone::load::synthetic_media::{opus_frame, SyntheticVideo, VideoCodec};
use ferrophone::load::webrtc_client::OpusChannels;
use ferrophone_actors::webrtc::keyframe::is_keyframe;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::task::JoinHandle;

const QUIET: &[(&str, &str)] = &[("session.keep_alive.algorithm", "NONE")];
const WAIT: Duration = Duration::from_secs(10);

/// Sends `seconds` of synthetic audio and 30 fps video in real time, with a keyframe every
/// `gop` frames and on request. Returns what was sent, per kind, in order.
async fn send_media(publisher: &mut MediaSession, codec: VideoCodec, gop: u64, seconds: f64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut video = SyntheticVideo::new(codec, 400_000, 30, gop);
    let (mut sent_audio, mut sent_video) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let (mut next_audio, mut next_video) = (start, start);
    let (audio_mid, video_mid) = (publisher.peer.audio.unwrap(), publisher.peer.video.unwrap());
    while start.elapsed().as_secs_f64() < seconds {
        let now = Instant::now();
        if now >= next_audio {
            let frame = opus_frame(sent_audio.len() as u64, 60);
            publisher.peer.write(audio_mid, sent_audio.len() as u64 * 960, 48_000, frame.clone()).unwrap();
            sent_audio.push(frame);
            next_audio += Duration::from_millis(20);
        }
        if now >= next_video {
            let (frame, _) = video.next_frame();
            publisher.peer.write(video_mid, sent_video.len() as u64 * 3000, 90_000, frame.clone()).unwrap();
            sent_video.push(frame);
            next_video += Duration::from_micros(33_333);
        }
        while let Some(event) = publisher.peer.next_event(next_audio.min(next_video)).await.unwrap() {
            if let Event::KeyframeRequest(_) = event {
                video.request_keyframe();
            }
        }
    }
    (sent_audio, sent_video)
}

/// Collects what a player receives for `seconds`.
async fn receive_media(mut player: MediaSession, seconds: f64) -> (MediaSession, Vec<Vec<u8>>, Vec<(Vec<u8>, bool)>) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut audio, mut video) = (Vec::new(), Vec::new());
    while let Some(event) = player.peer.next_event(deadline).await.unwrap() {
        if let Event::MediaData(data) = event {
            if Some(data.mid) == player.peer.video {
                video.push((data.data.to_vec(), is_keyframe(&data.codec_extra)));
            } else {
                audio.push(data.data.to_vec());
            }
        }
    }
    (player, audio, video)
}

/// `received` is a run of consecutive frames of `sent`.
fn assert_contiguous_run(what: &str, sent: &[Vec<u8>], received: &[Vec<u8>], at_least: usize) {
    assert!(received.len() >= at_least, "{what}: only {} of {} frames arrived", received.len(), sent.len());
    let start = sent.iter().position(|f| *f == received[0]).unwrap_or_else(|| panic!("{what}: first frame was never sent"));
    for (i, frame) in received.iter().enumerate() {
        assert!(sent.get(start + i) == Some(frame), "{what}: frame {i} differs from what was sent");
    }
}

async fn round_trip(codec: VideoCodec, expected_codec: &str) {
    let server = Server::start_with(QUIET);
    let mut publisher_signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut publisher = publish(&mut publisher_signalling, "cam1", Some(OpusChannels::Stereo), Some(codec)).await.unwrap();
    assert_eq!(publisher.status["videoCodec"], expected_codec);
    // Two players: each frame is cut into packets once, by whichever sends it first.
    let (mut player_signallings, mut receiving) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        let mut signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
        let player = play(&mut signalling, "cam1", None).await.unwrap();
        assert_eq!(player.status["videoCodec"], expected_codec);
        assert_eq!(player.status["audioCodec"], "opus/48000/2");
        receiving.push(tokio::spawn(receive_media(player, 3.0)));
        player_signallings.push(signalling);
    }
    let (sent_audio, sent_video) = send_media(&mut publisher, codec, 30, 2.5).await;
    for received in receiving {
        let (_player, audio, video) = received.await.unwrap();
        assert!(video[0].1, "the first video frame a player gets is a keyframe");
        let video: Vec<Vec<u8>> = video.into_iter().map(|(f, _)| f).collect();
        assert_contiguous_run("video", &sent_video, &video, 40);
        assert_contiguous_run("audio", &sent_audio, &audio, 80);
    }

    let streams = server.rest_json("GET", "/rest-api/stream/find_all", None);
    let publishers: Vec<&Value> = streams.as_array().unwrap().iter().filter(|s| s["published"] == true).collect();
    assert_eq!(publishers.len(), 1, "{streams}");
    assert_eq!(publishers[0]["viewers"], 2);
    assert_eq!(publishers[0]["videoCodec"], expected_codec);
    assert!(publishers[0]["bitrate"].as_u64().unwrap() > 100, "{streams}");
    assert!(server.metric(r#"ferrophone_stream_frames_received_total{stream="cam1"}"#).unwrap() > 150.0);
    let from_str0m = server.metric(r#"ferrophone_media_datagrams_dropped_total{kind="player_srtp_from_str0m"}"#);
    assert_eq!(from_str0m.unwrap_or(0.0), 0.0, "a player's str0m sends no SRTP of its own");

    publisher_signalling.send("unPublishStream", json!({"mediaSessionId": publisher.media_session_id, "name": "cam1"})).await.unwrap();
    let status = publisher_signalling.stream_status(&publisher.media_session_id, WAIT).await.unwrap();
    assert_eq!(status["status"], "UNPUBLISHED");
    for signalling in &mut player_signallings {
        let status = signalling.expect("notifyStreamStatusEvent", WAIT).await.unwrap();
        assert_eq!(status.payload()["status"], "STOPPED");
        assert_eq!(status.payload()["info"], "Stopped by publisher stop");
    }
    let list = server.rest_json("GET", "/rest-api/stream/find_all", None);
    assert_eq!(list, json!([]), "nothing is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_frames_reach_every_player_unchanged() {
    round_trip(VideoCodec::H264, "H264/90000").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_frames_reach_every_player_unchanged() {
    round_trip(VideoCodec::Vp8, "VP8/90000").await;
}

/// A player behind a lossy network: each video packet it misses is sent again from the
/// server's resend buffer when its NACK comes, so every frame still arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_loses_video_packets_gets_them_again() {
    let server = Server::start_with(QUIET);
    let mut publisher_signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut publisher = publish(&mut publisher_signalling, "lossy", Some(OpusChannels::Stereo), Some(VideoCodec::H264)).await.unwrap();
    let mut player_signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut player = play(&mut player_signalling, "lossy", None).await.unwrap();
    player.peer.loss = Some(SimulatedLoss::every(10));
    let receiving = tokio::spawn(receive_media(player, 3.0));
    let (_, sent_video) = send_media(&mut publisher, VideoCodec::H264, 30, 2.5).await;
    let (player, _, video) = receiving.await.unwrap();
    let lost = player.peer.loss.as_ref().unwrap().dropped;
    assert!(lost >= 10, "the network lost {lost} video packets");
    let video: Vec<Vec<u8>> = video.into_iter().map(|(f, _)| f).collect();
    assert_contiguous_run("video", &sent_video, &video, 40);
    let resent = server.metric("ferrophone_media_packets_resent_total").unwrap();
    assert!(resent >= 10.0, "the server resent {resent} packets for {lost} lost");
}

/// Whether `player` gets a video keyframe within `wait`.
async fn gets_keyframe(player: &mut MediaSession, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while let Some(event) = player.peer.next_event(deadline).await.unwrap() {
        if let Event::MediaData(data) = event {
            if is_keyframe(&data.codec_extra) && Some(data.mid) == player.peer.video {
                return true;
            }
        }
    }
    false
}

/// Publishes H.264 and Opus as `name` for `seconds`, with a keyframe every `gop` frames and on
/// request; the signalling must be kept for the stream to live.
async fn publish_h264(server: &Server, name: &str, gop: u64, seconds: f64) -> (Signalling, JoinHandle<(Vec<Vec<u8>>, Vec<Vec<u8>>)>) {
    let mut signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut publisher = publish(&mut signalling, name, Some(OpusChannels::Stereo), Some(VideoCodec::H264)).await.unwrap();
    let sending = tokio::spawn(async move { send_media(&mut publisher, VideoCodec::H264, gop, seconds).await });
    (signalling, sending)
}

/// A player of `name` that got its first picture.
async fn play_with_picture(server: &Server, name: &str) -> (Signalling, MediaSession) {
    let mut signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut player = play(&mut signalling, name, None).await.unwrap();
    assert!(gets_keyframe(&mut player, Duration::from_secs(3)).await, "the player's join brings a keyframe");
    (signalling, player)
}

/// Keyframe requests to a publisher are spaced out, but one that comes too soon waits for the
/// end of the interval instead of being dropped: a viewer that joins just after the keyframe an
/// earlier viewer brought gets its picture in well under a second, not at the publisher's next
/// periodic keyframe (10 s away here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_joining_just_after_a_keyframe_gets_one_soon() {
    let server = Server::start_with(QUIET);
    let (_publisher, sending) = publish_h264(&server, "gop", 300, 6.0).await;
    let _first = play_with_picture(&server, "gop").await;
    let mut second_signalling = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let joined = Instant::now();
    let mut second = play(&mut second_signalling, "gop", None).await.unwrap();
    let got = gets_keyframe(&mut second, Duration::from_secs(4)).await;
    let waited = joined.elapsed();
    assert!(got && waited < Duration::from_secs(2), "the second viewer got a keyframe: {got}, after {waited:?}");
    sending.await.unwrap();
}

/// A browser that cannot decode asks for a keyframe with a PLI; the server passes the request on
/// to the publisher, whose next periodic keyframe is 10 s away here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_players_picture_loss_indication_brings_a_keyframe() {
    let server = Server::start_with(QUIET);
    let (_publisher, sending) = publish_h264(&server, "pli", 300, 6.0).await;
    let (_signalling, mut player) = play_with_picture(&server, "pli").await;
    assert!(!gets_keyframe(&mut player, Duration::from_secs(1)).await, "no keyframe comes unasked within the 10 s group of pictures");
    let asked = Instant::now();
    player.peer.request_keyframe().unwrap();
    let got = gets_keyframe(&mut player, Duration::from_secs(3)).await;
    let waited = asked.elapsed();
    assert!(got && waited < Duration::from_secs(2), "the PLI brought a keyframe: {got}, after {waited:?}");
    sending.await.unwrap();
}

/// A browser seen from a new address (a NAT rebinding, another network) keeps its picture: once
/// ICE has verified the new address, the player's media follows the browser's RTCP there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_players_media_follows_the_browser_to_a_new_address() {
    let server = Server::start_with(QUIET);
    let (_publisher, sending) = publish_h264(&server, "moving", 30, 16.0).await;
    let (_signalling, mut player) = play_with_picture(&server, "moving").await;
    player.peer.rebind().await.unwrap();
    // ICE checks and receiver reports come every few seconds; the media must move within them.
    let (_player, audio, video) = receive_media(player, 10.0).await;
    assert!(video.len() >= 90 && audio.len() >= 150, "after the move: {} video and {} audio frames", video.len(), audio.len());
    sending.await.unwrap();
}

fn failed_info(result: Result<MediaSession, StartError>) -> String {
    match result {
        Ok(_) => panic!("expected the stream to fail"),
        Err(StartError::Failed(status)) => {
            assert_eq!(status["status"], "FAILED", "{status}");
            status["info"].as_str().unwrap().to_owned()
        }
        Err(StartError::Other(e)) => panic!("expected a FAILED status, got: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_ids_codecs_and_offers_are_checked() {
    let server = Server::start_with(QUIET);
    let mut alice = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let _publisher = publish(&mut alice, "taken", Some(OpusChannels::Stereo), Some(VideoCodec::Vp8)).await.unwrap();

    let mut bob = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    assert_eq!(failed_info(publish(&mut bob, "taken", Some(OpusChannels::Stereo), Some(VideoCodec::H264)).await), "Stream name is already in use");
    assert_eq!(failed_info(play(&mut bob, "nobody", None).await), "Stream not found");
    assert_eq!(failed_info(play(&mut bob, "taken", Some(VideoCodec::H264)).await), "No common codecs");

    bob.send("publishStream", json!({"mediaSessionId": "bad-1", "name": "x", "sdp": "v=0\r\nthis is not sdp"})).await.unwrap();
    let status = bob.stream_status("bad-1", WAIT).await.unwrap();
    assert_eq!(status["status"], "FAILED");
    assert!(status["info"].as_str().unwrap().starts_with("Bad SDP"), "{status}");

    bob.send("publishStream", json!({"name": "x", "sdp": "v=0"})).await.unwrap();
    let fail = bob.expect("fail", WAIT).await.unwrap();
    assert_eq!(fail.payload()["info"], "MediaSessionId is null");

    // Bob's session still works, and so does a play of the live stream.
    let player = play(&mut bob, "taken", None).await.unwrap();
    assert_eq!(player.status["videoCodec"], "VP8/90000");
    let found = server.rest_json("POST", "/rest-api/stream/find", Some(r#"{"name":"taken","published":"false"}"#));
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["mediaSessionId"], player.media_session_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishers_lost_socket_stops_its_players_and_leaves_nothing() {
    let server = Server::start_with(QUIET);
    let mut alice = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let _publisher = publish(&mut alice, "live", Some(OpusChannels::Stereo), Some(VideoCodec::H264)).await.unwrap();
    let mut bob = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let _player = play(&mut bob, "live", None).await.unwrap();
    assert_eq!(server.metric("ferrophone_webrtc_peers"), Some(2.0));

    alice.close().await;
    let status = bob.expect("notifyStreamStatusEvent", WAIT).await.unwrap();
    assert_eq!(status.payload()["status"], "STOPPED");
    assert_eq!(status.payload()["info"], "Stopped by publisher stop");
    let deadline = Instant::now() + WAIT;
    while server.metric("ferrophone_webrtc_peers") != Some(0.0) {
        assert!(Instant::now() < deadline, "peers left behind");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.rest_json("GET", "/rest-api/stream/find_all", None), json!([]));
    let (status, _) = server.rest("POST", "/rest-api/stream/find", Some(r#"{"name":"live"}"#));
    assert_eq!(status, 404);
    // The name is free again.
    let mut carol = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    publish(&mut carol, "live", Some(OpusChannels::Stereo), Some(VideoCodec::Vp8)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_terminate_stops_a_stream_and_availability_follows() {
    let server = Server::start_with(QUIET);
    let mut alice = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let publisher = publish(&mut alice, "news", Some(OpusChannels::Stereo), Some(VideoCodec::H264)).await.unwrap();

    alice.send("availableStream", json!({"mediaSessionId": "probe-1", "name": "news"})).await.unwrap();
    let available = alice.expect("availableStream", WAIT).await.unwrap();
    assert_eq!(available.payload(), &json!({"id": "probe-1", "status": "true", "info": ""}));

    let (status, _) = server.rest("POST", "/rest-api/stream/terminate", Some(r#"{"name":"nothing"}"#));
    assert_eq!(status, 404);
    let (status, body) = server.rest("POST", "/rest-api/stream/terminate", Some(r#"{"name":"news","published":true}"#));
    assert_eq!((status, body.as_str()), (200, ""));
    let ended = alice.stream_status(&publisher.media_session_id, WAIT).await.unwrap();
    assert_eq!(ended["status"], "UNPUBLISHED");
    assert_eq!(ended["info"], "Stopped by rest /terminate");

    alice.send("availableStream", json!({"mediaSessionId": "probe-2", "name": "news"})).await.unwrap();
    let available = alice.expect("availableStream", WAIT).await.unwrap();
    assert_eq!(available.payload(), &json!({"id": "probe-2", "status": "false", "info": "Stream not found"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_events_reach_players_with_their_own_id() {
    let server = Server::start_with(QUIET);
    let mut alice = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let publisher = publish(&mut alice, "chat", Some(OpusChannels::Stereo), Some(VideoCodec::Vp8)).await.unwrap();
    let mut bob = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let player = play(&mut bob, "chat", None).await.unwrap();
    let event = json!({"mediaSessionId": publisher.media_session_id, "type": "data", "payload": {"text": "hello"}});
    alice.send("sendStreamEvent", event).await.unwrap();
    let relayed = bob.expect("notifyStreamEvent", WAIT).await.unwrap();
    assert_eq!(relayed.payload(), &json!({"mediaSessionId": player.media_session_id, "type": "data", "payload": {"text": "hello"}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_stops_leaves_nothing_behind() {
    let server = Server::start_with(QUIET);
    let mut alice = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let _publisher = publish(&mut alice, "show", Some(OpusChannels::Stereo), Some(VideoCodec::H264)).await.unwrap();
    let mut bob = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let player = play(&mut bob, "show", None).await.unwrap();
    assert_eq!(server.metric("ferrophone_webrtc_peers"), Some(2.0));

    bob.send("stopStream", json!({"mediaSessionId": player.media_session_id, "name": "show"})).await.unwrap();
    let stopped = bob.stream_status(&player.media_session_id, WAIT).await.unwrap();
    assert_eq!(stopped["status"], "STOPPED");
    let deadline = Instant::now() + WAIT;
    loop {
        let viewers = server.metric(r#"ferrophone_stream_viewers{stream="show"}"#);
        let streams = server.rest_json("GET", "/rest-api/stream/find_all", None);
        let publisher_viewers = streams[0]["viewers"].clone();
        if server.metric("ferrophone_webrtc_peers") == Some(1.0)
            && viewers == Some(0.0)
            && streams.as_array().unwrap().len() == 1
            && publisher_viewers == 0
        {
            break;
        }
        assert!(Instant::now() < deadline, "after a stop: viewers {viewers:?}, streams {streams}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
