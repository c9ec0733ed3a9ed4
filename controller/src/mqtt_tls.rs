//! `mqtts://` for the embedded broker: the gate terminates TLS with the operator's certificate,
//! or with one the controller makes at every start under a CA of its own. The CA lives in the
//! data directory (`mqtt-ca.pem`, `mqtt-ca.key`, owner-only) and `player add` writes it into
//! each player's configuration (`ca_pem`), so credentials need not cross a LAN in clear and no
//! player trusts anything but this controller's broker.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

const CA_CERT: &str = "mqtt-ca.pem";
const CA_KEY: &str = "mqtt-ca.key";
const CA_NAME: &str = "signage-controller MQTT CA";

/// Where the gate's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Certificate {
    /// Made at start under the data directory's CA, for these names and addresses.
    Generated { names: Vec<String> },
    /// The operator's PEM files; `ca` (optional) is what `player add` gives players.
    Files {
        cert: PathBuf,
        key: PathBuf,
        ca: Option<PathBuf>,
    },
}

/// The CA players are given, if this controller has one to give.
pub fn players_ca(data_dir: &Path, certificate: &Certificate) -> anyhow::Result<Option<String>> {
    match certificate {
        Certificate::Generated { .. } => Ok(Some(load_or_create_ca(data_dir)?.0)),
        Certificate::Files { ca: Some(path), .. } => std::fs::read_to_string(path)
            .map(Some)
            .with_context(|| format!("cannot read config key mqtt.tls_ca_file {}", path.display())),
        Certificate::Files { ca: None, .. } => Ok(None),
    }
}

/// The CA the controller made, if it made one.
pub fn existing_ca(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(CA_CERT)).ok()
}

/// The gate's TLS configuration.
pub fn server_config(
    data_dir: &Path,
    certificate: &Certificate,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (cert_pem, key_pem) = match certificate {
        Certificate::Generated { names } => {
            let (ca_pem, ca_key_pem) = load_or_create_ca(data_dir)?;
            let issuer = Issuer::new(ca_params()?, KeyPair::from_pem(&ca_key_pem)?);
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(names.clone())
                .context("config key mqtt.tls_names: not valid DNS names or IP addresses")?;
            params.distinguished_name = name("signage-controller MQTT");
            let cert = params.signed_by(&key, &issuer)?;
            // The chain players verify: this certificate, then the CA they hold.
            (format!("{}{ca_pem}", cert.pem()), key.serialize_pem())
        }
        Certificate::Files { cert, key, .. } => (
            std::fs::read_to_string(cert).with_context(|| {
                format!(
                    "cannot read config key mqtt.tls_cert_file {}",
                    cert.display()
                )
            })?,
            std::fs::read_to_string(key).with_context(|| {
                format!("cannot read config key mqtt.tls_key_file {}", key.display())
            })?,
        ),
    };
    let chain = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("the MQTT TLS certificate is not PEM")?;
    if chain.is_empty() {
        bail!("the MQTT TLS certificate file holds no certificate");
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .context("the MQTT TLS key is not PEM")?
        .context("the MQTT TLS key file holds no private key")?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the MQTT TLS certificate and key do not fit together")?;
    Ok(Arc::new(config))
}

fn name(common: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common);
    dn
}

/// The CA's parameters; the same at every start, so the stored key signs as the stored CA.
fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = name(CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2026, 1, 1);
    params.not_after = rcgen::date_time_ymd(2046, 1, 1);
    Ok(params)
}

/// (CA certificate PEM, CA key PEM), created on first use. `create_new` makes two processes
/// that race here (serve and `player add`) end with one CA.
fn load_or_create_ca(data_dir: &Path) -> anyhow::Result<(String, String)> {
    let (cert_path, key_path) = (data_dir.join(CA_CERT), data_dir.join(CA_KEY));
    if !key_path.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let key = KeyPair::generate()?;
        let cert = ca_params()?.self_signed(&key)?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
        {
            Ok(mut file) => {
                write_synced(&cert_path, cert.pem().as_bytes())?;
                file.write_all(key.serialize_pem().as_bytes())?;
                file.sync_all()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", key_path.display()));
            }
        }
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {}; restore it from a backup, or delete both {CA_CERT} and {CA_KEY} \
                 and provision every player again with `player add`",
                path.display()
            )
        })
    };
    Ok((read(&cert_path)?, read(&key_path)?))
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_made_once_and_the_certificate_is_signed_by_it() {
        let dir = tempfile::tempdir().unwrap();
        let generated = Certificate::Generated {
            names: vec!["localhost".into(), "127.0.0.1".into()],
        };
        let ca = players_ca(dir.path(), &generated).unwrap().unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(players_ca(dir.path(), &generated).unwrap().unwrap(), ca);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(CA_KEY))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        server_config(dir.path(), &generated).unwrap();
    }

    #[test]
    fn bad_names_and_missing_files_say_which_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = server_config(
            dir.path(),
            &Certificate::Generated {
                names: vec!["北区.example".into()],
            },
        );
        assert!(err.is_err());
        let err = server_config(
            dir.path(),
            &Certificate::Files {
                cert: "/nonexistent/cert.pem".into(),
                key: "/nonexistent/key.pem".into(),
                ca: None,
            },
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("mqtt.tls_cert_file"), "{err:#}");
    }
}
