//! A WebRTC publisher for load runs and tests: synthetic frames or a real encoded clip, sent
//! in real time until stopped, keyframe requests answered.

use super::encoded_media::EncodedClip;
use super::signalling::Signalling;
use super::stream_client::publish_with;
use super::synthetic_media::{opus_frame, SyntheticVideo, VideoCodec};
use super::webrtc_client::OpusChannels;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::Event;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub enum PublisherMedia {
    /// Frames shaped like real ones, undecodable: cheap, for load.
    Synthetic { codec: VideoCodec, bitrate: u64, fps: u32 },
    /// A real clip, in a loop: decodable downstream.
    Clip(Arc<EncodedClip>),
}

pub struct PublisherSpec {
    pub url: String,
    pub stream: String,
    pub media: PublisherMedia,
    /// `rtmpUrl` of the publish (WebRTC as RTMP).
    pub rtmp_url: Option<String>,
    /// `record: true` on the publish.
    pub record: bool,
}

/// A publisher that reached PUBLISHING and sends media until stopped.
pub struct RunningPublisher {
    pub media_session_id: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<u64, String>>,
}

impl RunningPublisher {
    /// Unpublishes; returns how many video frames were sent.
    pub async fn stop(self) -> Result<u64, String> {
        self.stop.send_replace(true);
        self.task.await.map_err(|e| e.to_string())?
    }
}

enum Video {
    Synthetic(SyntheticVideo),
    Clip { clip: Arc<EncodedClip>, next: usize },
}

impl Video {
    fn next(&mut self) -> Vec<u8> {
        match self {
            Video::Synthetic(v) => v.next_frame().0,
            Video::Clip { clip, next } => {
                let frame = clip.video[*next % clip.video.len()].0.clone();
                *next += 1;
                frame
            }
        }
    }

    /// A clip has a keyframe every half second: it needs no forcing.
    fn request_keyframe(&mut self) {
        if let Video::Synthetic(v) = self {
            v.request_keyframe();
        }
    }
}

pub async fn start_publisher(spec: PublisherSpec) -> Result<RunningPublisher, String> {
    // Synthetic Opus packets say stereo in their TOC byte.
    let (codec, fps, channels) = match &spec.media {
        PublisherMedia::Synthetic { codec, fps, .. } => (*codec, *fps, OpusChannels::Stereo),
        PublisherMedia::Clip(clip) => (clip.codec, clip.fps, clip.audio_channels),
    };
    let mut signalling = Signalling::connect(&spec.url, json!({})).await?;
    let mut extra = spec.rtmp_url.as_ref().map_or(json!({}), |url| json!({"rtmpUrl": url}));
    extra["record"] = spec.record.into();
    let mut session = publish_with(&mut signalling, &spec.stream, Some(channels), Some(codec), extra).await.map_err(|e| e.info())?;
    let (audio_mid, video_mid) = (session.peer.audio.ok_or("no audio track")?, session.peer.video.ok_or("no video track")?);
    let (mut video, clip_audio) = match spec.media {
        PublisherMedia::Synthetic { codec, bitrate, fps } => (Video::Synthetic(SyntheticVideo::new(codec, bitrate, fps, u64::from(fps) * 2)), None),
        PublisherMedia::Clip(clip) => (Video::Clip { clip: clip.clone(), next: 0 }, Some(clip)),
    };
    let media_session_id = session.media_session_id.clone();
    let (stop, mut stopped) = watch::channel(false);
    let name = spec.stream.clone();
    let task = tokio::spawn(async move {
        let frame_interval = Duration::from_secs_f64(1.0 / f64::from(fps.max(1)));
        let start = Instant::now();
        let (mut next_audio, mut next_video, mut audio_frames, mut video_frames) = (start, start, 0u64, 0u64);
        while !*stopped.borrow() {
            let now = Instant::now();
            if now >= next_audio {
                let packet = match &clip_audio {
                    Some(clip) => clip.audio[audio_frames as usize % clip.audio.len()].clone(),
                    None => opus_frame(audio_frames, 60),
                };
                session.peer.write(audio_mid, audio_frames * 960, 48_000, packet)?;
                audio_frames += 1;
                next_audio += Duration::from_millis(20);
            }
            if now >= next_video {
                session.peer.write(video_mid, video_frames * 90_000 / u64::from(fps.max(1)), 90_000, video.next())?;
                video_frames += 1;
                next_video += frame_interval;
            }
            let wake = next_audio.min(next_video);
            tokio::select! {
                _ = stopped.changed() => {}
                event = session.peer.next_event(wake) => {
                    if let Some(Event::KeyframeRequest(_)) = event? {
                        video.request_keyframe();
                    }
                }
                message = signalling.next(wake.saturating_duration_since(Instant::now())) => { message?; }
            }
        }
        let stop = json!({"mediaSessionId": session.media_session_id, "name": name});
        signalling.send("unPublishStream", stop).await?;
        let _ = signalling.stream_status(&session.media_session_id, Duration::from_secs(5)).await;
        signalling.close().await;
        Ok::<u64, String>(video_frames)
    });
    Ok(RunningPublisher { media_session_id, stop, task })
}
