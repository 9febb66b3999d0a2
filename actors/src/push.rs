//! Starting an RTMP push of a stream: what REST `/push/startup`, `rtmpUrl` on `publishStream`
//! and `rtmp_push_auto_start` share.

use crate::media_context::MediaContext;
use crate::metrics::Metrics;
use crate::registry::{ClaimTransponder, FindStream, Registry, TransponderStarted, TransponderSummary};
use crate::rtmp::target::{without_credentials, NamingRules, RtmpTarget};
use crate::rtmp_transponder::{RtmpTransponder, SetMuted};
use actix::prelude::*;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct PushRequest {
    pub stream_name: String,
    pub rtmp_url: String,
    /// Overrides `rtmp_transponder_full_url` for this push.
    pub full_url: Option<bool>,
    /// `options` as given (`{"action":"mute"}`, `{"action":"sound_on", ...}`), shown in find.
    pub options: Value,
    pub muted: bool,
    /// The video scaled to this size (`width`, `height` of the request), else as published.
    pub size: Option<(u32, u32)>,
    /// The name the RTMP server gets (before the naming rules), when not the stream's own: a
    /// REST call's `rtmpStream`.
    pub rtmp_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    BadUrl(String),
    StreamNotFound(String),
    AlreadyPushed,
    Unavailable,
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::BadUrl(why) => f.write_str(why),
            PushError::StreamNotFound(name) => write!(f, "Stream '{name}' not found"),
            PushError::AlreadyPushed => f.write_str("This stream is already pushed to this rtmpUrl"),
            PushError::Unavailable => f.write_str("Registry unavailable"),
        }
    }
}

/// Starts the push; returns how it looks in `/push/find`, and the transponder.
pub async fn start_push(
    registry: Addr<Registry>,
    media: Arc<MediaContext>,
    metrics: Metrics,
    request: PushRequest,
) -> Result<(TransponderSummary, Addr<RtmpTransponder>), PushError> {
    let settings = media.push.clone();
    let rules = NamingRules {
        prefix: settings.naming.prefix.clone(),
        full_url: request.full_url.unwrap_or(settings.naming.full_url),
    };
    let rtmp_name = request.rtmp_name.as_deref().unwrap_or(&request.stream_name);
    let target = RtmpTarget::resolve(&request.rtmp_url, rtmp_name, &rules).map_err(|e| PushError::BadUrl(e.to_string()))?;
    let stream = registry
        .send(FindStream { name: request.stream_name.clone() })
        .await
        .map_err(|_| PushError::Unavailable)?
        .ok_or_else(|| PushError::StreamNotFound(request.stream_name.clone()))?;
    let summary = TransponderSummary {
        media_session_id: Alphanumeric.sample_string(&mut rand::rng(), 26).to_lowercase(),
        stream_name: target.stream_name.clone(),
        source_stream_name: request.stream_name.clone(),
        rtmp_url: without_credentials(&request.rtmp_url),
        // The size asked for until the pushed video's own parameter sets tell it.
        width: request.size.map_or(0, |(w, _)| w),
        height: request.size.map_or(0, |(_, h)| h),
        muted: request.muted,
        sound_enabled: false,
        options: request.options,
        status: "CONNECTING".into(),
        info: String::new(),
        bytes_sent: 0,
        create_date: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
    };
    let claim = ClaimTransponder { summary: summary.clone(), requested_url: request.rtmp_url.clone() };
    if !registry.send(claim).await.map_err(|_| PushError::Unavailable)? {
        return Err(PushError::AlreadyPushed);
    }
    let transponder = {
        let (summary, registry) = (summary.clone(), registry.clone());
        let size = request.size;
        RtmpTransponder::start_in_arbiter(&media.worker().arbiter, move |_| {
            RtmpTransponder::new(summary, target, stream, size, registry, settings, metrics)
        })
    };
    if request.muted {
        transponder.do_send(SetMuted(true));
    }
    registry.do_send(TransponderStarted { media_session_id: summary.media_session_id.clone(), addr: transponder.clone() });
    Ok((summary, transponder))
}
