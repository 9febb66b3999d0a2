//! The browser side of a SIP call, as the WebSDK's phone page drives it: `call` with an offer
//! or `answer` to the server's offer, then Opus (and, on a video call, H.264) both ways while
//! the test or load command watches the call's statuses and sends `hangup`, `hold`,
//! `sendDtmf` or `transfer`.

use super::encoded_media::EncodedClip;
use super::signalling::{ServerMessage, Signalling};
use super::synthetic_media::VideoCodec;
use super::webrtc_client::{ClientPeer, OpusChannels, Role};
use ferrophone_actors::sdp::{fmtp_value, SessionDescription};
use ferrophone_actors::webrtc::keyframe::is_keyframe;
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const STEP: Duration = Duration::from_secs(10);

/// What a call's browser side heard and sent.
#[derive(Debug, Default)]
pub struct CallReport {
    /// The server's SDP: its answer to an outgoing call, its offer of an incoming one.
    pub server_sdp: String,
    /// Opus payloads received from the server, in order.
    pub received: Vec<Vec<u8>>,
    pub sent: u64,
    /// When the first audio came back, from the start of media.
    pub first_audio: Option<Duration>,
    /// Video access units received, and whether each is a keyframe.
    pub received_video: Vec<(Vec<u8>, bool)>,
    pub sent_video: u64,
}

/// What the browser's microphone sends: 20 ms Opus packets, in one or more widths. Chromium
/// codes its Opus no wider than the `maxplaybackrate` of the server's SDP; this browser sends
/// the narrowest version it has that is still that wide (or its widest).
#[derive(Clone)]
pub struct Microphone {
    /// By the audio rate (Hz) each is coded for, narrowest first.
    versions: Vec<(u32, Arc<Vec<Vec<u8>>>)>,
}

impl Microphone {
    /// `versions`: packets by the audio rate they were coded for.
    pub fn in_widths(mut versions: Vec<(u32, Arc<Vec<Vec<u8>>>)>) -> Self {
        versions.sort_by_key(|(rate, _)| *rate);
        Microphone { versions }
    }

    /// The packets for a call whose Opus the server's `sdp` limits (or not).
    fn for_sdp(&self, sdp: &str) -> Arc<Vec<Vec<u8>>> {
        let limit = opus_max_playback_rate(sdp).unwrap_or(48_000);
        let fitting = self.versions.iter().find(|(rate, _)| *rate >= limit);
        fitting.or(self.versions.last()).map(|(_, packets)| packets.clone()).unwrap_or_default()
    }
}

/// One width for every call: a browser that pays no heed to `maxplaybackrate`.
impl From<Arc<Vec<Vec<u8>>>> for Microphone {
    fn from(packets: Arc<Vec<Vec<u8>>>) -> Self {
        Microphone { versions: vec![(48_000, packets)] }
    }
}

