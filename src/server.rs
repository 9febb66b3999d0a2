//! `ferrophone serve`: starts the registry, the WebSocket and HTTP listeners, and shuts them
//! down in order on SIGINT/SIGTERM (sessions told first, then sockets closed).

use crate::advertised_ip::advertised_ip;
use crate::app_state::AppState;
use crate::config::Config;
use crate::http;
use actix_web::{web, App, HttpServer};
use ferrophone_actors::media_context::MediaContext;
use actix::Actor;
use ferrophone_actors::recorder::wait_for_recordings;
use ferrophone_actors::recordings::{RecordPlace, Recordings};
use ferrophone_actors::sip::rest_calls::{HangUpAll, RestCalls};
use ferrophone_actors::sip::SipGateway;
use ferrophone_actors::webrtc::peer_setup::ResendBuffers;
use ferrophone_actors::media_socket::MediaSocket;
use ferrophone_actors::metrics::Metrics;
use ferrophone_actors::registry::{Registry, ShutdownSessions, ShutdownTransponders};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The addresses actually bound (ports chosen by the OS when configured as 0).
#[derive(Debug, serde::Serialize)]
pub struct BoundPorts {
    pub ws: u16,
    pub http: u16,
    /// One per media thread.
    pub media_udp: Vec<u16>,
    /// SIP, UDP and TCP.
    pub sip: u16,
    pub wss: Option<u16>,
    pub https: Option<u16>,
}

pub fn run(config: Config, ready_file: Option<PathBuf>) -> Result<(), String> {
    let system = actix::System::new();
    system.block_on(serve(config, ready_file))
}

async fn serve(config: Config, ready_file: Option<PathBuf>) -> Result<(), String> {
    let tls = if config.tls_enabled() {
        Some(crate::tls::server_config(&config.server.tls_certificate, &config.server.tls_private_key)?)
    } else {
        None
    };
    let registry = Registry::start_supervised();
    let metrics = Metrics::new();
    let advertised_ip = advertised_ip(&config.media.advertised_ip, config.server.bind_address);
    let media_workers = if config.media.workers == 0 { num_cpus() } else { config.media.workers };
    let media_sockets = bind_media_ports(config.server.bind_address, config.media.udp_port, media_workers, &metrics)?;
    let sip = SipGateway::start(config.sip_settings(advertised_ip)).await.map_err(|e| format!("cannot start SIP: {e}"))?;
    let media = Arc::new(MediaContext::new(
        media_sockets,
        advertised_ip,
        ResendBuffers { video: config.media.video_resend_packets, audio: config.media.audio_resend_packets },
        config.push_settings(),
        Some(sip.clone()),
        RecordPlace { dir: PathBuf::from(&config.media.record_dir), recordings: Recordings::default().start() },
    ));
    let rest_calls = RestCalls::new(registry.clone(), media.clone(), metrics.clone()).start();
    let state = AppState {
        registry: registry.clone(),
        rest_calls: rest_calls.clone(),
        metrics,
        session_settings: Arc::new(config.session_settings()),
        media,
        advertised_ip,
        started: Instant::now(),
    };
    let bind = config.server.bind_address;
    let workers = if config.server.workers == 0 { num_cpus() } else { config.server.workers };
    let shutdown_timeout = config.server.shutdown_timeout;

    let ws_state = state.clone();
    let mut ws_server = HttpServer::new(move || {
        App::new().app_data(web::Data::new(ws_state.clone())).default_service(web::to(crate::ws::upgrade))
    })
    .workers(workers)
    // Signalling is bursts of small messages (setRemoteSDP, ring, talk): Nagle's algorithm
    // would hold each one back for the peer's delayed ACK, some 40 ms.
    .tcp_nodelay(true)
    .disable_signals()
    .shutdown_timeout(shutdown_timeout)
    .bind((bind, config.server.ws_port))
    .map_err(|e| format!("cannot listen for WebSocket on {bind}:{}: {e}", config.server.ws_port))?;
    if let Some(tls) = &tls {
        ws_server = ws_server
            .bind_rustls_0_23((bind, config.server.wss_port), tls.clone())
            .map_err(|e| format!("cannot listen for secure WebSocket on {bind}:{}: {e}", config.server.wss_port))?;
    }

    let http_state = state.clone();
    let client2_dir = config.client2_dir();
    if !client2_dir.join("flashphoner.js").is_file() {
        tracing::warn!(dir = %client2_dir.display(), "WebSDK not found: /client2/ will answer 404; run scripts/setup.sh");
    }
    let mut http_server = HttpServer::new(move || http::app(http_state.clone(), &client2_dir))
        .workers(workers)
        .tcp_nodelay(true)
        .disable_signals()
        .shutdown_timeout(shutdown_timeout)
        .bind((bind, config.server.http_port))
        .map_err(|e| format!("cannot listen for HTTP on {bind}:{}: {e}", config.server.http_port))?;
    if let Some(tls) = &tls {
        http_server = http_server
            .bind_rustls_0_23((bind, config.server.https_port), tls.clone())
            .map_err(|e| format!("cannot listen for HTTPS on {bind}:{}: {e}", config.server.https_port))?;
    }

    let ports = bound_ports(&ws_server.addrs(), &http_server.addrs(), state.media.ports(), sip.local.port(), tls.is_some());
    announce(&ports, &state);
    if let Some(path) = ready_file {
        std::fs::write(&path, serde_json::to_string(&ports).expect("ports serialize"))
            .map_err(|e| format!("cannot write --ready-file {}: {e}", path.display()))?;
    }

    let ws_running = ws_server.run();
    let http_running = http_server.run();
    let (ws_handle, http_handle) = (ws_running.handle(), http_running.handle());
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: telling sessions, then closing listeners");
        let pushes = registry.send(ShutdownTransponders).await.unwrap_or(0);
        let told = registry.send(ShutdownSessions).await.unwrap_or(0);
        let calls = rest_calls.send(HangUpAll).await.unwrap_or(0);
        tracing::info!(calls, "REST calls hung up");
        tracing::info!(pushes, "RTMP pushes told to end");
        tracing::info!(sessions = told, "sessions told to close");
        // Let the close frames leave before the listeners stop.
        tokio::time::sleep(Duration::from_millis(200)).await;
        tokio::join!(ws_handle.stop(true), http_handle.stop(true));
    });
    let (ws_result, http_result) = tokio::join!(ws_running, http_running);
    ws_result.and(http_result).map_err(|e| format!("server error: {e}"))?;
    // The streams have ended: their recordings finish their files.
    let _ = tokio::task::spawn_blocking(|| wait_for_recordings(Duration::from_secs(5))).await;
    sip.shutdown();
    tracing::info!("stopped");
    Ok(())
}

