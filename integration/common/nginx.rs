//! nginx with the RTMP module as the RTMP server pushes go to: application `live`, every
//! stream recorded to FLV, `on_publish` answered by nginx itself (403 when `pass=wrong`) and
//! logged with its query.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    child: Option<Child>,
    pub rtmp_port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Nginx {
    pub fn start() -> Nginx {
        let (rtmp_port, http_port) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("ferrophone-nginx-{}-{rtmp_port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["logs", "rec", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let config = format!(
            r#"load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
user root;
worker_processes 1;
pid nginx.pid;
error_log logs/error.log info;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp_port};
        chunk_size 4096;
        notify_method get;
        application live {{
            live on;
            record all;
            record_path {rec};
            record_unique on;
            on_publish http://127.0.0.1:{http_port}/on_publish;
            on_publish_done http://127.0.0.1:{http_port}/on_publish_done;
        }}
    }}
}}
http {{
    access_log off;
    client_body_temp_path tmp;
    proxy_temp_path tmp;
    fastcgi_temp_path tmp;
    uwsgi_temp_path tmp;
    scgi_temp_path tmp;
    log_format hook '$time_iso8601 $uri $args';
    server {{
        listen 127.0.0.1:{http_port};
        location /on_publish {{ access_log logs/hooks.log hook; if ($arg_pass = "wrong") {{ return 403; }} return 200; }}
        location /on_publish_done {{ access_log logs/hooks.log hook; return 200; }}
    }}
}}
"#,
            rec = dir.join("rec").display()
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let log = std::fs::File::create(dir.join("logs/stderr.log")).unwrap();
        let child = Command::new("nginx")
            .arg("-e")
            .arg("stderr")
            .arg("-p")
            .arg(format!("{}/", dir.display()))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nginx (scripts/setup.sh installs nginx-light and libnginx-mod-rtmp)");
        let nginx = Nginx { child: Some(child), rtmp_port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", rtmp_port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start: {}", nginx.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    pub fn rtmp_url(&self, app: &str) -> String {
        format!("rtmp://127.0.0.1:{}/{app}", self.rtmp_port)
    }

    pub fn log(&self) -> String {
        let read = |p: &str| std::fs::read_to_string(self.dir.join(p)).unwrap_or_default();
        format!("{}{}", read("logs/stderr.log"), read("logs/error.log"))
    }

    /// The `on_publish`/`on_publish_done` requests nginx made, one per line.
    pub fn hooks(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/hooks.log")).unwrap_or_default()
    }

    /// Recordings of a stream name, oldest first.
    pub fn recordings(&self, name: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with(&format!("{name}-"))))
            .collect();
        files.sort();
        files
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops nginx (by its pid) as an RTMP server that goes away would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("--- nginx log ---\n{}\n--- hooks ---\n{}", self.log(), self.hooks());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
