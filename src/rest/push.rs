//! `/rest-api/push/*`: republishing streams to RTMP servers (seed 002, rest-api.md §4).

use super::body::RestBody;
use super::{json_ok, void_ok, RestError};
use crate::app_state::AppState;
use actix::Addr;
use actix_web::{web, HttpResponse};
use ferrophone_actors::push::{start_push, PushError, PushRequest};
use ferrophone_actors::registry::{FindTransponder, ListTransponders, TransponderSummary};
use ferrophone_actors::rtmp_transponder::{AudioChannels, RtmpTransponder, SetMuted, SoundOff, SoundOn, StopTransponder};
use ferrophone_actors::transcode::{load_sound_file, sound_file_path, SoundFileError};
use serde_json::Value;

async fn list(state: &AppState) -> Result<Vec<TransponderSummary>, RestError> {
    state.registry.send(ListTransponders).await.map_err(|e| RestError::unavailable(format!("Registry unavailable: {e}")))
}

fn sound_error(e: SoundFileError) -> RestError {
    match e {
        SoundFileError::NotFound(_) => RestError::not_found(e.to_string()),
        SoundFileError::BadName(_) | SoundFileError::BadFormat(_) => RestError::bad_request(e.to_string()),
    }
}

/// Plays `file` in the push: encoded (off the HTTP threads) to match the push's audio.
async fn play_sound(state: &AppState, transponder: &Addr<RtmpTransponder>, file: String, looped: bool) -> Result<(), RestError> {
    let channels = transponder.send(AudioChannels).await.map_err(|_| RestError::not_found("Not found transponder"))?;
    let push = state.media.push.clone();
    let loaded = web::block(move || load_sound_file(&push.media_dir, &file, push.aac_bitrate, channels.unwrap_or(2)))
        .await
        .map_err(|e| RestError::unavailable(format!("Sound loading failed: {e}")))?;
    let frames = loaded.map_err(sound_error)?;
    transponder.do_send(SoundOn { frames, looped });
    Ok(())
}

pub async fn startup(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let stream_name = body.required_string("streamName")?;
    let rtmp_url = body.required_string("rtmpUrl")?;
    let full_url = body.optional_bool("rtmpTransponderFullUrl")?;
    let options = body.optional_object("options")?.unwrap_or_else(|| Value::Object(Default::default()));
    let option = |key: &str| options.get(key).cloned();
    let (muted, sound) = match option("action").and_then(|v| v.as_str().map(str::to_owned)).as_deref() {
        None => (false, None),
        Some("mute") => (true, None),
        Some("sound_on") => {
            let file = option("soundFile")
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| RestError::bad_request("options.action sound_on needs options.soundFile"))?;
            sound_file_path(&state.media.push.media_dir, &file).map_err(sound_error)?;
            let looped = option("loop").is_some_and(|v| ferrophone_actors::websdk::lenient::as_bool(&v) == Some(true));
            (false, Some((file, looped)))
        }
        Some(other) => return Err(RestError::bad_request(format!("Unknown options.action '{other}': mute or sound_on"))),
    };
    let size = video_size(&body)?;
    let request = PushRequest { stream_name, rtmp_url, full_url, options, muted, size, rtmp_name: None };
    let (mut summary, transponder) = start_push(state.registry.clone(), state.media.clone(), state.metrics.clone(), request)
        .await
        .map_err(|e| match e {
            PushError::BadUrl(_) => RestError::bad_request(e.to_string()),
            PushError::StreamNotFound(_) => RestError::not_found(e.to_string()),
            PushError::AlreadyPushed => RestError::conflict(e.to_string()),
            PushError::Unavailable => RestError::unavailable(e.to_string()),
        })?;
    if let Some((file, looped)) = sound {
        if let Err(e) = play_sound(&state, &transponder, file, looped).await {
            transponder.do_send(StopTransponder { info: "Its sound file could not be played".into() });
            return Err(e);
        }
        summary.sound_enabled = true;
    }
    Ok(json_ok(&summary))
}

/// `width` and `height` of the request: both or neither, each 2 to 4096 (numbers or strings).
fn video_size(body: &RestBody) -> Result<Option<(u32, u32)>, RestError> {
    let dimension = |field: &str| -> Result<Option<u32>, RestError> {
        let Some(text) = body.optional_string(field)? else { return Ok(None) };
        match text.trim().parse::<u32>() {
            Ok(n) if (2..=4096).contains(&n) => Ok(Some(n)),
            // WCS sends 0 for "as published".
            Ok(0) => Ok(None),
            _ => Err(RestError::bad_request(format!("{field} must be a number of pixels from 2 to 4096, not '{text}'"))),
        }
    };
    match (dimension("width")?, dimension("height")?) {
        (Some(width), Some(height)) => Ok(Some((width, height))),
        (None, None) => Ok(None),
        _ => Err(RestError::bad_request("width and height go together")),
    }
}

/// Transponders matching `streamName` (the RTMP name, with its prefix), `rtmpUrl` and
/// `mediaSessionId`; 404 when none does.
pub async fn find(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let name = body.optional_string("streamName")?;
    let url = body.optional_string("rtmpUrl")?;
    let id = body.optional_string("mediaSessionId")?;
    let found: Vec<TransponderSummary> = list(&state)
        .await?
        .into_iter()
        .filter(|t| name.as_ref().is_none_or(|n| *n == t.stream_name))
        .filter(|t| url.as_ref().is_none_or(|u| *u == t.rtmp_url))
        .filter(|t| id.as_ref().is_none_or(|i| *i == t.media_session_id))
        .collect();
    if found.is_empty() {
        return Err(RestError::not_found("Transponder not found"));
    }
    Ok(json_ok(&found))
}

pub async fn find_all(state: web::Data<AppState>) -> Result<HttpResponse, RestError> {
    let all = list(&state).await?;
    if all.is_empty() {
        return Err(RestError::not_found("Not found any transponder"));
    }
    Ok(json_ok(&all))
}

async fn transponder(state: &AppState, body: &RestBody) -> Result<Addr<RtmpTransponder>, RestError> {
    let media_session_id = body.required_string("mediaSessionId")?;
    state
        .registry
        .send(FindTransponder { media_session_id })
        .await
        .map_err(|e| RestError::unavailable(format!("Registry unavailable: {e}")))?
        .ok_or_else(|| RestError::not_found("Not found transponder"))
}

pub async fn terminate(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    transponder(&state, &body).await?.do_send(StopTransponder { info: "Stopped by rest /push/terminate".into() });
    Ok(void_ok())
}

pub async fn mute(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    transponder(&state, &body).await?.do_send(SetMuted(true));
    Ok(void_ok())
}

pub async fn unmute(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    transponder(&state, &body).await?.do_send(SetMuted(false));
    Ok(void_ok())
}

pub async fn sound_on(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    let target = transponder(&state, &body).await?;
    let file = body.required_string("soundFile")?;
    let looped = body.optional_bool("loop")?.unwrap_or(false);
    play_sound(&state, &target, file, looped).await?;
    Ok(void_ok())
}

pub async fn sound_off(state: web::Data<AppState>, body: RestBody) -> Result<HttpResponse, RestError> {
    transponder(&state, &body).await?.do_send(SoundOff);
    Ok(void_ok())
}
