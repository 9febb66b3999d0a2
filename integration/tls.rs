//! With a certificate configured, wss and https serve the same protocol as ws and http.

use crate::common::{Server, WsClient};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

struct TestCertificate {
    cert_pem: String,
    cert_path: String,
    key_path: String,
}

fn make_certificate(dir: &std::path::Path) -> TestCertificate {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).unwrap();
    TestCertificate {
        cert_pem: certified.cert.pem(),
        cert_path: cert_path.display().to_string(),
        key_path: key_path.display().to_string(),
    }
}

fn connector(cert: &TestCertificate) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

use rustls::pki_types::pem::PemObject;

#[tokio::test]
async fn wss_and_https_with_a_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("ferrophone-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = make_certificate(&dir);
    let server = Server::start_with(&[
        ("server.tls_certificate", &cert.cert_path),
        ("server.tls_private_key", &cert.key_path),
        ("session.keep_alive.algorithm", "NONE"),
    ]);
    let wss = server.ports.wss.expect("wss port bound");
    let https = server.ports.https.expect("https port bound");
    let name = ServerName::try_from("localhost").unwrap();

    let tcp = TcpStream::connect(("127.0.0.1", wss)).await.unwrap();
    let tls = connector(&cert).connect(name.clone(), tcp).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("wss://localhost:{wss}/"), tls).await.unwrap();
    let connection = serde_json::json!({"message": "connection", "data": [WsClient::connection_payload(serde_json::json!({}))]});
    ws.send(Message::text(connection.to_string())).await.unwrap();
    let Some(Ok(Message::Text(reply))) = ws.next().await else { panic!("no reply over wss") };
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["message"], "getUserData");
    assert_eq!(reply["data"][0]["status"], "ESTABLISHED");

    let tcp = TcpStream::connect(("127.0.0.1", https)).await.unwrap();
    let mut tls = connector(&cert).connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /rest-api/connection/find_all HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ESTABLISHED\""), "{response}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wrong_certificate_path_is_a_clear_startup_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ferrophone"))
        .args(["--set", "server.tls_certificate=/nonexistent/cert.pem", "--set", "server.tls_private_key=/nonexistent/key.pem"])
        .args(["--set", "server.ws_port=0", "--set", "server.http_port=0", "--set", "media.udp_port=0"])
        .args(["--set", "server.bind_address=127.0.0.1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/cert.pem"), "{stderr}");
}
