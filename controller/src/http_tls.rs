//! HTTPS for the console, the API and players' downloads: the operator's certificate and key
//! (`[http] tls_cert_file`, `tls_key_file`), reloaded without a restart when either file
//! changes (a renewed certificate is served to new connections within seconds; a broken
//! renewal is logged and the old certificate kept). `player add` pins `tls_ca_file` (else the
//! certificate file's chain) in each player, which trusts nothing else.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tracing::{info, warn};

/// How often the files are checked for a renewal.
const RELOAD_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The certificate served now, swapped when the files change.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().expect("not poisoned").clone())
    }
}

fn load(tls: &HttpTls) -> anyhow::Result<CertifiedKey> {
    let cert_pem = std::fs::read(&tls.cert).with_context(|| {
        format!(
            "cannot read config key http.tls_cert_file {}",
            tls.cert.display()
        )
    })?;
    let key_pem = std::fs::read(&tls.key).with_context(|| {
        format!(
            "cannot read config key http.tls_key_file {}",
            tls.key.display()
        )
    })?;
    let chain = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .context("the HTTPS certificate is not PEM")?;
    if chain.is_empty() {
        bail!("the HTTPS certificate file holds no certificate");
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .context("the HTTPS key is not PEM")?
        .context("the HTTPS key file holds no private key")?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider)
        .context("the HTTPS certificate and key do not fit together")?;
    Ok(certified)
}

fn modified(tls: &HttpTls) -> Option<(SystemTime, SystemTime)> {
    let at = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((at(&tls.cert)?, at(&tls.key)?))
}

/// The acceptor for the HTTP listener, and the task that reloads the certificate.
pub fn acceptor(tls: &HttpTls) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let current = Arc::new(Current(RwLock::new(Arc::new(load(tls)?))));
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(current.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tls = tls.clone();
    tokio::spawn(async move {
        let mut seen = modified(&tls);
        loop {
            tokio::time::sleep(RELOAD_CHECK).await;
            let now = modified(&tls);
            if now == seen {
                continue;
            }
            seen = now;
            match load(&tls) {
                Ok(certified) => {
                    *current.0.write().expect("not poisoned") = Arc::new(certified);
                    info!(cert = %tls.cert.display(), "HTTPS certificate reloaded");
                }
                Err(e) => warn!(
                    error = %format!("{e:#}"),
                    "the changed HTTPS certificate cannot be used; still serving the previous one"
                ),
            }
        }
    });
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
