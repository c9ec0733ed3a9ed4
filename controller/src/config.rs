//! The controller's configuration: a TOML file, then command-line flags on top.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mqtt_link::BrokerUrl;
use serde::Deserialize;

/// `controller.toml`. Every key is optional; unknown keys are errors so typos are caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub mqtt: MqttSection,
    #[serde(default)]
    pub content: ContentSection,
    /// The public waiting page (待たない窓口).
    #[serde(default)]
    pub public: PublicSection,
    /// Emergency alerts: confirmation policy, CAP intake, CAP areas onto wards.
    #[serde(default)]
    pub alerts: crate::alerting::AlertsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSection {
    /// Fewer people than this are never published as a number, only as a band (default 5).
    pub min_people: Option<u32>,
    /// People a counter area holds when full, for the bands (default 20).
    pub capacity: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSection {
    /// Largest file `POST /api/v1/content` accepts, in bytes (default 512 MiB).
    pub max_upload_bytes: Option<u64>,
    /// Whether `pr` accounts' content and schedule changes wait for an approver (default true).
    pub approval: Option<bool>,
    /// Days of schedule each player holds ahead, to ride out a network cut over a long
    /// closure such as 年末年始 (default 14, 1 to 60).
    pub horizon_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    pub listen: Option<SocketAddr>,
    /// The base URL players reach the controller's HTTP API under (manifests and content
    /// downloads), e.g. `http://signage.example:8080`; default: the local listen address.
    pub public_url: Option<String>,
    /// Reverse proxies (addresses or networks like `10.0.0.0/8`) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; from anyone else those headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Open HTTP connections at most (default 2048), and from one address (default 256).
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    /// Seconds a client may take to send a request's headers, and an idle connection stays
    /// open (default 15).
    pub header_timeout_secs: Option<u64>,
    /// HTTPS: the certificate (PEM, with its chain) and key, reloaded when they change.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// The CA `player add` pins in players (default: the certificate file's chain).
    pub tls_ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// Address of the embedded broker (default mode).
    pub listen: Option<SocketAddr>,
    /// URL of an external broker; set this instead of `listen` to use one.
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// The broker URL written into player configurations by `player add`, when players reach
    /// the broker under another name than the controller does.
    pub public_url: Option<String>,
    /// Seconds between MQTT keep-alives of the controller's own connection.
    pub keep_alive_secs: Option<u64>,
    /// Where the embedded broker also listens for `mqtts://` (e.g. `0.0.0.0:8883`).
    pub tls_listen: Option<SocketAddr>,
    /// The operator's certificate (PEM, with its chain) and key; without them the controller
    /// makes one under a CA of its own in the data directory.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// The CA `player add` writes into players for the operator's certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// Host names and addresses players use, for the generated certificate (localhost,
    /// 127.0.0.1 and this host's name are always in it).
    #[serde(default)]
    pub tls_names: Vec<String>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// How the controller reaches MQTT.
#[derive(Debug, Clone)]
pub enum MqttMode {
    /// A broker inside this process, listening here. Port 0 picks a free port.
    Embedded { listen: SocketAddr },
    /// An existing broker (Mosquitto, EMQX, ...).
    External {
        url: BrokerUrl,
        username: Option<String>,
        password: Option<String>,
        ca_file: Option<PathBuf>,
    },
}

/// The validated configuration `serve` runs with.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    pub data_dir: PathBuf,
    pub http_listen: SocketAddr,
    pub mqtt: MqttMode,
    pub public_mqtt_url: Option<BrokerUrl>,
    pub keep_alive_secs: u64,
    pub public_http_url: Option<String>,
    pub max_upload_bytes: u64,
    /// `pr` accounts' changes wait for an approver.
    pub content_approval: bool,
    /// Days of schedule each manifest covers.
    pub horizon_days: u32,
    pub public: crate::waiting::PublicSettings,
    pub alerts: crate::alerting::AlertsConfig,
    /// `mqtts://` on the embedded broker.
    pub mqtt_tls: Option<MqttTls>,
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    pub http_limits: crate::http_server::ConnectionLimits,
    /// HTTPS on the HTTP listener.
    pub http_tls: Option<crate::http_tls::HttpTls>,
    /// The CA players pin for an `https://` controller URL (the controller's own HTTPS, or a
    /// reverse proxy's): `http.tls_ca_file`, else `http.tls_cert_file`.
    pub http_ca_for_players: Option<PathBuf>,
}

/// The embedded broker's TLS listener.
#[derive(Debug, Clone)]
pub struct MqttTls {
    pub listen: SocketAddr,
    pub certificate: crate::mqtt_tls::Certificate,
}

pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;

/// Flags given on the command line; each wins over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub http_listen: Option<SocketAddr>,
    pub mqtt_listen: Option<SocketAddr>,
    pub mqtt_url: Option<String>,
    pub mqtt_username: Option<String>,
    pub mqtt_password: Option<String>,
    pub mqtt_ca_file: Option<PathBuf>,
    pub max_upload_bytes: Option<u64>,
}

