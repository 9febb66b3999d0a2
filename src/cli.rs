//! Command line.

use crate::config::LogFormat;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const CONFIG_HELP: &str = "\
Configuration layers, later ones win:
  1. the embedded default (config/ferrophone.toml in the sources; see --print-config)
  2. --config FILE (or FERROPHONE_CONFIG=FILE): a TOML file with only the keys to change
  3. environment: FERROPHONE_<SECTION>__<KEY>=value, a double underscore between levels, e.g.
       FERROPHONE_SERVER__WS_PORT=9080
       FERROPHONE_SERVER__BIND_ADDRESS=127.0.0.1
       FERROPHONE_MEDIA__ADVERTISED_IP=203.0.113.10
       FERROPHONE_SESSION__KEEP_ALIVE__SERVER_INTERVAL=5000
       FERROPHONE_LOG__FORMAT=json
  4. --set section.key=value, e.g. --set server.http_port=9081 --set log.level=debug

Default ports (as Web Call Server): WebSocket 8080, HTTP/REST 8081; with
server.tls_certificate and server.tls_private_key set, also wss 8443 and https 8444.
The WebSDK demo pages are served under http://HOST:8081/client2/.";

#[derive(Parser)]
#[command(name = "ferrophone", version, about, after_help = CONFIG_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (what ferrophone does without a subcommand).
    Serve(ServeArgs),
    /// Drive a running server with many clients and report what they saw (benchmarks).
    Load(crate::load::LoadArgs),
}

#[derive(Args, Clone, Default)]
pub struct ServeArgs {
    /// TOML file layered over the embedded default configuration.
    #[arg(long, short, env = "FERROPHONE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one setting, e.g. --set server.ws_port=9080 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub set: Vec<(String, String)>,
    /// Log format (overrides log.format).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Once listening, write the bound ports as JSON to this file (ports configured as 0 are
    /// chosen by the system).
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Print the effective configuration as JSON and exit.
    #[arg(long)]
    pub print_config: bool,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (key, value) = s.split_once('=').ok_or_else(|| format!("'{s}' is not KEY=VALUE"))?;
    Ok((key.trim().to_owned(), value.to_owned()))
}
