//! The browser as a SIP phone (spec §4) against sipp: outgoing and incoming calls with audio
//! both ways (Opus in the browser, G.711 at the phone), busy and cancelled calls, hold, DTMF,
//! transfer, a phone that goes silent, calls that cannot start, and H.264 video both ways.

use crate::common::audio_check::level_and_pitch;
use crate::common::kamailio::Kamailio;
use crate::common::media_check::{decode_errors, probe_streams};
use crate::common::sipp::{scenario, Sipp};
use crate::common::video_pcap::{video_rtp_pcap, PhoneVideo, VideoScreen};
use crate::common::{scratch_dir, Server};
use ferrophone::load::encoded_media::{encode_clip, encode_tone};
use ferrophone::load::phone::{answer_next_call, call, connect_phone, video_call};
use ferrophone::load::synthetic_media::VideoCodec;
use ferrophone::load::webrtc_client::OpusChannels;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_secs(1);
const QUIET: (&str, &str) = ("session.keep_alive.algorithm", "NONE");

/// SIP fields of a browser whose calls go straight to `port` (no registrar).
fn direct_account(login: &str, port: u16) -> Value {
    json!({"sipLogin": login, "sipAuthenticationName": login, "sipPassword": "secret", "sipDomain": "127.0.0.1",
        "sipOutboundProxy": "127.0.0.1", "sipPort": port.to_string(), "sipRegisterRequired": false})
}