pub const DEFAULT_HTTP: &str = "0.0.0.0:8080";
pub const DEFAULT_MQTT: &str = "0.0.0.0:1883";
pub const DEFAULT_DATA_DIR: &str = "signage-data";

impl ControllerConfig {
    pub fn resolve(file: ConfigFile, flags: Overrides) -> anyhow::Result<ControllerConfig> {
        let mqtt_file = file.mqtt;
        // A flag for one mode replaces the file's choice of the other mode.
        let (listen, url) = match (flags.mqtt_listen, flags.mqtt_url) {
            (Some(_), Some(_)) => bail!("--mqtt-listen and --mqtt-url exclude each other"),
            (Some(l), None) => (Some(l), None),
            (None, Some(u)) => (None, Some(u)),
            (None, None) => (mqtt_file.listen, mqtt_file.url),
        };
        let username = flags.mqtt_username.or(mqtt_file.username);
        let password = flags.mqtt_password.or(mqtt_file.password);
        let ca_file = flags.mqtt_ca_file.or(mqtt_file.ca_file);
        let mqtt = match (listen, url) {
            (Some(_), Some(_)) => bail!(
                "config key mqtt.listen (embedded broker) and mqtt.url (external broker) exclude each other; keep one"
            ),
            (None, Some(url)) => MqttMode::External {
                url: url.parse().context("config key mqtt.url")?,
                username,
                password,
                ca_file,
            },
            (listen, None) => {
                if username.is_some() || password.is_some() || ca_file.is_some() {
                    bail!(
                        "mqtt.username, mqtt.password and mqtt.ca_file apply to an external broker (mqtt.url); the embedded broker creates its own credentials"
                    );
                }
                MqttMode::Embedded {
                    listen: listen.unwrap_or_else(|| DEFAULT_MQTT.parse().expect("valid default")),
                }
            }
        };
        let mqtt_tls = match (mqtt_file.tls_listen, &mqtt) {
            (None, _) => {
                if mqtt_file.tls_cert_file.is_some() || mqtt_file.tls_key_file.is_some() {
                    bail!(
                        "config keys mqtt.tls_cert_file and mqtt.tls_key_file need mqtt.tls_listen"
                    );
                }
                None
            }
            (Some(_), MqttMode::External { .. }) => bail!(
                "config key mqtt.tls_listen is for the embedded broker; an external broker has its own TLS settings"
            ),
            (Some(listen), MqttMode::Embedded { .. }) => {
                let certificate = match (mqtt_file.tls_cert_file, mqtt_file.tls_key_file) {
                    (Some(cert), Some(key)) => crate::mqtt_tls::Certificate::Files {
                        cert,
                        key,
                        ca: mqtt_file.tls_ca_file,
                    },
                    (None, None) => {
                        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
                        if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
                            names.push(host.trim().to_string());
                        }
                        if !listen.ip().is_unspecified() {
                            names.push(listen.ip().to_string());
                        }
                        names.extend(mqtt_file.tls_names);
                        names.sort();
                        names.dedup();
                        crate::mqtt_tls::Certificate::Generated { names }
                    }
                    _ => bail!("config keys mqtt.tls_cert_file and mqtt.tls_key_file go together"),
                };
                Some(MqttTls {
                    listen,
                    certificate,
                })
            }
        };
        let public_mqtt_url = mqtt_file
            .public_url
            .map(|u| u.parse::<BrokerUrl>())
            .transpose()
            .context("config key mqtt.public_url")?;
        let keep_alive_secs = mqtt_file.keep_alive_secs.unwrap_or(15);
        if !(1..=3600).contains(&keep_alive_secs) {
            bail!(
                "config key mqtt.keep_alive_secs must be between 1 and 3600, got {keep_alive_secs}"
            );
        }
        let max_upload_bytes = flags
            .max_upload_bytes
            .or(file.content.max_upload_bytes)
            .unwrap_or(DEFAULT_MAX_UPLOAD_BYTES);
        if max_upload_bytes == 0 {
            bail!("config key content.max_upload_bytes must be greater than 0");
        }
        let defaults = crate::waiting::PublicSettings::default();
        let public = crate::waiting::PublicSettings {
            min_people: file.public.min_people.unwrap_or(defaults.min_people),
            capacity: file.public.capacity.unwrap_or(defaults.capacity),
        };
        if public.min_people < 2 || public.capacity == 0 {
            bail!(
                "config keys public.min_people must be at least 2 and public.capacity at least 1"
            );
        }
        let horizon_days = file
            .content
            .horizon_days
            .unwrap_or(crate::manifest::HORIZON_DAYS);
        if !(1..=60).contains(&horizon_days) {
            bail!("config key content.horizon_days must be between 1 and 60, got {horizon_days}");
        }
        let public_http_url = file
            .http
            .public_url
            .map(|u| u.trim_end_matches('/').to_string());
        if let Some(url) = &public_http_url
            && !url.starts_with("http://")
            && !url.starts_with("https://")
        {
            bail!("config key http.public_url must start with http:// or https://, got {url:?}");
        }
        let http_ca_for_players = file.http.tls_ca_file.or(file.http.tls_cert_file.clone());
        let http_tls = match (file.http.tls_cert_file, file.http.tls_key_file) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(crate::http_tls::HttpTls { cert, key }),
            _ => bail!("config keys http.tls_cert_file and http.tls_key_file go together"),
        };
        if http_tls.is_some()
            && let Some(url) = &public_http_url
            && !url.starts_with("https://")
        {
            bail!("config key http.public_url must be https:// when the controller serves HTTPS");
        }
        let trusted_proxies =
            crate::client_ip::TrustedProxies::parse(&file.http.trusted_proxies)
                .map_err(|e| anyhow::anyhow!("config key http.trusted_proxies: {e}"))?;
        let mut http_limits = crate::http_server::ConnectionLimits::default();
        for (key, given, slot) in [
            (
                "http.max_connections",
                file.http.max_connections,
                &mut http_limits.max_connections,
            ),
            (
                "http.max_connections_per_address",
                file.http.max_connections_per_address,
                &mut http_limits.max_per_address,
            ),
        ] {
            match given {
                Some(0) => bail!("config key {key} must be greater than 0"),
                Some(n) => *slot = n,
                None => {}
            }
        }
        match file.http.header_timeout_secs {
            Some(s @ 1..=600) => http_limits.header_timeout = std::time::Duration::from_secs(s),
            Some(s) => {
                bail!("config key http.header_timeout_secs must be between 1 and 600, got {s}")
            }
            None => {}
        }
        let alerts = crate::alerting::AlertsConfig::resolve(file.alerts)?;
        Ok(ControllerConfig {
            trusted_proxies,
            http_tls,
            http_ca_for_players,
            http_limits,
            alerts,
            mqtt_tls,
            public_http_url,
            max_upload_bytes,
            content_approval: file.content.approval.unwrap_or(true),
            horizon_days,
            public,
            data_dir: flags
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
            http_listen: flags
                .http_listen
                .or(file.http.listen)
                .unwrap_or_else(|| DEFAULT_HTTP.parse().expect("valid default")),
            mqtt,
            public_mqtt_url,
            keep_alive_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<ConfigFile> {
        Ok(toml::from_str(text)?)
    }

    #[test]
    fn defaults_are_an_embedded_broker() {
        let c = ControllerConfig::resolve(ConfigFile::default(), Overrides::default()).unwrap();
        assert!(matches!(c.mqtt, MqttMode::Embedded { listen } if listen.port() == 1883));
        assert_eq!(c.http_listen.port(), 8080);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
    }

    #[test]
    fn flags_win_over_the_file() {
        let file = parse("data_dir = \"/srv/a\"\n[mqtt]\nurl = \"mqtt://broker:1883\"\n").unwrap();
        let flags = Overrides {
            data_dir: Some("/srv/b".into()),
            mqtt_listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        };
        let c = ControllerConfig::resolve(file, flags).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/b"));
        assert!(matches!(c.mqtt, MqttMode::Embedded { .. }));
    }

    #[test]
    fn external_broker_keeps_its_credentials() {
        let file = parse(
            "[mqtt]\nurl = \"mqtts://broker.example\"\nusername = \"controller\"\npassword = \"s\"\nca_file = \"/etc/ca.pem\"\n",
        )
        .unwrap();
        let c = ControllerConfig::resolve(file, Overrides::default()).unwrap();
        match c.mqtt {
            MqttMode::External { url, username, .. } => {
                assert_eq!((url.tls, url.port), (true, 8883));
                assert_eq!(username.as_deref(), Some("controller"));
            }
            other => panic!("expected external, got {other:?}"),
        }
    }

    #[test]
    fn mistakes_name_the_offending_key() {
        let err = parse("[http]\nlisten_addr = \"0.0.0.0:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_addr"), "{err}");
        let both = parse("[mqtt]\nlisten = \"0.0.0.0:1883\"\nurl = \"mqtt://x\"\n").unwrap();
        let err = ControllerConfig::resolve(both, Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mqtt.listen") && err.contains("mqtt.url"),
            "{err}"
        );
        let bad_url = parse("[mqtt]\nurl = \"http://x\"\n").unwrap();
        let err = format!(
            "{:#}",
            ControllerConfig::resolve(bad_url, Overrides::default()).unwrap_err()
        );
        assert!(err.contains("mqtt.url") && err.contains("scheme"), "{err}");
        let proxies = parse("[http]\ntrusted_proxies = [\"10.0.0.0/80\"]\n").unwrap();
        let err = format!(
            "{:#}",
            ControllerConfig::resolve(proxies, Overrides::default()).unwrap_err()
        );
        assert!(
            err.contains("http.trusted_proxies") && err.contains("10.0.0.0/80"),
            "{err}"
        );
        let stray = parse("[mqtt]\npassword = \"p\"\n").unwrap();
        assert!(ControllerConfig::resolve(stray, Overrides::default()).is_err());
    }
}
