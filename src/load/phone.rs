//! The browser side of a SIP call, as the WebSDK's phone page drives it: `call` with an offer
//! or `answer` to the server's offer, then Opus (and, on a video call, H.264) both ways while
//! the test or load command watches the call's statuses and sends `hangup`, `hold`,
//! `sendDtmf` or `transfer`.

use super::encoded_media::EncodedClip;
use super::signalling::{ServerMessage, Signalling};
use super::webrtc_client::{ClientPeer, OpusChannels, Role};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const STEP: Duration = Duration::from_secs(10);

/// What a call's browser side heard and sent.
#[derive(Debug, Default)]
pub struct CallReport {
    /// Opus payloads received from the server, in order.
    pub received: Vec<Vec<u8>>,
    pub sent: u64,
    /// When the first audio came back, from the start of media.
    pub first_audio: Option<Duration>,
    /// Video access units received, and whether each is a keyframe.
    pub received_video: Vec<(Vec<u8>, bool)>,
    pub sent_video: u64,
}

/// A call in progress: its messages come out of `next`, commands go in with `send`.
pub struct RunningCall {
    pub call_id: String,
    /// When the `call` (or `answer`) message went to the server.
    pub sent_at: Instant,
    messages: mpsc::UnboundedReceiver<ServerMessage>,
    commands: mpsc::UnboundedSender<(String, Value)>,
    task: JoinHandle<Result<CallReport, String>>,
}

/// A session of a browser with SIP fields (`sipLogin`, `sipPassword`, `sipDomain`, ...).
pub async fn connect_phone(url: &str, sip: Value) -> Result<Signalling, String> {
    Signalling::connect(url, sip).await
}

/// Places a call to `callee`; returns once the server answered the browser's offer.
pub async fn call(signalling: Signalling, callee: &str, audio: Arc<Vec<Vec<u8>>>) -> Result<RunningCall, String> {
    place_call(signalling, callee, audio, None).await
}

/// Places a video call to `callee`, offering only the clip's codec and sending its pictures
/// as the camera.
pub async fn video_call(signalling: Signalling, callee: &str, clip: Arc<EncodedClip>) -> Result<RunningCall, String> {
    place_call(signalling, callee, Arc::new(clip.audio.clone()), Some(clip)).await
}

async fn place_call(mut signalling: Signalling, callee: &str, audio: Arc<Vec<Vec<u8>>>, camera: Option<Arc<EncodedClip>>) -> Result<RunningCall, String> {
    let video = camera.as_ref().map(|clip| clip.codec);
    let (mut peer, offer) = ClientPeer::offer(Role::Call, Some(OpusChannels::Mono), video).await?;
    let call_id = format!("call-{:016x}", rand::random::<u64>());
    let caller = signalling.user_data["sipLogin"].clone();
    let request = json!({"callId": call_id, "incoming": false, "hasVideo": camera.is_some(), "hasAudio": true, "status": "PENDING",
        "mediaProvider": "WebRTC", "sdp": offer, "caller": caller, "callee": callee});
    signalling.send("call", request).await?;
    let sent_at = Instant::now();
    let mut early = Vec::new();
    loop {
        let message = signalling.next(STEP).await?.ok_or("no setRemoteSDP for the call")?;
        if message.name == "setRemoteSDP" && message.data.first() == Some(&Value::from(call_id.as_str())) {
            let sdp = message.data.get(1).and_then(Value::as_str).ok_or("setRemoteSDP without SDP")?;
            peer.accept_answer(sdp)?;
            break;
        }
        let failed = message.name == "finish" && message.payload()["callId"] == call_id.as_str();
        early.push(message);
        if failed {
            return Err(format!("call failed: {}", early.last().map(|m| m.payload().to_string()).unwrap_or_default()));
        }
    }
    Ok(run(signalling, peer, call_id, audio, camera, early, sent_at))
}

/// Waits for the next incoming call and answers it.
pub async fn answer_next_call(mut signalling: Signalling, audio: Arc<Vec<Vec<u8>>>, within: Duration) -> Result<RunningCall, String> {
    let deadline = Instant::now() + within;
    let mut offers = std::collections::HashMap::new();
    let (call_id, offer, mut early) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = signalling.next(left).await?.ok_or("no incoming call")?;
        match message.name.as_str() {
            "setRemoteSDP" => {
                let id = message.data.first().and_then(Value::as_str).unwrap_or_default().to_owned();
                offers.insert(id, message.data.get(1).and_then(Value::as_str).unwrap_or_default().to_owned());
            }
            "notifyIncomingCall" => {
                let id = message.payload()["callId"].as_str().unwrap_or_default().to_owned();
                let offer = offers.remove(&id).ok_or("notifyIncomingCall before its setRemoteSDP")?;
                break (id, offer, vec![message]);
            }
            _ => {}
        }
    };
    // RING comes before the answer is allowed (spec §4.5).
    loop {
        let message = signalling.next(STEP).await?.ok_or("no RING for the incoming call")?;
        let ring = message.name == "ring" && message.payload()["callId"] == call_id.as_str();
        early.push(message);
        if ring {
            break;
        }
    }
    let (peer, answer) = ClientPeer::answer(&offer).await?;
    let request = json!({"callId": call_id, "incoming": true, "hasVideo": true, "hasAudio": true, "status": "PENDING",
        "mediaProvider": "WebRTC", "sdp": answer});
    signalling.send("answer", request).await?;
    Ok(run(signalling, peer, call_id, audio, None, early, Instant::now()))
}

