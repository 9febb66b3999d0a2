//! What a session needs to create WebRTC peers and calls: the shared media socket, the address
//! browsers reach it at, the server's DTLS identity, the media threads peers and streams run on,
//! and the SIP gateway.

use crate::media_socket::MediaSocket;
use crate::recordings::RecordPlace;
use crate::rtmp::target::NamingRules;
use crate::sip::SipGateway;
use crate::webrtc::peer_setup::{DtlsIdentity, ResendBuffers};
use actix::{Arbiter, ArbiterHandle};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How streams are pushed to RTMP servers (WCS `rtmp_*` settings).
#[derive(Debug, Clone)]
pub struct PushSettings {
    pub naming: NamingRules,
    /// Where `/push/sound_on` finds its WAV files.
    pub media_dir: PathBuf,
    pub aac_bitrate: usize,
    pub h264_bitrate: usize,
    /// How often a pushed stream's publisher is asked for a keyframe.
    pub keyframe_interval: Duration,
    pub connect_timeout: Duration,
    /// How long a failed push stays listed with its reason.
    pub failed_linger: Duration,
    /// `rtmp_push_auto_start_url`, when every published stream is pushed.
    pub auto_start_url: Option<String>,
}

pub struct MediaContext {
    pub socket: Arc<MediaSocket>,
    /// The host candidate put in every answer: the advertised address and the media port.
    pub candidate: SocketAddr,
    pub identity: DtlsIdentity,
    pub resend_buffers: ResendBuffers,
    pub push: Arc<PushSettings>,
    /// None when SIP could not start (the session then refuses SIP fields and calls).
    pub sip: Option<Arc<SipGateway>>,
    /// Where recordings are written, and the running ones.
    pub record: RecordPlace,
    workers: Vec<ArbiterHandle>,
    next_worker: AtomicUsize,
}

impl MediaContext {
    /// Starts `threads` media arbiters (at least one).
    pub fn new(
        socket: Arc<MediaSocket>,
        candidate: SocketAddr,
        resend_buffers: ResendBuffers,
        push: PushSettings,
        sip: Option<Arc<SipGateway>>,
        record: RecordPlace,
        threads: usize,
    ) -> Self {
        let workers = (0..threads.max(1)).map(|_| Arbiter::new().handle()).collect();
        MediaContext {
            socket,
            candidate,
            identity: DtlsIdentity::generate(),
            resend_buffers,
            push: Arc::new(push),
            sip,
            record,
            workers,
            next_worker: AtomicUsize::new(0),
        }
    }

    /// The media thread for the next peer or stream, in turn.
    pub fn worker(&self) -> ArbiterHandle {
        let i = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[i].clone()
    }
}
