//! Publishing and playing as the WebSDK does it: `publishStream`/`playStream` with an offer,
//! `setRemoteSDP` with the answer, the stream status, then ICE and DTLS.

use super::signalling::Signalling;
use super::synthetic_media::VideoCodec;
use super::webrtc_client::{ClientPeer, OpusChannels, Role};
use rand::Rng;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

const STEP: Duration = Duration::from_secs(10);

/// A publisher or player that reached PUBLISHING/PLAYING and has connected media.
pub struct MediaSession {
    pub peer: ClientPeer,
    pub media_session_id: String,
    /// The status object the server sent.
    pub status: Value,
    /// The server's SDP answer.
    pub answer: String,
}

/// Why a stream did not start: the server's FAILED status, or something else.
#[derive(Debug)]
pub enum StartError {
    Failed(Value),
    Other(String),
}

impl StartError {
    pub fn info(&self) -> String {
        match self {
            StartError::Failed(status) => status["info"].as_str().unwrap_or_default().to_owned(),
            StartError::Other(e) => e.clone(),
        }
    }
}

impl From<String> for StartError {
    fn from(e: String) -> Self {
        StartError::Other(e)
    }
}

impl From<&str> for StartError {
    fn from(e: &str) -> Self {
        StartError::Other(e.to_owned())
    }
}

/// A fresh mediaSessionId, shaped like the SDK's uuid.
pub fn new_media_session_id() -> String {
    let n: u128 = rand::rng().random();
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", n >> 96, (n >> 80) & 0xffff, (n >> 64) & 0xffff, (n >> 48) & 0xffff, n & 0xffff_ffff_ffff)
}

pub async fn publish(
    signalling: &mut Signalling,
    name: &str,
    audio: Option<OpusChannels>,
    video: Option<VideoCodec>,
) -> Result<MediaSession, StartError> {
    publish_with(signalling, name, audio, video, json!({})).await
}

/// A publish with `extra` fields in the request (`rtmpUrl`, `record`, ...).
pub async fn publish_with(
    signalling: &mut Signalling,
    name: &str,
    audio: Option<OpusChannels>,
    video: Option<VideoCodec>,
    extra: Value,
) -> Result<MediaSession, StartError> {
    let (peer, offer) = ClientPeer::offer(Role::Publish, audio, video, Ipv4Addr::LOCALHOST.into()).await?;
    let mut request = json!({"name": name, "published": true, "hasAudio": audio.is_some(), "hasVideo": video.is_some(), "sdp": offer});
    request.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    start(signalling, peer, "publishStream", request, "PUBLISHING").await
}

/// `video` None offers every video codec, like a browser.
pub async fn play(signalling: &mut Signalling, name: &str, video: Option<VideoCodec>) -> Result<MediaSession, StartError> {
    play_from(signalling, name, video, Ipv4Addr::LOCALHOST.into()).await
}

/// A play whose media comes to a UDP socket on `ip`.
pub async fn play_from(signalling: &mut Signalling, name: &str, video: Option<VideoCodec>, ip: IpAddr) -> Result<MediaSession, StartError> {
    let (peer, offer) = ClientPeer::offer(Role::Play, Some(OpusChannels::Stereo), video, ip).await?;
    let request = json!({"name": name, "published": false, "hasAudio": true, "hasVideo": true, "sdp": offer});
    start(signalling, peer, "playStream", request, "PLAYING").await
}

async fn start(
    signalling: &mut Signalling,
    mut peer: ClientPeer,
    message: &str,
    mut request: Value,
    success: &str,
) -> Result<MediaSession, StartError> {
    let id = new_media_session_id();
    request["mediaSessionId"] = id.clone().into();
    request["status"] = "PENDING".into();
    if request.get("record").is_none() {
        request["record"] = false.into();
    }
    request["mediaProvider"] = "WebRTC".into();
    signalling.send(message, request).await?;
    let mut answer = String::new();
    let status = loop {
        let message = signalling.next(STEP).await?.ok_or(format!("no answer to {message}"))?;
        match message.name.as_str() {
            "setRemoteSDP" if message.data.first() == Some(&Value::from(id.as_str())) => {
                let sdp = message.data.get(1).and_then(Value::as_str).ok_or("setRemoteSDP without SDP")?;
                peer.accept_answer(sdp)?;
                answer = sdp.to_owned();
            }
            "notifyStreamStatusEvent" if message.payload()["mediaSessionId"] == id.as_str() => {
                let status = message.payload().clone();
                if status["status"] != success {
                    return Err(StartError::Failed(status));
                }
                break status;
            }
            _ => {}
        }
    };
    peer.until_connected(STEP).await?;
    Ok(MediaSession { peer, media_session_id: id, status, answer })
}
