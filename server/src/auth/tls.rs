//! TLS for client connections (`--tls-cert`, `--tls-key`): a rustls acceptor with ring as
//! its crypto, built once from PEM files. Clients ask for it with an SSLRequest (psql's
//! `sslmode=require`, `verify-full`) or connect with TLS directly (Postgres 17's
//! `sslnegotiation=direct`, which needs the `postgresql` ALPN protocol).
//!
//! Never: start a server whose certificate or key does not load; fail at startup instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls::pki_types::pem::PemObject;
use pgwire::tokio::tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use pgwire::tokio::tokio_rustls::rustls::{self, ServerConfig};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("cannot read the TLS private key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("the TLS certificate and key do not make a server configuration: {0}")]
    Config(#[from] rustls::Error),
}

pub(super) fn acceptor(certificate_path: &Path, key_path: &Path) -> Result<TlsAcceptor, TlsError> {
    let certificates = CertificateDer::pem_file_iter(certificate_path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::Certificate {
            path: certificate_path.to_owned(),
            message: error.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::Certificate {
            path: certificate_path.to_owned(),
            message: "no certificate in the file".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|error| TlsError::Key {
        path: key_path.to_owned(),
        message: error.to_string(),
    })?;
    // rustls' crypto provider for the process: ring, the one backend pgwire's
    // `server-api-ring` feature builds in.
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certificates, key)?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
