//! ferrophone: a media gateway where WebRTC browsers (Flashphoner WebSDK), SIP and RTMP meet.

use clap::Parser;
use ferrophone::{cli, config, load, server, telemetry};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(cli::Command::Serve(args)) => serve(args),
        Some(cli::Command::Load(args)) => load::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ferrophone: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: cli::ServeArgs) -> Result<(), String> {
    let mut config = config::Config::load(args.config.as_deref(), &args.set)?;
    if let Some(format) = args.log_format {
        config.log.format = format;
    }
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&config).expect("config serializes"));
        return Ok(());
    }
    telemetry::init(config.log.format, &config.log.level)?;
    ferrophone::raise_open_files_limit();
    // rustls needs one process-wide crypto provider; str0m uses the same aws-lc library.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    server::run(config, args.ready_file)
}
