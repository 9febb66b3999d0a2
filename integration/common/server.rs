use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
pub struct Ports {
    pub ws: u16,
    pub http: u16,
    /// One per media thread.
    pub media_udp: Vec<u16>,
    pub sip: u16,
    pub wss: Option<u16>,
    pub https: Option<u16>,
}

/// A running `ferrophone` on 127.0.0.1 with system-chosen ports, killed on drop.
pub struct Server {
    child: Option<Child>,
    pub ports: Ports,
    dir: PathBuf,
}

impl Server {
    /// `settings` are `--set` pairs layered over the test defaults.
    pub fn start_with(settings: &[(&str, &str)]) -> Server {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir()
            .join(format!("ferrophone-test-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ready = dir.join("ready.json");
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferrophone"));
        command.arg("--ready-file").arg(&ready);
        let defaults = [
            ("server.bind_address", "127.0.0.1"),
            ("server.ws_port", "0"),
            ("server.http_port", "0"),
            ("server.wss_port", "0"),
            ("server.https_port", "0"),
            ("media.udp_port", "0"),
            ("sip.port", "0"),
            ("server.workers", "2"),
            ("log.level", "debug"),
        ];
        for (key, value) in defaults.iter().chain(settings) {
            command.arg("--set").arg(format!("{key}={value}"));
        }
        let child = command.stdout(log.try_clone().unwrap()).stderr(log).stdin(Stdio::null()).spawn().unwrap();
        let mut server = Server { child: Some(child), ports: Ports { ws: 0, http: 0, media_udp: Vec::new(), sip: 0, wss: None, https: None }, dir };
        server.ports = server.wait_ready(&ready);
        server
    }

    fn wait_ready(&mut self, ready: &Path) -> Ports {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(text) = std::fs::read_to_string(ready) {
                if let Ok(ports) = serde_json::from_str(&text) {
                    return ports;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("ferrophone exited with {status} before listening:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "ferrophone not ready in 20 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.ports.ws)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports.http)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (up to `within`) for the process to exit.
    pub fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// A REST call: (HTTP status, body). `body` None sends a bodiless request.
    pub fn rest(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let request = ureq::request(method, &self.http_url(path)).set("Content-Type", "application/json");
        let result = match body {
            Some(body) => request.send_string(body),
            None => request.call(),
        };
        match result {
            Ok(response) => (response.status(), response.into_string().unwrap()),
            Err(ureq::Error::Status(code, response)) => (code, response.into_string().unwrap()),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// A REST call that must succeed with a JSON body.
    pub fn rest_json(&self, method: &str, path: &str, body: Option<&str>) -> serde_json::Value {
        let (status, text) = self.rest(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
    }

    /// Session ids of `/rest-api/connection/find_all`.
    pub fn session_ids(&self) -> Vec<String> {
        let list = self.rest_json("GET", "/rest-api/connection/find_all", None);
        list.as_array().unwrap().iter().map(|s| s["sessionId"].as_str().unwrap().to_owned()).collect()
    }

    /// Polls the REST session listing until `check` holds (or fails after 5 s).
    pub fn wait_for_sessions(&self, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let list = self.rest_json("GET", "/rest-api/connection/find_all", None);
            if check(&list) {
                return list;
            }
            assert!(Instant::now() < deadline, "{what}: sessions are {list}");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The value of one Prometheus sample line, e.g. `ferrophone_errors_total{kind="panic"}`.
    pub fn metric(&self, sample: &str) -> Option<f64> {
        let (status, text) = self.rest("GET", "/metrics", None);
        assert_eq!(status, 200);
        text.lines().find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- server log ({}) ---\n{}", self.dir.display(), self.log());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
