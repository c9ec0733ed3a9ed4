//! `signage-controller player add`: registers a player and writes the configuration file it
//! starts with (id, broker URL, credentials).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use content::protocol::PlayerId;
use mqtt_link::BrokerUrl;
use serde::Serialize;

use crate::broker::random_token;
use crate::config::{ControllerConfig, MqttMode};
use crate::serve::Endpoints;
use crate::store::{NewPlayer, Store};

pub struct Enrolment {
    pub id: String,
    pub ward: Option<String>,
    pub groups: Vec<String>,
    pub name: Option<String>,
    pub broker_url: Option<String>,
    pub controller_url: Option<String>,
    pub out: PathBuf,
}

/// The player's configuration file, as `signage-player run --config` reads it. Enrolment
/// answers it without the password, which the enrolling player chose itself.
#[derive(Serialize)]
pub struct PlayerFile<'a> {
    pub id: &'a str,
    pub broker_url: &'a str,
    /// The controller's HTTP origin, pinned: content and screenshots go only there.
    pub controller_url: &'a str,
    pub username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<&'a str>,
    /// Hex Ed25519 public key: the player shows only alerts signed with its private half.
    pub alert_public_key: &'a str,
    /// The CA of the embedded broker's TLS certificate, for `mqtts://`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<&'a str>,
    /// The CA the controller's HTTPS is pinned to, for an `https://` controller URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller_ca_pem: Option<&'a str>,
}

/// What every player's file shares: where to connect, whom to trust.
#[derive(Debug, Clone)]
pub struct PlayerFiles {
    broker_url: String,
    controller_url: String,
    alert_public_key: String,
    ca_pem: Option<String>,
    controller_ca_pem: Option<String>,
}

impl PlayerFiles {
    /// From the configuration, flags first (see [`broker_url_for_players`]).
    pub fn new(
        config: &ControllerConfig,
        broker_url: Option<String>,
        controller_url: Option<String>,
    ) -> anyhow::Result<PlayerFiles> {
        let url = broker_url_for_players(broker_url, config)?;
        let alert_key = crate::alert_key::load_or_create(&config.data_dir)?;
        let controller_url = controller_url_for_players(controller_url, config)?;
        let ca_file = config
            .http_ca_for_players
            .clone()
            .or_else(|| Endpoints::read(&config.data_dir).and_then(|e| e.http_ca_file));
        let controller_ca_pem = match (&ca_file, controller_url.starts_with("https://")) {
            (Some(path), true) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {} to pin in players", path.display()))?,
            ),
            (None, true) => anyhow::bail!(
                "the controller URL {controller_url} is https:// but no CA to pin in players is \
                 configured: set http.tls_ca_file (or http.tls_cert_file)"
            ),
            (_, false) => None,
        };
        Ok(PlayerFiles {
            broker_url: url.to_string(),
            controller_url,
            alert_public_key: crate::alert_key::public_hex(&alert_key),
            ca_pem: ca_for_players(&url, config)?,
            controller_ca_pem,
        })
    }

    pub fn file<'a>(&'a self, id: &'a str, password: Option<&'a str>) -> PlayerFile<'a> {
        PlayerFile {
            id,
            broker_url: &self.broker_url,
            controller_url: &self.controller_url,
            username: id,
            password,
            alert_public_key: &self.alert_public_key,
            ca_pem: self.ca_pem.as_deref(),
            controller_ca_pem: self.controller_ca_pem.as_deref(),
        }
    }

    /// The TOML file `signage-player run --config` reads.
    pub fn toml(&self, id: &str, password: &str) -> String {
        toml::to_string(&self.file(id, Some(password))).expect("the file serialises")
    }
}

/// The CA a player needs for `url`: the embedded broker's, when the URL is TLS (from the
/// configuration, else the CA a running controller made in the data directory).
fn ca_for_players(url: &BrokerUrl, config: &ControllerConfig) -> anyhow::Result<Option<String>> {
    match (&config.mqtt_tls, url.tls) {
        (Some(tls), true) => crate::mqtt_tls::players_ca(&config.data_dir, &tls.certificate),
        (None, true) => Ok(crate::mqtt_tls::existing_ca(&config.data_dir)),
        (_, false) => Ok(None),
    }
}

