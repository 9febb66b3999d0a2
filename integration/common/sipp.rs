//! sipp as the phone of a test: a scenario written to a temporary directory, run on free
//! loopback ports, with its message trace kept to check what it received.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sipp {
    child: Option<Child>,
    pub sip_port: u16,
    dir: PathBuf,
}

/// A scenario of integration/sip_scenarios, as text.
pub fn scenario(name: &str) -> String {
    std::fs::read_to_string(format!("{}/integration/sip_scenarios/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A free UDP port pair (even port and the one above) on loopback.
pub fn free_udp_pair() -> u16 {
    free_udp_ports(2)
}

/// An even UDP port on loopback that is free, with the `count - 1` ports above it.
pub fn free_udp_ports(count: u16) -> u16 {
    loop {
        let first = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if !port.is_multiple_of(2) || port > u16::MAX - count {
            continue;
        }
        // All held at once, so that none of them is the first one found again.
        let rest: Result<Vec<_>, _> = (1..count).map(|i| std::net::UdpSocket::bind(("127.0.0.1", port + i))).collect();
        if rest.is_ok() {
            return port;
        }
    }
}

/// Ten seconds of a 440 Hz tone as raw µ-law, what sipp's `rtp_stream` plays.
pub fn tone_file(dir: &Path) -> PathBuf {
    let file = dir.join("tone440.ul");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=10"])
        .args(["-ac", "1", "-c:a", "pcm_mulaw", "-f", "mulaw"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not make the tone");
    file
}

impl Sipp {
    /// Runs `scenario` (XML text) against `remote` (empty for a UAS). `extra` are more sipp
    /// arguments (`-s`, `-key`, `-rtp_echo` ...).
    pub fn start(scenario: &str, remote: Option<String>, extra: &[&str]) -> Sipp {
        // sipp takes an audio RTP and RTCP pair at `-mp` and a video pair right above it; its
        // SIP port must be none of those four.
        let media_port = free_udp_ports(4);
        let sip_port = loop {
            let port = free_udp_pair();
            if port + 1 < media_port || port >= media_port + 4 {
                break port;
            }
        };
        let dir = std::env::temp_dir().join(format!("ferrophone-sipp-{}-{sip_port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("scenario.xml"), scenario).unwrap();
        tone_file(&dir);
        let mut command = Command::new("sipp");
        command.current_dir(&dir);
        if let Some(remote) = remote {
            command.arg(remote);
        }
        command
            .args(["-sf", "scenario.xml", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-m", "1", "-timeout", "60s", "-timeout_error", "-nostdin"])
            .args(["-p", &sip_port.to_string(), "-mp", &media_port.to_string()])
            .args(["-trace_msg", "-message_file", "messages.log", "-trace_err", "-error_file", "errors.log"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("sipp.out")).unwrap())
            .stderr(std::fs::File::create(dir.join("sipp.err")).unwrap());
        let child = command.spawn().expect("sipp runs (scripts/setup.sh installs sip-tester)");
        // sipp binds its ports at once; give it that moment before traffic.
        std::thread::sleep(Duration::from_millis(300));
        Sipp { child: Some(child), sip_port, dir }
    }

    /// Waits for sipp to finish its scenario; its exit code (0: the call went as scripted).
    pub fn wait(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "sipp did not finish:\n{}", self.messages());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every SIP message sipp sent and received.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(self.dir.join("messages.log")).unwrap_or_default()
    }

    /// Unexpected messages sipp saw, and its output.
    pub fn errors(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}{}", read("errors.log"), read("sipp.out"), read("sipp.err"))
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
