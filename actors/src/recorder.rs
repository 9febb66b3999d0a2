//! A `Recorder` actor per recording: subscribed to a stream like any viewer (through the
//! stream's bounded channel, so a slow disk costs the recording frames, never the stream), it
//! writes an MP4 of H.264 (a VP8 stream's video transcoded) and Opus on a thread of its own. The
//! file is finished (its index written) when the stream ends, when the recording is stopped and
//! when the server shuts down (`wait_for_recordings`).

use crate::media::{CodecName, MediaFrame, MediaKind};
use crate::recordings::RecordingEnded;
use crate::rtmp::media_clock::MediaClock;
use crate::stream::{AudioForm, KeyframeWanted, RelayStreamEvent, Stream, Subscribe, Unsubscribe, VideoForm};
use crate::transcode::{Mp4File, Mp4Tracks};
use actix::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Recordings whose file is not finished yet.
static WRITING: AtomicUsize = AtomicUsize::new(0);

/// The file a recording of `stream_name` goes to in `dir`: the name as it is, refused when it
/// could reach outside `dir` or hide in it (`/`, `\`, `..`, control characters, a leading dot).
pub fn recording_path(dir: &Path, stream_name: &str) -> Result<PathBuf, String> {
    let bad = stream_name.is_empty()
        || stream_name.starts_with('.')
        || stream_name.contains("..")
        || stream_name.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        return Err(format!("'{stream_name}' cannot name a recording file"));
    }
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Ok(dir.join(format!("{stream_name}-{ms}.mp4")))
}

/// Waits (up to `within`) for every recording to finish its file: at shutdown, after the
/// streams were ended.
pub fn wait_for_recordings(within: Duration) {
    let deadline = Instant::now() + within;
    while WRITING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub struct Recorder {
    stream: Addr<Stream>,
    path: PathBuf,
    subscription: Option<u64>,
    /// Told when the file is finished, with the publisher's mediaSessionId.
    on_end: Option<(Recipient<RecordingEnded>, String)>,
}

impl Recorder {
    pub fn new(stream: Addr<Stream>, path: PathBuf, on_end: Option<(Recipient<RecordingEnded>, String)>) -> Self {
        Recorder { stream, path, subscription: None, on_end }
    }
}

impl Actor for Recorder {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let subscribe = Subscribe {
            media_session_id: format!("recorder-{}", self.path.display()),
            events: ctx.address().recipient(),
            audio: AudioForm::AsPublished,
            video: VideoForm::H264 { size: None },
        };
        ctx.wait(self.stream.send(subscribe).into_actor(self).map(|subscription, act, ctx| {
            let Ok(subscription) = subscription else {
                tracing::warn!(file = %act.path.display(), "nothing recorded: the stream ended");
                return ctx.stop();
            };
            act.subscription = Some(subscription.id);
            let opus_channels = subscription.tracks.audio.as_ref().filter(|a| a.name == CodecName::Opus).map(|a| a.channels.unwrap_or(2));
            let has_video = subscription.tracks.video.as_ref().is_some_and(|v| v.name == CodecName::H264);
            let (path, frames) = (act.path.clone(), subscription.frames);
            let (done_tx, done) = tokio::sync::oneshot::channel();
            WRITING.fetch_add(1, Ordering::SeqCst);
            let spawned = std::thread::Builder::new().name("recorder".into()).spawn(move || {
                write_file(&path, opus_channels, has_video, frames);
                WRITING.fetch_sub(1, Ordering::SeqCst);
                let _ = done_tx.send(());
            });
            if spawned.is_err() {
                WRITING.fetch_sub(1, Ordering::SeqCst);
                return ctx.stop();
            }
            if has_video {
                act.stream.do_send(KeyframeWanted);
            }
            // The writer is done when its channel closed (stream ended or unsubscribed).
            ctx.spawn(done.into_actor(act).map(|_, _, ctx| ctx.stop()));
        }));
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        if let Some((recordings, media_session_id)) = self.on_end.take() {
            let _ = recordings.try_send(RecordingEnded { media_session_id, recorder: ctx.address() });
        }
    }
}

/// Stops the recording: its file is finished.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRecording;

impl Handler<StopRecording> for Recorder {
    type Result = ();
    fn handle(&mut self, _: StopRecording, _: &mut Context<Self>) {
        // Unsubscribing closes the writer's channel; the actor ends when the file is done.
        if let Some(id) = self.subscription.take() {
            self.stream.do_send(Unsubscribe { id });
        }
    }
}

/// The stream's events (mute, data) are not recorded.
impl Handler<RelayStreamEvent> for Recorder {
    type Result = ();
    fn handle(&mut self, _: RelayStreamEvent, _: &mut Context<Self>) {}
}

/// The writer thread: frames until the channel closes, then the index.
fn write_file(path: &Path, opus_channels: Option<u8>, has_video: bool, mut frames: tokio::sync::mpsc::Receiver<MediaFrame>) {
    let mut file: Option<Mp4File> = None;
    let mut clock = MediaClock::default();
    while let Some(frame) = frames.blocking_recv() {
        if file.is_none() {
            // With video the file starts at a keyframe: its parameter sets make the header.
            let keyframe = (frame.kind == MediaKind::Video && frame.keyframe).then_some(&frame.data[..]);
            if has_video && keyframe.is_none() {
                continue;
            }
            match Mp4File::create(path, Mp4Tracks { opus_channels, h264_keyframe: keyframe }) {
                Ok(created) => {
                    tracing::info!(file = %path.display(), "recording");
                    file = Some(created);
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot record");
                    return;
                }
            }
        }
        let Some(writer) = file.as_mut() else { continue };
        let ms = u64::from(clock.timestamp_ms(frame.kind, frame.time, frame.clock_rate, frame.received));
        if let Err(e) = writer.write(frame.kind == MediaKind::Video, &frame.data, frame.keyframe, ms) {
            tracing::debug!(file = %path.display(), error = %e, "frame not recorded");
        }
    }
    if let Some(writer) = file {
        match writer.finish() {
            Ok(()) => tracing::info!(file = %path.display(), "recording finished"),
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "recording not finished"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_files_stay_in_their_directory() {
        let dir = Path::new("/records");
        let ok = recording_path(dir, "call_stream1").unwrap();
        assert!(ok.starts_with(dir) && ok.file_name().unwrap().to_str().unwrap().starts_with("call_stream1-"));
        for bad in ["../etc/passwd", "a/b", "a\\b", "..", ".hidden", "", "a\nb"] {
            assert!(recording_path(dir, bad).is_err(), "{bad:?}");
        }
    }
}
