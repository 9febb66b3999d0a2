//! The browser as a SIP phone (spec §4) against sipp: outgoing and incoming calls with audio
//! both ways (Opus in the browser, G.711 at the phone), busy and cancelled calls, hold, DTMF,
//! transfer, a phone that goes silent, and calls that cannot start.

use crate::common::audio_check::level_and_pitch;
use crate::common::sipp::Sipp;
use crate::common::Server;
use ferrophone::load::encoded_media::encode_tone;
use ferrophone::load::phone::{answer_next_call, call, connect_phone};
use ferrophone::load::webrtc_client::OpusChannels;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);
const QUIET: (&str, &str) = ("session.keep_alive.algorithm", "NONE");

fn scenario(name: &str) -> String {
    std::fs::read_to_string(format!("{}/integration/sip_scenarios/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

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
async fn a_busy_phone_ends_the_call_as_busy_then_finish() {
    let server = Server::start_with(&[QUIET]);
    let mut phone = Sipp::start(&scenario("uas_busy.xml"), None, &[]);
    let browser = connect_phone(&server.ws_url(), direct_account("1001", phone.sip_port)).await.unwrap();
    let mut running = call(browser, "phone", tone()).await.unwrap();
    let statuses = running.wait_status("FINISH", 10 * SECOND).await.unwrap();
    assert!(statuses.contains(&"BUSY".to_owned()), "{statuses:?}");
    assert_eq!(phone.wait(10 * SECOND), 0, "{}", phone.errors());
}