/// Which broker URL to write: an explicit flag, else the configured public URL, else what a
/// running controller on this data directory listens on, else the configured broker.
fn broker_url_for_players(
    flag: Option<String>,
    config: &ControllerConfig,
) -> anyhow::Result<BrokerUrl> {
    if let Some(url) = flag {
        return url.parse().context("--broker-url");
    }
    if let Some(url) = &config.public_mqtt_url {
        return Ok(url.clone());
    }
    if let Some(running) = Endpoints::read(&config.data_dir) {
        // TLS when the embedded broker offers it: credentials then never cross a LAN in clear.
        return running
            .mqtts
            .unwrap_or(running.mqtt)
            .parse()
            .context("endpoints file of the running controller");
    }
    if let (MqttMode::Embedded { .. }, Some(tls)) = (&config.mqtt, &config.mqtt_tls) {
        return Ok(BrokerUrl {
            tls: true,
            host: crate::serve::local_url_host(tls.listen).ip().to_string(),
            port: tls.listen.port(),
        });
    }
    Ok(match &config.mqtt {
        MqttMode::External { url, .. } => url.clone(),
        MqttMode::Embedded { listen } => BrokerUrl {
            tls: false,
            host: if listen.ip().is_unspecified() {
                "127.0.0.1".into()
            } else {
                listen.ip().to_string()
            },
            port: listen.port(),
        },
    })
}

/// Which HTTP origin to pin: an explicit flag, else the configured public URL, else what a
/// running controller on this data directory serves, else the configured listen address.
fn controller_url_for_players(
    flag: Option<String>,
    config: &ControllerConfig,
) -> anyhow::Result<String> {
    let url = flag
        .or_else(|| config.public_http_url.clone())
        .or_else(|| Endpoints::read(&config.data_dir).map(|running| running.http))
        .unwrap_or_else(|| {
            format!(
                "http://{}",
                crate::serve::local_url_host(config.http_listen)
            )
        });
    let url = url.trim_end_matches('/').to_string();
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    if !scheme_ok || host.is_empty() || host.contains('/') {
        anyhow::bail!(
            "--controller-url {url:?} must be an HTTP origin like http://signage.ward.example:8080"
        );
    }
    Ok(url)
}

pub async fn add_player(config: &ControllerConfig, enrolment: Enrolment) -> anyhow::Result<()> {
    let id: PlayerId = enrolment.id.parse()?;
    let store = open_store(config).await?;
    let files = PlayerFiles::new(config, enrolment.broker_url, enrolment.controller_url)?;
    let token = random_token();
    // Write the file first: a registered player whose credentials were lost is worse than a
    // file for a player that failed to register (which the next attempt overwrites).
    write_private(&enrolment.out, &files.toml(id.as_str(), &token))?;
    if let Err(e) = store
        .add_player(
            &NewPlayer {
                id: id.clone(),
                ward: enrolment.ward.clone(),
                groups: enrolment.groups.clone(),
                name: enrolment.name.clone(),
            },
            &token,
        )
        .await
    {
        let _ = std::fs::remove_file(&enrolment.out);
        return Err(e.into());
    }
    println!(
        "registered player {id}{}{}; configuration with its credentials written to {} (keep it private)",
        enrolment
            .ward
            .as_deref()
            .map(|w| format!(" in ward {w}"))
            .unwrap_or_default(),
        if enrolment.groups.is_empty() {
            String::new()
        } else {
            format!(", groups {}", enrolment.groups.join(", "))
        },
        enrolment.out.display()
    );
    if let MqttMode::External { .. } = config.mqtt {
        println!(
            "external broker: add the same credentials to it, e.g. `mosquitto_passwd -b /etc/mosquitto/passwd {id} <password from the file>` and reload Mosquitto"
        );
    }
    Ok(())
}

/// The store, once the alert key players are provisioned with is known to be the one the
/// enrolled players hold (see `alert_key::ensure_for_players`).
async fn open_store(config: &ControllerConfig) -> anyhow::Result<Store> {
    let store = Store::open(&config.data_dir)
        .await
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    crate::alert_key::ensure_for_players(&config.data_dir, &store).await?;
    Ok(store)
}

/// `player add-many`: `count` players `{prefix}-00001`.. with one store and one key, quiet
/// (registering a thousand players one process each takes minutes).
pub async fn add_many(
    config: &ControllerConfig,
    count: u32,
    prefix: &str,
    ward: Option<String>,
    groups: Vec<String>,
    broker_url: Option<String>,
    out_dir: &Path,
) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let files = PlayerFiles::new(config, broker_url, None)?;
    std::fs::create_dir_all(out_dir)?;
    for n in 1..=count {
        let id: PlayerId = format!("{prefix}-{n:05}").parse()?;
        let token = random_token();
        write_private(
            &out_dir.join(format!("{id}.toml")),
            &files.toml(id.as_str(), &token),
        )?;
        store
            .add_player(
                &NewPlayer {
                    id: id.clone(),
                    ward: ward.clone(),
                    groups: groups.clone(),
                    name: None,
                },
                &token,
            )
            .await?;
    }
    println!(
        "registered {count} players {prefix}-00001..; configurations in {}",
        out_dir.display()
    );
    Ok(())
}

/// The file holds a password: create it readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
