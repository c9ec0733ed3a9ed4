//! The player's HTTP client to its controller: plain HTTP, or HTTPS trusting only the CA
//! `player add` pinned (`controller_ca_pem`), never the system's roots.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The certificates of `pem`, for pinning.
pub fn pinned(pem: &str) -> anyhow::Result<Arc<Vec<Certificate<'static>>>> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        if let PemItem::Certificate(cert) = item.context("the pinned controller CA is not PEM")? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        bail!("the pinned controller CA holds no certificate");
    }
    Ok(Arc::new(certs))
}

/// An agent that answers every status (the caller reads it), connects within 5 s and reads
/// a body within `body`.
pub fn agent(pinned: Option<&Arc<Vec<Certificate<'static>>>>, body: Duration) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(body));
    if let Some(certs) = pinned {
        config = config.tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(certs.clone()))
                .build(),
        );
    }
    config.build().into()
}