/// The `maxplaybackrate` of the Opus of `sdp`'s audio (RFC 7587 §6.1).
fn opus_max_playback_rate(sdp: &str) -> Option<u32> {
    let sdp = SessionDescription::parse(sdp).ok()?;
    let audio = sdp.media.iter().find(|m| m.kind == "audio")?;
    let opus = audio.payload_types().find(|&pt| audio.rtpmap(pt).is_some_and(|map| map.name.eq_ignore_ascii_case("opus")))?;
    fmtp_value(audio.fmtp(opus)?, "maxplaybackrate")?.parse().ok()
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

/// Places a call to `callee`; the server's answer to the browser's offer may come any time
/// after (with the phone's SDP, when the phone's codec decides how wide the audio is).
pub async fn call(signalling: Signalling, callee: &str, microphone: impl Into<Microphone>) -> Result<RunningCall, String> {
    place_call(signalling, callee, microphone.into(), None).await
}

/// Places a video call to `callee`, offering only the clip's codec and sending its pictures
/// as the camera.
pub async fn video_call(signalling: Signalling, callee: &str, clip: Arc<EncodedClip>) -> Result<RunningCall, String> {
    place_call(signalling, callee, Arc::new(clip.audio.clone()).into(), Some(clip)).await
}

async fn place_call(mut signalling: Signalling, callee: &str, microphone: Microphone, camera: Option<Arc<EncodedClip>>) -> Result<RunningCall, String> {
    let video = camera.as_ref().map(|clip| clip.codec);
    let (peer, offer) = ClientPeer::offer(Role::Call, Some(OpusChannels::Mono), video, Ipv4Addr::LOCALHOST.into()).await?;
    let call_id = format!("call-{:016x}", rand::random::<u64>());
    let caller = signalling.user_data["sipLogin"].clone();
    let request = json!({"callId": call_id, "incoming": false, "hasVideo": camera.is_some(), "hasAudio": true, "status": "PENDING",
        "mediaProvider": "WebRTC", "sdp": offer, "caller": caller, "callee": callee});
    signalling.send("call", request).await?;
    let sent_at = Instant::now();
    Ok(run(signalling, peer, call_id, Awaiting::Answer(microphone), camera, Vec::new(), sent_at))
}

/// Waits for the next incoming call and answers it.
pub async fn answer_next_call(mut signalling: Signalling, microphone: impl Into<Microphone>, within: Duration) -> Result<RunningCall, String> {
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
    let audio = microphone.into().for_sdp(&offer);
    let (peer, answer) = ClientPeer::answer(&offer, &[VideoCodec::H264], Ipv4Addr::LOCALHOST.into()).await?;
    let request = json!({"callId": call_id, "incoming": true, "hasVideo": true, "hasAudio": true, "status": "PENDING",
        "mediaProvider": "WebRTC", "sdp": answer});
    signalling.send("answer", request).await?;
    Ok(run(signalling, peer, call_id, Awaiting::Media { audio, server_sdp: offer }, None, early, Instant::now()))
}

/// What a call's browser side waits for.
enum Awaiting {
    /// The server's answer to its offer, which says how wide its microphone may be.
    Answer(Microphone),
    /// ICE and DTLS, then media: `audio` is what its microphone sends, as wide as the
    /// server's SDP lets it be.
    Media { audio: Arc<Vec<Vec<u8>>>, server_sdp: String },
}

/// Drives the call: media both ways, messages out, commands in, until `finish` or the end.
fn run(
    mut signalling: Signalling,
    mut peer: ClientPeer,
    call_id: String,
    mut awaiting: Awaiting,
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
            if let (true, true, Awaiting::Media { audio, .. }) = (connected, now >= next_audio, &awaiting) {
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
                        report.received_video.push((data.data.to_vec(), is_keyframe(&data.codec_extra)));
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
                    if message.name == "setRemoteSDP" && message.data.first() == Some(&Value::from(id.as_str())) {
                        let sdp = message.data.get(1).and_then(Value::as_str).ok_or("setRemoteSDP without SDP")?;
                        let Awaiting::Answer(microphone) = &awaiting else { return Err("a second setRemoteSDP for the call".into()) };
                        let audio = microphone.for_sdp(sdp);
                        peer.accept_answer(sdp)?;
                        awaiting = Awaiting::Media { audio, server_sdp: sdp.to_owned() };
                        // Passed on too: when it came among the call's statuses matters.
                        let _ = messages_in.send(message);
                        continue;
                    }
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
        if let Awaiting::Media { server_sdp, .. } = awaiting {
            report.server_sdp = server_sdp;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_microphone_is_as_wide_as_the_servers_sdp_lets_it() {
        let packets = |tag: u8| Arc::new(vec![vec![tag]]);
        let microphone = Microphone::in_widths(vec![(48_000, packets(3)), (8_000, packets(1)), (16_000, packets(2))]);
        let sdp = |fmtp: &str| format!("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:0 x=1\r\n{fmtp}");
        let chosen = |fmtp: &str| microphone.for_sdp(&sdp(fmtp))[0][0];
        assert_eq!(chosen("a=fmtp:111 minptime=10;maxplaybackrate=8000;sprop-maxcapturerate=8000\r\n"), 1);
        assert_eq!(chosen("a=fmtp:111 maxplaybackrate=12000\r\n"), 2);
        assert_eq!(chosen("a=fmtp:111 MaxPlaybackRate=16000\r\n"), 2);
        assert_eq!(chosen("a=fmtp:111 minptime=10;useinbandfec=1\r\n"), 3, "no limit: full width");
        assert_eq!(chosen(""), 3);
        let single = Microphone::from(packets(7));
        assert_eq!(single.for_sdp(&sdp("a=fmtp:111 maxplaybackrate=8000\r\n"))[0][0], 7, "one width for all");
    }
}