/// Drives the call: media both ways, messages out, commands in, until `finish` or the end.
fn run(
    mut signalling: Signalling,
    mut peer: ClientPeer,
    call_id: String,
    audio: Arc<Vec<Vec<u8>>>,
    camera: Option<Arc<EncodedClip>>,
    early: Vec<ServerMessage>,
    sent_at: Instant,
) -> RunningCall {
    let (messages_in, messages) = mpsc::unbounded_channel();
    let (commands, mut commands_rx) = mpsc::unbounded_channel::<(String, Value)>();
    for message in early {
        let _ = messages_in.send(message);
    }
    let id = call_id.clone();
    let task = tokio::spawn(async move {
        let mid = peer.audio.ok_or("the call has no audio")?;
        let camera = camera.zip(peer.video);
        let mut report = CallReport::default();
        let mut connected = false;
        let mut next_audio = Instant::now();
        let mut next_video = Instant::now();
        let mut media_start = None;
        loop {
            let now = Instant::now();
            if connected && now >= next_audio {
                peer.write(mid, report.sent * 960, 48_000, audio[report.sent as usize % audio.len()].clone())?;
                report.sent += 1;
                next_audio += Duration::from_millis(20);
            }
            if let (true, Some((clip, video_mid))) = (connected && now >= next_video, &camera) {
                let picture = clip.video[report.sent_video as usize % clip.video.len()].0.clone();
                peer.write(*video_mid, report.sent_video * u64::from(90_000 / clip.fps), 90_000, picture)?;
                report.sent_video += 1;
                next_video += Duration::from_secs(1) / clip.fps;
            }
            let wake = match (&camera, connected) {
                (_, false) => now + Duration::from_millis(50),
                (Some(_), true) => next_audio.min(next_video),
                (None, true) => next_audio,
            };
            tokio::select! {
                event = peer.next_event(wake) => match event? {
                    Some(Event::Connected) => {
                        connected = true;
                        next_audio = Instant::now();
                        next_video = Instant::now();
                        media_start = Some(Instant::now());
                    }
                    Some(Event::MediaData(data)) if Some(data.mid) == peer.video => {
                        let keyframe = match data.codec_extra {
                            str0m::format::CodecExtra::H264(extra) => extra.is_keyframe,
                            str0m::format::CodecExtra::Vp8(extra) => extra.is_keyframe,
                            _ => false,
                        };
                        report.received_video.push((data.data.to_vec(), keyframe));
                    }
                    Some(Event::MediaData(data)) => {
                        if report.received.is_empty() {
                            report.first_audio = media_start.map(|s| s.elapsed());
                        }
                        report.received.push(data.data.to_vec());
                    }
                    _ => {}
                },
                message = signalling.next(wake.saturating_duration_since(Instant::now())) => {
                    let Some(message) = message? else { continue };
                    let finished = message.name == "finish" && message.payload()["callId"] == id.as_str();
                    let _ = messages_in.send(message);
                    if finished {
                        break;
                    }
                }
                command = commands_rx.recv() => match command {
                    Some((name, payload)) => signalling.send(&name, payload).await?,
                    None => break,
                },
            }
        }
        signalling.close().await;
        Ok(report)
    });
    RunningCall { call_id, sent_at, messages, commands, task }
}

impl RunningCall {
    /// Sends a call message (`hangup`, `hold`, ...) with this call's id added.
    pub fn send(&self, message: &str, mut payload: Value) {
        payload["callId"] = self.call_id.clone().into();
        let _ = self.commands.send((message.to_owned(), payload));
    }

    /// The next message of the session (call statuses, `fail`, transfer events...).
    pub async fn next(&mut self, within: Duration) -> Option<ServerMessage> {
        tokio::time::timeout(within, self.messages.recv()).await.ok().flatten()
    }

    /// Waits for the next message named `name` about this call.
    pub async fn wait_message(&mut self, name: &str, within: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left).await.ok_or_else(|| format!("no {name} in time"))?;
            if message.name == name && message.payload()["callId"] == self.call_id.as_str() {
                return Ok(message.payload().clone());
            }
        }
    }

    /// Waits for this call to reach `status`; the statuses passed on the way come back too.
    pub async fn wait_status(&mut self, status: &str, within: Duration) -> Result<Vec<String>, String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left).await.ok_or_else(|| format!("no {status} in time; saw {seen:?}"))?;
            if message.payload()["callId"] != self.call_id.as_str() || message.name == "notifyTransferEvent" {
                continue;
            }
            let got = message.payload()["status"].as_str().unwrap_or_default().to_owned();
            seen.push(got.clone());
            if got == status {
                return Ok(seen);
            }
            if matches!(got.as_str(), "FINISH" | "FAILED") {
                return Err(format!("call ended before {status}: {seen:?} {}", message.payload()));
            }
        }
    }

    /// Waits for the call to end (or `within`) and returns what its media did.
    pub async fn end(self, within: Duration) -> Result<CallReport, String> {
        drop(self.commands);
        match tokio::time::timeout(within, self.task).await {
            Ok(joined) => joined.map_err(|e| e.to_string())?,
            Err(_) => Err("the call did not end".into()),
        }
    }
}
