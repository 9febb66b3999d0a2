//! What a session needs to create WebRTC peers and calls: the media threads peers and streams
//! run on, each with its media socket and the address browsers reach that at, the server's DTLS
//! identity, and the SIP gateway.

use crate::media_socket::MediaSocket;
use crate::recordings::RecordPlace;
use crate::rtmp::target::NamingRules;
use crate::sip::SipGateway;
use crate::webrtc::peer_setup::{DtlsIdentity, ResendBuffers};
use actix::{Arbiter, ArbiterHandle};
use std::net::{IpAddr, SocketAddr};
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

/// A media thread: the peers it runs send and receive on its socket.
#[derive(Clone)]
pub struct MediaWorker {
    pub arbiter: ArbiterHandle,
    pub socket: Arc<MediaSocket>,
    /// The host candidate in the answers of its peers: the advertised address and its port.
    pub candidate: SocketAddr,
}

pub struct MediaContext {
    pub identity: DtlsIdentity,
    pub resend_buffers: ResendBuffers,
    pub push: Arc<PushSettings>,
    /// None when SIP could not start (the session then refuses SIP fields and calls).
    pub sip: Option<Arc<SipGateway>>,
    /// Where recordings are written, and the running ones.
    pub record: RecordPlace,
    workers: Vec<MediaWorker>,
    next_worker: AtomicUsize,
}

impl MediaContext {
    /// Starts a media thread for each of `sockets` (at least one), which reads it; browsers
    /// reach them at `advertised_ip`.
    pub fn new(
        sockets: Vec<Arc<MediaSocket>>,
        advertised_ip: IpAddr,
        resend_buffers: ResendBuffers,
        push: PushSettings,
        sip: Option<Arc<SipGateway>>,
        record: RecordPlace,
    ) -> Self {
        assert!(!sockets.is_empty(), "a media thread needs a media socket");
        let workers = sockets
            .into_iter()
            .map(|socket| {
                let arbiter = Arbiter::new().handle();
                arbiter.spawn(socket.clone().receive());
                MediaWorker { arbiter, candidate: SocketAddr::new(advertised_ip, socket.local_addr().port()), socket }
            })
            .collect();
        MediaContext {
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
    pub fn worker(&self) -> MediaWorker {
        let i = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[i].clone()
    }

    /// The media ports, one per media thread.
    pub fn ports(&self) -> Vec<u16> {
        self.workers.iter().map(|worker| worker.socket.local_addr().port()).collect()
    }
}
