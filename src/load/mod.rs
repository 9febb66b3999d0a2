//! `ferrophone load ...`: drives a running server (this one, or another one side by side) with
//! many real clients and reports what they saw. Benchmarks, not tests.

mod calls;
pub mod gro_receive;
pub mod encoded_media;
mod janus_session;
mod latency;
pub mod rtp_counter;
mod server_probe;
mod sessions;
pub mod simulated_loss;
mod stream_calls;
pub mod phone;
pub mod publisher;
mod pushes;
pub mod signalling;
pub mod stream_client;
mod streams;
pub mod synthetic_media;
pub mod webrtc_client;

use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum LoadCommand {
    /// Open WebSocket sessions that log in (connection → getUserData) and answer pings, hold
    /// them, then report handshake latency, failures and the server's memory per session.
    Sessions(sessions::SessionsArgs),
    /// Publish a synthetic H.264 or VP8 + Opus stream over WebRTC.
    Publish(streams::PublishArgs),
    /// Start many WebRTC viewers of one stream (optionally with its publisher) and report
    /// time to the first frame, packet loss, and the server's CPU and memory per viewer.
    Play(streams::PlayArgs),
    /// Push streams to an RTMP server many times at once and report the server's CPU and
    /// memory per push and the frames dropped.
    Push(pushes::PushArgs),
    /// Place many bridged SIP calls at once (str0m browser side, Opus ⇄ G.711 transcoded to a
    /// phone that echoes) and report call-setup latency and the server's CPU and memory per call.
    Calls(calls::CallsArgs),
    /// Place many SIP-as-stream calls by REST (`/call/startup` with `toStream`) to a phone
    /// that talks, with WebRTC players of each, and report setup latency and the server's CPU
    /// and memory per call.
    StreamCalls(stream_calls::StreamCallsArgs),
}

#[derive(Args)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub command: LoadCommand,
}

pub fn run(args: LoadArgs) -> Result<(), String> {
    crate::open_files::raise_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the load runtime: {e}"))?;
    match args.command {
        LoadCommand::Sessions(args) => runtime.block_on(sessions::run(args)),
        LoadCommand::Publish(args) => runtime.block_on(streams::run_publish(args)),
        LoadCommand::Play(args) => runtime.block_on(streams::run_play(args)),
        LoadCommand::Push(args) => runtime.block_on(pushes::run(args)),
        LoadCommand::Calls(args) => runtime.block_on(calls::run(args)),
        LoadCommand::StreamCalls(args) => runtime.block_on(stream_calls::run(args)),
    }
}
