//! The viewer benchmark itself, run small: `ferrophone load play` against the real binary, and
//! the same viewers against Janus (scripts/load-janus.sh), must report every viewer playing the
//! whole stream. The figures of a benchmark mean nothing if its viewers silently stop working.

use crate::common::Server;
use std::path::Path;
use std::process::{Command, Output};

/// 600 kbps of video (60 to 100 packets a second) and 50 audio packets a second: a viewer
/// with audio alone, or with video for only part of the time, stays below.
const MIN_PACKET_RATE: f64 = 100.0;

/// The summary's count of viewers that lasted, and its RTP packets per viewer per second.
fn sustained_and_packet_rate(stdout: &str) -> (usize, f64) {
    let field = |label: &str| stdout.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("no '{label}' in:\n{stdout}")).to_owned();
    let sustained = field("sustained").split_whitespace().nth(1).unwrap().parse().unwrap();
    let packets = field("RTP packets");
    let rate = packets.split("; ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().parse().unwrap();
    assert!(packets.contains("loss 0.00 %"), "packets lost: {packets}");
    (sustained, rate)
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn load_play_reports_each_viewer_playing_the_whole_stream() {
    let server = Server::start_with(&[("log.level", "info")]);
    let output = Command::new(env!("CARGO_BIN_EXE_ferrophone"))
        .args(["load", "play", "--url", &server.ws_url(), "--health-url", &server.http_url("/health")])
        // Another loopback address than the server's: `--client-ip` is where viewers listen.
        .args(["--publish", "h264", "--viewers", "4", "--rate", "20", "--duration", "3", "--sample-every", "2", "--client-ip", "127.0.0.2"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "load play failed:\n{stdout}\n{stderr}");
    let (sustained, rate) = sustained_and_packet_rate(&stdout);
    assert_eq!(sustained, 4, "{stdout}");
    assert!(rate > MIN_PACKET_RATE, "{rate} packets per viewer per second:\n{stdout}");
    assert!(stdout.contains("server CPU") && stdout.contains("KB per viewer"), "no server figures:\n{stdout}");
}

#[test]
fn load_play_viewers_listen_on_the_client_address_given() {
    let server = Server::start_with(&[("log.level", "info")]);
    // TEST-NET-1: no address of this machine, so no viewer can take a socket there.
    let output = Command::new(env!("CARGO_BIN_EXE_ferrophone"))
        .args(["load", "play", "--url", &server.ws_url(), "--health-url", &server.http_url("/health")])
        .args(["--publish", "h264", "--viewers", "2", "--rate", "20", "--duration", "1", "--client-ip", "192.0.2.1"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "viewers played from an address the machine does not have:\n{stdout}");
    assert!(stdout.contains("2 x play: udp bind"), "the viewers' failure names their socket:\n{stdout}\n{stderr}");
}

#[test]
fn load_play_drives_janus_side_by_side_in_vp8_and_h264() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/load-janus.sh");
    for video in ["vp8", "h264"] {
        let output = Command::new(&script)
            .env("LOAD_BIN", env!("CARGO_BIN_EXE_ferrophone"))
            .env("JANUS_VIDEO", video)
            // A clip shorter than the run: a feed that stops after its first loop shows.
            .env("JANUS_CLIP_SECONDS", "2")
            .args(["--viewers", "3", "--rate", "10", "--duration", "4"])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "load-janus.sh with {video} failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("viewers of Janus mountpoint 1"), "{stdout}");
        let (sustained, rate) = sustained_and_packet_rate(&stdout);
        assert_eq!(sustained, 3, "{video}: {stdout}");
        assert!(rate > MIN_PACKET_RATE, "{video}: {rate} packets per viewer per second:\n{stdout}");
        assert!(stdout.contains("server CPU") && stdout.contains("KB per viewer"), "no figures for Janus:\n{stdout}");
    }
}
