//! Kamailio as the registrar and proxy of a test: digest authentication (qop=auth) against
//! users keyed by their authentication name, so a SIP login and its authentication name may
//! differ; registered users are called at their contact and users nobody registered are sent to
//! `upstream` (the server under test).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Kamailio {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl Kamailio {
    /// `users`: (authentication name, password).
    pub fn start(users: &[(&str, &str)], upstream_port: u16) -> Kamailio {
        let port = crate::common::sipp::free_udp_pair();
        let dir = std::env::temp_dir().join(format!("ferrophone-kamailio-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let users: String = users.iter().map(|(name, password)| format!("\t$sht(users=>{name}) = \"{password}\";\n")).collect();
        let config = include_str!("../sip_scenarios/kamailio.cfg")
            .replace("@PORT@", &port.to_string())
            .replace("@UPSTREAM_PORT@", &upstream_port.to_string())
            .replace("@USERS@", &users);
        std::fs::write(dir.join("kamailio.cfg"), config).unwrap();
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(dir.join("kamailio.cfg"))
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-w"])
            .arg(&dir)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("kamailio.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("kamailio.err")).unwrap())
            .spawn()
            .expect("kamailio runs (scripts/setup.sh installs it)");
        let kamailio = Kamailio { child: Some(child), port, dir };
        kamailio.wait_ready();
        kamailio
    }

    /// Until it answers an OPTIONS.
    fn wait_ready(&self) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let local = socket.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let options = format!(
                "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{n}\r\nFrom: <sip:probe@{local}>;tag=p\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: probe{n}@x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                port = self.port,
                n = Instant::now().elapsed().as_nanos()
            );
            let _ = socket.send_to(options.as_bytes(), ("127.0.0.1", self.port));
            let mut buffer = [0u8; 2048];
            if let Ok(len) = socket.recv(&mut buffer) {
                if buffer[..len].starts_with(b"SIP/2.0 200") {
                    return;
                }
            }
        }
        panic!("kamailio did not start: {}", self.log());
    }

    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}", read("kamailio.log"), read("kamailio.err"))
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // SIGTERM: the main process takes its worker processes down with it.
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- kamailio log ---\n{}", self.log());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
