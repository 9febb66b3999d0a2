//! Only an address that passed an ICE check reaches DTLS and SRTP on the shared media port
//! (the CVE-2023-51443 class): forged datagrams are dropped and counted, and the media of
//! the real peers goes on.

use crate::common::Server;
use ferrophone::load::signalling::Signalling;
use ferrophone::load::stream_client::{play, publish};
use ferrophone::load::synthetic_media::{opus_frame, VideoCodec};
use ferrophone::load::webrtc_client::OpusChannels;
use serde_json::json;
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::net::UdpSocket;

/// A binding request naming the server's ufrag, with a MESSAGE-INTEGRITY that is garbage.
fn forged_binding_request(server_ufrag: &str) -> Vec<u8> {
    let username = format!("{server_ufrag}:evil");
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&[0x00, 0x06]);
    attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attrs.extend_from_slice(username.as_bytes());
    attrs.resize(attrs.len().div_ceil(4) * 4, 0);
    attrs.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]); // USE-CANDIDATE
    attrs.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    attrs.extend_from_slice(&[0xab; 20]); // MESSAGE-INTEGRITY
    let mut msg = vec![0x00, 0x01];
    msg.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    msg.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
    msg.extend_from_slice(&[0x42; 12]);
    msg.extend_from_slice(&attrs);
    msg
}

/// The start of a DTLS 1.2 ClientHello record, and an SRTP-looking packet.
const DTLS_HELLO: [u8; 16] = [22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0];
const RTP: [u8; 16] = [0x80, 111, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9];

fn dropped(server: &Server, kind: &str) -> f64 {
    server.metric(&format!(r#"ferrophone_media_datagrams_dropped_total{{kind="{kind}"}}"#)).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_datagrams_never_reach_dtls_or_srtp() {
    let server = Server::start_with(&[("session.keep_alive.algorithm", "NONE")]);
    let mut alice = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut publisher = publish(&mut alice, "guarded", Some(OpusChannels::Stereo), Some(VideoCodec::Vp8)).await.unwrap();
    let mut bob = Signalling::connect(&server.ws_url(), json!({})).await.unwrap();
    let mut player = play(&mut bob, "guarded", None).await.unwrap();
    let ufrag = publisher.answer.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")).unwrap().trim().to_owned();
    // The port the publisher's peer listens on, as its answer's candidate says.
    let candidate = publisher.answer.lines().find(|l| l.starts_with("a=candidate:")).expect("a candidate in the answer");
    let port: u16 = candidate.split_whitespace().nth(5).and_then(|p| p.parse().ok()).expect("a port in the candidate");
    assert!(server.ports.media_udp.contains(&port), "{candidate} is on one of {:?}", server.ports.media_udp);
    let media_port = ("127.0.0.1", port);

    let attacker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    attacker.send_to(&DTLS_HELLO, media_port).await.unwrap();
    attacker.send_to(&RTP, media_port).await.unwrap();
    // Now the attacker knows the ufrag (it is in the SDP) but not the password.
    attacker.send_to(&forged_binding_request(&ufrag), media_port).await.unwrap();
    attacker.send_to(&DTLS_HELLO, media_port).await.unwrap();
    attacker.send_to(&RTP, media_port).await.unwrap();

    // Audio still flows from the publisher to the player.
    let audio = publisher.peer.audio.unwrap();
    let start = Instant::now();
    let mut received = 0;
    let mut sent = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        publisher.peer.write(audio, sent * 960, 48_000, opus_frame(sent, 50)).unwrap();
        sent += 1;
        let _ = publisher.peer.next_event(Instant::now() + Duration::from_millis(5)).await.unwrap();
        while let Some(event) = player.peer.next_event(Instant::now() + Duration::from_millis(15)).await.unwrap() {
            if let Event::MediaData(_) = event {
                received += 1;
            }
        }
    }
    assert!(received > 50, "media kept flowing: {received} frames");
    assert!(dropped(&server, "unknown_source") >= 2.0, "datagrams from a stranger are dropped at the socket");
    assert!(dropped(&server, "unverified_source") >= 2.0, "datagrams from an address without a valid ICE check are dropped");
    let streams = server.rest_json("GET", "/rest-api/stream/find_all", None);
    assert_eq!(streams.as_array().unwrap().len(), 2, "{streams}");
}