fn tone() -> Arc<Vec<Vec<u8>>> {
    Arc::new(encode_tone(2, 440.0, OpusChannels::Mono).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outgoing_call_carries_audio_both_ways_and_hangs_up_with_bye() {
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_answer.xml"), None, &["-rtp_echo"]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    let statuses = running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    assert_eq!(statuses.first().map(String::as_str), Some("TRYING"), "{statuses:?}");
    assert!(statuses.iter().any(|s| s == "RING"), "{statuses:?}");
    // The phone echoes what it hears: the browser's tone comes back through G.711.
    tokio::time::sleep(3 * SECOND).await;
    running.send("hangup", json!({}));
    running.wait_status("FINISH", 5 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone got its BYE: {}", phone.errors());
    let messages = phone.messages();
    assert!(messages.contains("m=audio") && messages.contains("RTP/AVP"), "{messages}");
    assert!(report.received.len() > 100, "audio came back: {} packets", report.received.len());
    // The answer waited for the phone's: the phone took PCMU, so the browser's Opus need be no wider.
    assert!(report.server_sdp.contains("maxplaybackrate=8000"), "{}", report.server_sdp);
    let (level, pitch) = level_and_pitch(&report.received, 1.0);
    assert!(level > 0.05, "the echoed tone is heard: level {level}");
    assert!((pitch - 440.0).abs() < 20.0, "and it is the browser's 440 Hz: {pitch} Hz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_call_rings_the_browser_which_answers_and_hears_the_phone() {
    let server = Server::start_with(&[QUIET]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", 5060)).await.unwrap();
    let remote = format!("127.0.0.1:{}", server.ports.sip);
    let mut phone = Sipp::start(&scenario("uac_call.xml"), Some(remote), &["-s", "1001", "-d", "4000"]);
    let mut running = answer_next_call(browser, tone(), 10 * SECOND).await.unwrap();
    let incoming = running.next(SECOND).await.unwrap();
    assert_eq!(incoming.name, "notifyIncomingCall");
    let call = incoming.payload();
    assert_eq!((call["incoming"].clone(), call["caller"].clone(), call["callee"].clone()), (json!(true), json!("2002"), json!("1001")));
    assert_eq!(call["visibleName"], "Bob Phone");
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    // The phone hangs up after its 4 s of tone.
    running.wait_status("FINISH", 15 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());
    let (level, pitch) = level_and_pitch(&report.received, 1.0);
    assert!(level > 0.05, "the phone's tone is heard: level {level} in {} packets", report.received.len());
    assert!((pitch - 440.0).abs() < 20.0, "{pitch} Hz");
    assert!(report.server_sdp.contains("maxplaybackrate=8000"), "a PCMU caller's call is 8 kHz audio: {}", report.server_sdp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_cancels_and_a_browser_that_declines_end_the_call() {
    let server = Server::start_with(&[QUIET]);
    let remote = format!("127.0.0.1:{}", server.ports.sip);
    let mut browser = connect_phone(&server.ws_url(), direct_account("1001", 5060)).await.unwrap();

    let mut phone = Sipp::start(&scenario("uac_cancel.xml"), Some(remote.clone()), &["-s", "1001"]);
    let ring = browser.expect("ring", 10 * SECOND).await.unwrap();
    let call_id = ring.payload()["callId"].as_str().unwrap().to_owned();
    let finish = browser.expect("finish", 10 * SECOND).await.unwrap();
    assert_eq!((finish.payload()["callId"].as_str(), finish.payload()["status"].as_str()), (Some(call_id.as_str()), Some("FINISH")));
    assert_eq!(phone.wait(10 * SECOND), 0, "CANCEL got 200 and 487: {}", phone.errors());

    let mut phone = Sipp::start(&scenario("uac_declined.xml"), Some(remote), &["-s", "1001"]);
    let ring = browser.expect("ring", 10 * SECOND).await.unwrap();
    let call_id = ring.payload()["callId"].as_str().unwrap().to_owned();
    browser.send("hangup", json!({"callId": call_id})).await.unwrap();
    let finish = browser.expect("finish", 10 * SECOND).await.unwrap();
    assert_eq!(finish.payload()["status"], "FINISH");
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone was declined: {}", phone.errors());
    assert!(phone.messages().contains("SIP/2.0 603") || phone.messages().contains("SIP/2.0 486"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_media_sdp_brings_the_browsers_answer_before_the_phone_answers() {
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_early_media.xml"), None, &["-d", "2000"]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    // What the browser hears about the call, and when, until the phone answers.
    let mut heard = Vec::new();
    while !heard.iter().any(|(what, _)| what == "ESTABLISHED") {
        let message = running.next(10 * SECOND).await.expect("the call goes on");
        let what = match message.name.as_str() {
            "setRemoteSDP" => "setRemoteSDP".to_owned(),
            _ => message.payload()["status"].as_str().unwrap_or_default().to_owned(),
        };
        heard.push((what, Instant::now()));
    }
    let at = |what: &str| heard.iter().find(|(w, _)| w == what).map(|(_, at)| *at).unwrap_or_else(|| panic!("no {what} in {heard:?}"));
    assert!(heard.iter().any(|(what, _)| what == "SESSION_PROGRESS"), "{heard:?}");
    // The 183's SDP said PCMU: the answer went then, 2 s before the 200, and narrow.
    assert!(at("ESTABLISHED") - at("setRemoteSDP") > Duration::from_millis(1_500), "{heard:?}");
    running.send("hangup", json!({}));
    running.wait_status("FINISH", 5 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert!(report.server_sdp.contains("maxplaybackrate=8000"), "{}", report.server_sdp);
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_phone_ends_the_call_as_busy_then_finish() {
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_busy.xml"), None, &[]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    let statuses = running.wait_status("FINISH", 10 * SECOND).await.unwrap();
    assert!(statuses.contains(&"BUSY".to_owned()), "{statuses:?}");
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());
}

/// RTP packets (payload type, payload) as a phone's media port received them.
type ReceivedRtp = Arc<std::sync::Mutex<Vec<(u8, Vec<u8>)>>>;

/// What arrives at a socket that stands in for the phone's media port.
fn collect_rtp(socket: std::net::UdpSocket) -> ReceivedRtp {
    let packets = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = packets.clone();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1500];
        while Arc::strong_count(&sink) > 1 {
            if let Ok(len) = socket.recv(&mut buffer) {
                if let Ok(packet) = ferrophone_actors::rtp::RtpPacket::parse(&buffer[..len]) {
                    sink.lock().unwrap().push((packet.header.payload_type, packet.payload.to_vec()));
                }
            }
        }
    });
    packets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_dtmf_and_transfer_reach_the_phone() {
    let server = Server::start_with(&[QUIET]);
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let media_port = media.local_addr().unwrap().port().to_string();
    let received = collect_rtp(media);
    let mut phone = Sipp::start(&scenario("uas_call_control.xml"), None, &["-key", "test_media_port", &media_port]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    tokio::time::sleep(2 * SECOND).await;

    running.send("hold", json!({}));
    running.wait_status("HOLD", 5 * SECOND).await.unwrap();
    running.send("unhold", json!({}));
    running.wait_status("ESTABLISHED", 5 * SECOND).await.unwrap();

    running.send("sendDtmf", json!({"type": "RFC2833", "dtmf": "5"}));
    tokio::time::sleep(SECOND).await;
    running.send("sendDtmf", json!({"type": "INFO", "dtmf": 5}));

    running.send("transfer", json!({"target": "1003"}));
    assert_eq!(running.wait_message("notifyTransferEvent", 5 * SECOND).await.unwrap()["status"], "ACCEPTED");
    assert_eq!(running.wait_message("notifyTransferEvent", 5 * SECOND).await.unwrap()["status"], "COMPLETED");

    running.send("hangup", json!({}));
    running.wait_status("FINISH", 5 * SECOND).await.unwrap();
    running.end(5 * SECOND).await.unwrap();
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone saw hold, resume, INFO, REFER and BYE: {}", phone.errors());

    let packets = received.lock().unwrap().clone();
    let pcmu = packets.iter().filter(|(pt, payload)| *pt == 0 && payload.len() == 160).count();
    assert!(pcmu > 100, "the phone got PCMU from the browser's Opus: {pcmu} packets");
    let digits: Vec<_> = packets
        .iter()
        .filter(|(pt, _)| *pt == 101)
        .filter_map(|(_, payload)| ferrophone_actors::rtp::TelephoneEvent::parse(payload).ok())
        .collect();
    assert!(digits.iter().any(|e| e.event == 5 && e.end), "an RFC 4733 '5' with its end packets: {digits:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_goes_silent_is_hung_up_by_rtp_activity_detection() {
    let server = Server::start_with(&[QUIET, ("sip.rtp_activity_timeout", "2000")]);
    // No -rtp_echo: this phone answers and never sends a packet.
    let mut phone = Sipp::start(&scenario("uas_answer.xml"), None, &[]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    let failed = running.wait_message("finish", 10 * SECOND).await.unwrap();
    assert_eq!((failed["status"].as_str(), failed["info"].as_str()), (Some("FAILED"), Some("Failed by RTP activity")));
    assert_eq!(phone.wait(10 * SECOND), 0, "the silent phone got a BYE: {}", phone.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_clear_answers_and_the_server_goes_on() {
    let server = Server::start_with(&[QUIET]);
    // A login SIP cannot carry is refused at connection, and calls say why.
    let mut spaced = connect_phone(&server.ws_url(), direct_account("al ice", 5060)).await.unwrap();
    let fail = spaced.expect("fail", 5 * SECOND).await.unwrap();
    assert_eq!(fail.payload()["apiMethod"], "connection");
    assert!(fail.payload()["info"].as_str().unwrap().contains("space"), "{}", fail.payload());
    spaced.send("call", json!({"callId": "c1", "callee": "1002", "sdp": "v=0\r\n"})).await.unwrap();
    let finish = spaced.expect("finish", 5 * SECOND).await.unwrap();
    assert_eq!(finish.payload()["status"], "FAILED");
    assert!(finish.payload()["info"].as_str().unwrap().contains("space"));

    // No SIP account at all; commands for calls that do not exist.
    let mut plain = connect_phone(&server.ws_url(), json!({})).await.unwrap();
    plain.send("call", json!({"callId": "c2", "callee": "1002", "sdp": "v=0\r\n"})).await.unwrap();
    let finish = plain.expect("finish", 5 * SECOND).await.unwrap();
    assert!(finish.payload()["info"].as_str().unwrap().contains("No SIP account"), "{}", finish.payload());
    plain.send("hangup", json!({"callId": "nope"})).await.unwrap();
    let fail = plain.expect("fail", 5 * SECOND).await.unwrap();
    assert_eq!((fail.payload()["apiMethod"].as_str(), fail.payload()["info"].as_str()), (Some("hangup"), Some("Call 'nope' not found")));
    plain.send("sendDtmf", json!({"callId": "c", "dtmf": "12x"})).await.unwrap();
    assert!(plain.expect("fail", 5 * SECOND).await.unwrap().payload()["info"].as_str().unwrap().contains("12x"));

    // A browser whose offer is not SDP.
    let mut phone = connect_phone(&server.ws_url(), direct_account("1001", 5060)).await.unwrap();
    phone.send("call", json!({"callId": "c3", "callee": "1002", "sdp": "not sdp"})).await.unwrap();
    let finish = phone.expect("finish", 5 * SECOND).await.unwrap();
    assert_eq!(finish.payload()["status"], "FAILED");

    // Garbage on the SIP port, then a phone offering only G.729: 488, nothing breaks.
    let garbage = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    garbage.send_to(b"\x00\x01 not SIP at all\r\n\r\n", ("127.0.0.1", server.ports.sip)).unwrap();
    garbage.send_to(b"INVITE sip:1001@x SIP/2.0\r\nVia: broken\r\n\r\n", ("127.0.0.1", server.ports.sip)).unwrap();
    let remote = format!("127.0.0.1:{}", server.ports.sip);
    let mut g729 = Sipp::start(&scenario("uac_g729_only.xml"), Some(remote.clone()), &["-s", "1001"]);
    assert_eq!(g729.wait(10 * SECOND), 0, "488 for G.729 only: {}", g729.errors());
    // And the account still takes calls.
    let mut caller = Sipp::start(&scenario("uac_call.xml"), Some(remote), &["-s", "1001", "-d", "1000"]);
    let mut running = answer_next_call(phone, tone(), 10 * SECOND).await.unwrap();
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    running.wait_status("FINISH", 10 * SECOND).await.unwrap();
    assert_eq!(caller.wait(10 * SECOND), 0, "{}", caller.errors());
}

/// SIP fields of a browser registering through `kamailio_port` as 1001 with the separate
/// authentication name `alice`.
fn registered_account(kamailio_port: u16, password: &str) -> Value {
    json!({"sipLogin": "1001", "sipAuthenticationName": "alice", "sipPassword": password, "sipDomain": "127.0.0.1",
        "sipOutboundProxy": "127.0.0.1", "sipPort": kamailio_port.to_string(), "sipRegisterRequired": true})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_kamailio_with_a_separate_authentication_name() {
    let server = Server::start_with(&[QUIET]);
    let kamailio = Kamailio::start(&[("alice", "alicepw"), ("1002", "secret1002")], server.ports.sip);
    let registrar = format!("127.0.0.1:{}", kamailio.port);

    // A wrong password is told to the page.
    let mut wrong = connect_phone(&server.ws_url(), registered_account(kamailio.port, "nope")).await.unwrap();
    let fail = wrong.expect("fail", 10 * SECOND).await.unwrap();
    assert_eq!(fail.payload()["apiMethod"], "RegistrationStatusEvent");
    assert!(fail.payload()["info"].as_str().unwrap().starts_with("401") || fail.payload()["info"].as_str().unwrap().starts_with("403"), "{}", fail.payload());

    // The right one registers 1001 (digest user alice).
    let mut browser = connect_phone(&server.ws_url(), registered_account(kamailio.port, "alicepw")).await.unwrap();
    browser.expect("registered", 10 * SECOND).await.unwrap();

    // 1002 (a sipp phone, registered by another sipp) calls 1001 through Kamailio.
    let mut caller = Sipp::start(&scenario("uac_call_auth.xml"), Some(registrar.clone()), &["-s", "1001", "-key", "caller", "1002", "-au", "1002", "-ap", "secret1002", "-d", "3000"]);
    let mut running = answer_next_call(browser, tone(), 10 * SECOND).await.unwrap();
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    running.wait_status("FINISH", 15 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(caller.wait(10 * SECOND), 0, "{}\n{}", caller.errors(), kamailio.log());
    assert!(level_and_pitch(&report.received, 1.0).0 > 0.05, "the caller's tone is heard");

    // And 1001 calls 1002, authenticating its INVITE as alice.
    let mut callee = Sipp::start(&scenario("uas_answer.xml"), None, &["-rtp_echo"]);
    let contact_port = callee.sip_port.to_string();
    let mut registering = Sipp::start(&scenario("register.xml"), Some(registrar), &["-s", "1002", "-au", "1002", "-ap", "secret1002", "-key", "expires", "600", "-key", "contact_port", &contact_port]);
    assert_eq!(registering.wait(10 * SECOND), 0, "{}", registering.errors());
    let browser = connect_phone(&server.ws_url(), registered_account(kamailio.port, "alicepw")).await.unwrap();
    let mut running = call(browser, "1002", tone()).await.unwrap();
    if let Err(e) = running.wait_status("ESTABLISHED", 10 * SECOND).await {
        panic!("{e}\n{}\n{}", callee.messages(), callee.errors());
    }
    tokio::time::sleep(2 * SECOND).await;
    running.send("hangup", json!({}));
    running.wait_status("FINISH", 5 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(callee.wait(10 * SECOND), 0, "{}\n{}", callee.errors(), kamailio.log());
    let (level, pitch) = level_and_pitch(&report.received, 1.0);
    assert!(level > 0.05 && (pitch - 440.0).abs() < 20.0, "the echo through Kamailio: {level} {pitch}");
}

/// 20 ms G.722 payloads of a 440 Hz tone, as a wideband phone sends them.
fn g722_tone(seconds: usize) -> Vec<Vec<u8>> {
    use ferrophone_actors::media::CodecName;
    use ferrophone_actors::transcode::TelephonyEncoder;
    let mut encoder = TelephonyEncoder::new(CodecName::G722).unwrap();
    let rate = encoder.sample_rate() as usize;
    let tone: Vec<f32> = (0..rate * seconds).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5).collect();
    encoder.encode(&tone).unwrap()
}

/// Pitch (Hz) of G.722 payloads, skipping their first second.
fn g722_pitch(payloads: &[Vec<u8>]) -> f32 {
    use ferrophone_actors::media::CodecName;
    use ferrophone_actors::transcode::TelephonyDecoder;
    let mut decoder = TelephonyDecoder::new(CodecName::G722).unwrap();
    let samples: Vec<f32> = payloads.iter().filter_map(|p| decoder.decode(p).ok()).flat_map(|pcm| pcm.left).collect();
    let samples = &samples[48_000.min(samples.len())..];
    let ups = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    ups as f32 * 48_000.0 / samples.len().max(1) as f32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wideband_phone_talks_g722_and_puts_the_browser_on_hold() {
    let server = Server::start_with(&[QUIET]);
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let media_port = media.local_addr().unwrap().port().to_string();
    let sender = media.try_clone().unwrap();
    let received = collect_rtp(media);
    let mut phone = Sipp::start(&scenario("uas_g722_holds.xml"), None, &["-key", "test_media_port", &media_port, "-d", "3000"]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();

    // The phone talks to the RTP port the server's INVITE offered.
    let invite = phone.messages();
    let leg_port: u16 = invite.split("m=audio ").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|p| p.parse().ok()).expect("an audio port in the INVITE");
    let talking = std::thread::spawn(move || {
        let mut header = ferrophone_actors::rtp::RtpHeader { marker: true, payload_type: 9, sequence_number: 1, timestamp: 0, ssrc: 0x7722 };
        let start = std::time::Instant::now();
        for (n, payload) in g722_tone(6).into_iter().enumerate() {
            // On the clock, as a phone sends: sleeps alone would drift late and leave gaps.
            std::thread::sleep((start + Duration::from_millis(20 * n as u64)).saturating_duration_since(std::time::Instant::now()));
            let mut datagram = Vec::new();
            header.write_packet(&payload, &mut datagram);
            let _ = sender.send_to(&datagram, ("127.0.0.1", leg_port));
            header.marker = false;
            header.sequence_number = header.sequence_number.wrapping_add(1);
            header.timestamp = header.timestamp.wrapping_add(160);
        }
    });

    // The phone's own re-INVITEs: sendonly puts the page on HOLD, sendrecv brings it back.
    let statuses = running.wait_status("HOLD", 10 * SECOND).await.unwrap();
    assert_eq!(statuses, ["HOLD"], "{statuses:?}");
    running.wait_status("ESTABLISHED", 5 * SECOND).await.unwrap();
    talking.join().unwrap();

    running.send("hangup", json!({}));
    running.wait_status("FINISH", 5 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone was offered G.722, its hold was answered recvonly: {}", phone.errors());

    // Seconds 1 to 5 of the call, while the phone talks (silence follows it).
    let talk = &report.received[..report.received.len().min(250)];
    let (level, pitch) = level_and_pitch(talk, 1.0);
    assert!(level > 0.05 && (pitch - 440.0).abs() < 20.0, "the browser hears the phone's G.722 tone: level {level}, {pitch} Hz");
    let g722: Vec<Vec<u8>> = received.lock().unwrap().iter().filter(|(pt, p)| *pt == 9 && p.len() == 160).map(|(_, p)| p.clone()).collect();
    assert!(g722.len() > 100, "the phone gets G.722: {} packets", g722.len());
    assert!(report.server_sdp.contains("maxplaybackrate=16000"), "the browser's Opus need be no wider than G.722: {}", report.server_sdp);
    let pitch = g722_pitch(&g722);
    assert!((pitch - 440.0).abs() < 20.0, "and in it the browser's 440 Hz: {pitch} Hz");
}

/// Pictures in a raw H.264 file and their size, as ffprobe decodes them.
fn decoded_pictures(file: &Path) -> (u64, u64, u64) {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames,width,height", "-of", "json"])
        .arg(file)
        .output()
        .unwrap();
    let probed: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let stream = &probed["streams"][0];
    let number = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0);
    (number(&stream["nb_read_frames"]), number(&stream["width"]), number(&stream["height"]))
}

/// The browser's received pictures start at a keyframe and decode as `size`, 30 or more of them.
fn assert_browser_saw(pictures: &[(Vec<u8>, bool)], dir: &Path, codec: PhoneVideo, size: (u16, u16)) {
    assert!(pictures.len() >= 30, "about 15 pictures a second, got {}", pictures.len());
    assert!(pictures[0].1, "the browser's picture starts at a keyframe");
    let file = dir.join("browser-saw");
    codec.write_pictures(&file, &pictures.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(), size);
    let (decoded, width, height) = decoded_pictures(&file);
    assert_eq!((width, height), (u64::from(size.0), u64::from(size.1)), "the phone's camera");
    assert!(decoded >= 30, "{decoded} pictures decode");
    assert_eq!(decode_errors(&file), "");
}

/// A browser calls a video phone in `codec` (the only one it offers): each sees the other's
/// camera, the phone's 320x240 and the browser's 160x120.
async fn video_call_both_ways(codec: PhoneVideo) {
    let server = Server::start_with(&[QUIET]);
    let dir = scratch_dir(&format!("video-phone-{codec:?}"));
    // The phone's camera: sipp replays 320x240 video. Its screen: ffmpeg takes the RTP the
    // server sends to the video port of the phone's SDP and keeps it in a file.
    let pcap = dir.join("phone-camera.pcap");
    video_rtp_pcap(&pcap, codec, 10, 320, 240);
    let screen = VideoScreen::start(&dir, codec);
    let scenario = codec.scenario(&scenario("uas_video.xml"), &pcap).replace("[media_port+2]", &screen.port.to_string());
    let mut phone = Sipp::start(&scenario, None, &[]);

    let clip_codec = if codec == PhoneVideo::Vp8 { VideoCodec::Vp8 } else { VideoCodec::H264 };
    let clip = Arc::new(encode_clip(3, 160, 120, 15, 440.0, clip_codec, OpusChannels::Mono).unwrap());
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = video_call(browser, "phone", clip).await.unwrap();
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    tokio::time::sleep(4 * SECOND).await;
    running.send("hangup", json!({}));
    running.wait_status("FINISH", 5 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone was offered its codec and got its BYE: {}", phone.errors());
    // The server's RTCP BYE ends the phone's video: ffmpeg finishes its file and exits.
    let screen_file = screen.ended(5 * SECOND).await;

    // The browser saw the phone's picture, from a keyframe on.
    assert_browser_saw(&report.received_video, &dir, codec, (320, 240));

    // The phone saw the browser's.
    let (pictures, width, height) = decoded_pictures(&screen_file);
    assert_eq!((width, height), (160, 120), "the browser's camera, {:?}", probe_streams(screen_file.to_str().unwrap()));
    assert!(pictures >= 30, "{pictures} of {} pictures reached the phone and decode", report.sent_video);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_carries_h264_both_ways() {
    video_call_both_ways(PhoneVideo::H264).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_carries_vp8_both_ways() {
    video_call_both_ways(PhoneVideo::Vp8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_video_call_shows_the_phones_picture_in_the_browser() {
    let server = Server::start_with(&[QUIET]);
    let dir = scratch_dir("video-caller");
    let pcap = dir.join("caller-camera.pcap");
    video_rtp_pcap(&pcap, PhoneVideo::H264, 10, 176, 144);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", 5060)).await.unwrap();
    let remote = format!("127.0.0.1:{}", server.ports.sip);
    let scenario = PhoneVideo::H264.scenario(&scenario("uac_video.xml"), &pcap);
    let mut phone = Sipp::start(&scenario, Some(remote), &["-s", "1001", "-d", "5000"]);
    let mut running = answer_next_call(browser, tone(), 10 * SECOND).await.unwrap();
    let incoming = running.next(SECOND).await.unwrap();
    assert_eq!(incoming.payload()["hasVideo"], json!(true), "{}", incoming.payload());
    running.wait_status("ESTABLISHED", 10 * SECOND).await.unwrap();
    running.wait_status("FINISH", 15 * SECOND).await.unwrap();
    let report = running.end(5 * SECOND).await.unwrap();
    assert_eq!(phone.wait(10 * SECOND), 0, "the phone's video was answered: {}", phone.errors());

    assert_browser_saw(&report.received_video, &dir, PhoneVideo::H264, (176, 144));
    let _ = std::fs::remove_dir_all(&dir);
}