/// A media port per media thread: `first`, `first + 1`, ... (or any free ports, for 0).
fn bind_media_ports(address: IpAddr, first: u16, count: usize, metrics: &Metrics) -> Result<Vec<Arc<MediaSocket>>, String> {
    (0..count.max(1))
        .map(|i| {
            let port = if first == 0 { Some(0) } else { u16::try_from(i).ok().and_then(|i| first.checked_add(i)) };
            let port = port.ok_or_else(|| format!("{count} media ports from {first} go past 65535: lower media.workers or media.udp_port"))?;
            MediaSocket::bind(SocketAddr::new(address, port), metrics.clone()).map_err(|e| format!("cannot open the media port {port}/udp: {e}"))
        })
        .collect()
}

fn bound_ports(ws: &[SocketAddr], http: &[SocketAddr], media_udp: Vec<u16>, sip: u16, tls: bool) -> BoundPorts {
    let port = |addrs: &[SocketAddr], index: usize| addrs.get(index).map(SocketAddr::port);
    BoundPorts {
        ws: port(ws, 0).unwrap_or(0),
        http: port(http, 0).unwrap_or(0),
        media_udp,
        sip,
        wss: if tls { port(ws, 1) } else { None },
        https: if tls { port(http, 1) } else { None },
    }
}

fn announce(ports: &BoundPorts, state: &AppState) {
    tracing::info!(
        ws = ports.ws,
        http = ports.http,
        media_udp = ?ports.media_udp,
        sip = ports.sip,
        wss = ports.wss,
        https = ports.https,
        advertised_ip = %state.advertised_ip,
        "ferrophone {} listening",
        env!("CARGO_PKG_VERSION")
    );
    println!("ferrophone is running. WebSocket: ws://127.0.0.1:{}  REST: http://127.0.0.1:{}/rest-api/", ports.ws, ports.http);
    println!("Open the demo page: http://127.0.0.1:{}{}", ports.http, http::DEMO_PAGE);
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
