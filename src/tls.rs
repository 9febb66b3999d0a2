//! TLS for wss (8443) and https (8444) from a PEM certificate chain and private key.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

pub fn server_config(certificate: &str, private_key: &str) -> Result<ServerConfig, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("TLS certificate {certificate}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("TLS certificate {certificate}: no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(private_key).map_err(|e| format!("TLS private key {private_key}: {e}"))?;
    ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS certificate and key do not fit together: {e}"))
}
