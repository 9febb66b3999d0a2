//! Prometheus counters shared by every actor; `/metrics` encodes them as text.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub message: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    pub stream: String,
}

/// Cheap to clone: every field is a shared atomic.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Open signalling sockets, with or without a session.
    pub sockets_open: Gauge,
    /// Sessions that completed `connection`, attached to a socket.
    pub sessions_attached: Gauge,
    /// keepAlive sessions waiting for their client to re-attach.
    pub sessions_detached: Gauge,
    pub sessions_created: Counter,
    pub sessions_reattached: Counter,
    pub messages_in: Family<MessageLabels, Counter>,
    pub messages_out: Family<MessageLabels, Counter>,
    /// Bad input and failures by kind (malformed_json, unknown_message, panic, ...).
    pub errors: Family<KindLabels, Counter>,
    pub rest_requests: Family<KindLabels, Counter>,
    pub media_datagrams_in: Counter,
    pub media_datagrams_out: Counter,
    /// Media datagrams dropped, by reason (unknown_source, unverified_source, send_failed, ...).
    pub media_datagrams_dropped: Family<KindLabels, Counter>,
    /// Video packets players sent again because a viewer's NACK named them.
    pub media_resent: Counter,
    pub process_resident_memory_bytes: Gauge,
    pub stream_frames_in: Family<StreamLabels, Counter>,
    pub stream_bytes_in: Family<StreamLabels, Counter>,
    pub stream_frames_out: Family<StreamLabels, Counter>,
    pub stream_frames_dropped: Family<StreamLabels, Counter>,
    pub stream_viewers: Family<StreamLabels, Gauge>,
    pub peers: Gauge,
    pub rtmp_transponders: Gauge,
    pub rtmp_bytes_sent: Counter,
    pub rtmp_frames_dropped: Counter,
    pub rtmp_failures: Family<KindLabels, Counter>,
    /// The phone's audio of ended calls, from their jitter buffers: packets received, and turns
    /// lost (late packets included) and concealed.
    pub call_phone_audio: Family<KindLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ferrophone");
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            sockets_open: Gauge::default(),
            sessions_attached: Gauge::default(),
            sessions_detached: Gauge::default(),
            sessions_created: Counter::default(),
            sessions_reattached: Counter::default(),
            messages_in: Family::default(),
            messages_out: Family::default(),
            errors: Family::default(),
            rest_requests: Family::default(),
            media_datagrams_in: Counter::default(),
            media_datagrams_out: Counter::default(),
            media_datagrams_dropped: Family::default(),
            media_resent: Counter::default(),
            process_resident_memory_bytes: Gauge::default(),
            stream_frames_in: Family::default(),
            stream_bytes_in: Family::default(),
            stream_frames_out: Family::default(),
            stream_frames_dropped: Family::default(),
            stream_viewers: Family::default(),
            peers: Gauge::default(),
            rtmp_transponders: Gauge::default(),
            rtmp_bytes_sent: Counter::default(),
            rtmp_frames_dropped: Counter::default(),
            rtmp_failures: Family::default(),
            call_phone_audio: Family::default(),
        };
        registry.register("ws_sockets_open", "Open WebSocket signalling connections", m.sockets_open.clone());
        registry.register("sessions_attached", "Client sessions with a live socket", m.sessions_attached.clone());
        registry.register(
            "sessions_detached",
            "keepAlive sessions whose socket is gone, waiting for re-attach",
            m.sessions_detached.clone(),
        );
        registry.register("sessions_created", "Client sessions established", m.sessions_created.clone());
        registry.register("sessions_reattached", "keepAlive sessions re-attached by authToken", m.sessions_reattached.clone());
        registry.register("ws_messages_received", "Signalling messages received, by name", m.messages_in.clone());
        registry.register("ws_messages_sent", "Signalling messages sent, by name", m.messages_out.clone());
        registry.register("errors", "Rejected input and internal failures, by kind", m.errors.clone());
        registry.register("rest_requests", "REST requests, by response class", m.rest_requests.clone());
        registry.register("media_datagrams_received", "UDP datagrams on the media port", m.media_datagrams_in.clone());
        registry.register("media_datagrams_sent", "UDP datagrams sent from the media port", m.media_datagrams_out.clone());
        registry.register(
            "media_datagrams_dropped",
            "Media datagrams dropped, by reason",
            m.media_datagrams_dropped.clone(),
        );
        registry.register("media_packets_resent", "Video packets players sent again for NACKs", m.media_resent.clone());
        registry.register("stream_frames_received", "Frames from each stream's publisher", m.stream_frames_in.clone());
        registry.register("stream_bytes_received", "Media bytes from each stream's publisher", m.stream_bytes_in.clone());
        registry.register("stream_frames_sent", "Frames handed to each stream's subscribers", m.stream_frames_out.clone());
        registry.register(
            "stream_frames_dropped",
            "Frames a stream dropped because a subscriber was behind",
            m.stream_frames_dropped.clone(),
        );
        registry.register("stream_viewers", "Subscribers of each stream", m.stream_viewers.clone());
        registry.register("webrtc_peers", "Live WebRTC peers (publishers and players)", m.peers.clone());
        registry.register("rtmp_transponders", "Live RTMP pushes", m.rtmp_transponders.clone());
        registry.register("rtmp_bytes_sent", "Bytes written to RTMP servers", m.rtmp_bytes_sent.clone());
        registry.register(
            "rtmp_frames_dropped",
            "Media messages an RTMP push dropped because its server was behind",
            m.rtmp_frames_dropped.clone(),
        );
        registry.register("rtmp_push_failures", "RTMP pushes that failed, by kind", m.rtmp_failures.clone());
        registry.register(
            "call_phone_audio_packets",
            "Phone RTP audio of ended calls: received, lost (late included) and concealed",
            m.call_phone_audio.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident set size of the server process",
            m.process_resident_memory_bytes.clone(),
        );
        Metrics { registry: Arc::new(registry), ..m }
    }

    pub fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn media_dropped(&self, reason: &'static str) {
        self.media_datagrams_dropped.get_or_create(&KindLabels { kind: reason }).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_labelled_counters() {
        let m = Metrics::new();
        m.messages_in.get_or_create(&MessageLabels { message: "connection" }).inc();
        m.error("malformed_json");
        m.sessions_attached.inc();
        let text = m.encode();
        assert!(text.contains(r#"ferrophone_ws_messages_received_total{message="connection"} 1"#), "{text}");
        assert!(text.contains(r#"ferrophone_errors_total{kind="malformed_json"} 1"#), "{text}");
        assert!(text.contains("ferrophone_sessions_attached 1"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
