//! The running recordings by the mediaSessionId of the stream's publisher: started by
//! `record: true`, `sip.record_stream` or REST (`/recorder/startup`, `/stream/startRecording`),
//! listed by `/recorder/find_all`, stopped by `/recorder/terminate` (or their stream's end).
//! Starting a recording of a stream already recorded stops the current one first.

use crate::recorder::{Recorder, StopRecording};
use crate::stream::Stream;
use actix::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;

/// Where recordings go and who keeps track of them.
pub struct RecordPlace {
    pub dir: PathBuf,
    pub recordings: Addr<Recordings>,
}

#[derive(Default)]
pub struct Recordings {
    active: HashMap<String, (String, Addr<Recorder>)>,
}

impl Actor for Recordings {
    type Context = Context<Self>;
}

/// Records the stream published as `media_session_id` into `path` (see `recording_path`).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct StartRecording {
    pub media_session_id: String,
    pub path: PathBuf,
    pub stream: Addr<Stream>,
}

impl Handler<StartRecording> for Recordings {
    type Result = Result<(), String>;
    fn handle(&mut self, msg: StartRecording, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(dir) = msg.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("no record directory {}: {e}", dir.display()))?;
        }
        if let Some((_, current)) = self.active.remove(&msg.media_session_id) {
            current.do_send(StopRecording);
        }
        let file = msg.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let ended = (ctx.address().recipient(), msg.media_session_id.clone());
        let recorder = Recorder::new(msg.stream, msg.path, Some(ended)).start();
        self.active.insert(msg.media_session_id, (file, recorder));
        Ok(())
    }
}

/// Stops the recording of `media_session_id`; false when there is none.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct StopRecordingOf {
    pub media_session_id: String,
}

impl Handler<StopRecordingOf> for Recordings {
    type Result = bool;
    fn handle(&mut self, msg: StopRecordingOf, _: &mut Context<Self>) -> bool {
        match self.active.remove(&msg.media_session_id) {
            Some((_, recorder)) => {
                recorder.do_send(StopRecording);
                true
            }
            None => false,
        }
    }
}

/// A recorder finished its file.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RecordingEnded {
    pub media_session_id: String,
    pub recorder: Addr<Recorder>,
}

impl Handler<RecordingEnded> for Recordings {
    type Result = ();
    fn handle(&mut self, msg: RecordingEnded, _: &mut Context<Self>) {
        if self.active.get(&msg.media_session_id).is_some_and(|(_, r)| *r == msg.recorder) {
            self.active.remove(&msg.media_session_id);
        }
    }
}

/// The running recordings: (mediaSessionId, file name).
#[derive(Message)]
#[rtype(result = "Vec<(String, String)>")]
pub struct ListRecordings;

impl Handler<ListRecordings> for Recordings {
    type Result = MessageResult<ListRecordings>;
    fn handle(&mut self, _: ListRecordings, _: &mut Context<Self>) -> Self::Result {
        let mut listed: Vec<(String, String)> = self.active.iter().map(|(id, (file, _))| (id.clone(), file.clone())).collect();
        listed.sort();
        MessageResult(listed)
    }
}
