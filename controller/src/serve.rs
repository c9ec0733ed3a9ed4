//! `signage-controller serve`: wires store, broker, MQTT link and HTTP together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use content::protocol::{CONTROLLER_USERNAME, PresenceState, Topic};
use mqtt_link::{BrokerUrl, LinkOptions};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::broker;
use crate::config::{ControllerConfig, MqttMode};
use crate::fleet::{Fleet, LinkStatus, controller_presence};
use crate::http::{AppState, router};
use crate::library::ContentLibrary;
use crate::store::Store;

/// Written to the data directory once the controller listens, removed on a clean exit: tells
/// scripts, tests and `player add` the real addresses (port 0 in the configuration becomes a
/// real port).
#[derive(Debug, Serialize, Deserialize)]
pub struct Endpoints {
    pub http: String,
    pub mqtt: String,
    /// The embedded broker's `mqtts://` address, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtts: Option<String>,
    /// The CA players pin for the controller's HTTPS, so `player add` without the
    /// configuration file still pins it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_ca_file: Option<PathBuf>,
    pub pid: u32,
}

pub const ENDPOINTS_FILE: &str = "endpoints.json";

impl Endpoints {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(ENDPOINTS_FILE)
    }

    pub fn read(data_dir: &Path) -> Option<Endpoints> {
        let text = std::fs::read_to_string(Self::path(data_dir)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// The address a local client uses to reach a listener bound to `addr`.
pub fn local_url_host(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(
            if addr.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            },
            addr.port(),
        )
    } else {
        addr
    }
}

pub async fn serve(config: ControllerConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = Store::open(&config.data_dir)
        .await
        .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    crate::alert_key::ensure_for_players(&config.data_dir, &store).await?;
    store.mark_all_offline().await?;

    let session = broker::random_token()[..16].to_string();
    let will_topic = Topic::ControllerPresence.to_string();
    let will_payload = controller_presence(PresenceState::Offline, &session);
    let mut tls_url = None;
    // Connections the embedded broker's gate must close (nobody listens with an external one).
    let cuts = tokio::sync::broadcast::channel(crate::mqtt_gate::CUTS).0;
    let (link, mqtt_mode, player_url, embedded_broker) = match &config.mqtt {
        MqttMode::Embedded { listen } => {
            // What players send reaches the fleet straight from the embedded broker's gate.
            let (direct_tx, direct_rx) = tokio::sync::mpsc::channel(crate::fleet::FLEET_BACKLOG);
            let tls = match &config.mqtt_tls {
                Some(tls) => Some((
                    tls.listen,
                    crate::mqtt_tls::server_config(&config.data_dir, &tls.certificate)?,
                )),
                None => None,
            };
            let embedded = broker::start(*listen, tls, store.clone(), direct_tx, cuts.clone())?;
            tls_url = embedded.tls_addr.map(|addr| {
                let local = local_url_host(addr);
                BrokerUrl {
                    tls: true,
                    host: local.ip().to_string(),
                    port: local.port(),
                }
                .to_string()
            });
            let local = local_url_host(embedded.addr);
            let url = BrokerUrl {
                tls: false,
                host: local.ip().to_string(),
                port: local.port(),
            };
            info!(listen = %embedded.addr, "embedded MQTT broker listening");
            let internal = BrokerUrl {
                tls: false,
                host: embedded.internal.ip().to_string(),
                port: embedded.internal.port(),
            };
            let link = LinkOptions {
                url: internal,
                client_id: CONTROLLER_USERNAME.into(),
                username: Some(CONTROLLER_USERNAME.into()),
                password: Some(embedded.controller_password),
                ca_file: None,
                ca_pem: None,
                keep_alive: Duration::from_secs(config.keep_alive_secs),
                last_will: Some((will_topic, will_payload)),
            };
            (
                link,
                "embedded",
                config.public_mqtt_url.clone().unwrap_or(url),
                Some(crate::fleet::Embedded {
                    internal: embedded.internal,
                    inbox: direct_rx,
                }),
            )
        }
        MqttMode::External {
            url,
            username,
            password,
            ca_file,
        } => {
            let link = LinkOptions {
                url: url.clone(),
                client_id: format!("signage-controller-{session}"),
                username: username.clone(),
                password: password.clone(),
                ca_file: ca_file.clone(),
                ca_pem: None,
                keep_alive: Duration::from_secs(config.keep_alive_secs),
                last_will: Some((will_topic, will_payload)),
            };
            (
                link,
                "external",
                config
                    .public_mqtt_url
                    .clone()
                    .unwrap_or_else(|| url.clone()),
                None,
            )
        }
    };
    let options = link.to_mqtt_options()?;
    let status = Arc::new(LinkStatus::default());
    let library = ContentLibrary::open(&config.data_dir).with_context(|| {
        format!(
            "cannot prepare the content directory in {}",
            config.data_dir.display()
        )
    })?;

    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen for HTTP on {} (in use? pick another with --http)",
                config.http_listen
            )
        })?;
    let http_addr = local_url_host(listener.local_addr()?);
    let scheme = if config.http_tls.is_some() {
        "https"
    } else {
        "http"
    };
    let public_http = config
        .public_http_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{http_addr}"));
    let tls = config
        .http_tls
        .as_ref()
        .map(crate::http_tls::acceptor)
        .transpose()
        .context("cannot serve HTTPS")?;
    let screens = Arc::new(crate::screens::Screens::default());
    let alerts = crate::alerting::AlertService::start(
        store.clone(),
        &config.data_dir,
        config.alerts.clone(),
    )
    .await
    .context("cannot start the alert service")?;
    // Before the fleet: batches arriving at once need the history writer.
    let (replies, reply_rx) = crate::history::reply_channel();
    let history = crate::history::History::open(&config.data_dir, store.clone(), replies)
        .await
        .with_context(|| {
            format!(
                "cannot open the history in {}",
                config.data_dir.join("history").display()
            )
        })?;
    let client = Fleet::spawn(
        store.clone(),
        options,
        status.clone(),
        session.clone(),
        crate::fleet::ManifestSettings {
            base_url: public_http.clone(),
            horizon_days: config.horizon_days,
        },
        crate::fleet::Handlers {
            screens: screens.clone(),
            alerts: alerts.clone(),
            history: history.clone(),
        },
        embedded_broker,
    );
    crate::history::forward_replies(client.clone(), reply_rx);
    let endpoints = Endpoints {
        http: public_http.clone(),
        mqtt: player_url.to_string(),
        mqtts: tls_url,
        http_ca_file: config
            .http_tls
            .is_some()
            .then(|| config.http_ca_for_players.clone())
            .flatten(),
        pid: std::process::id(),
    };
    let endpoints_path = Endpoints::path(&config.data_dir);
    write_atomically(&endpoints_path, &serde_json::to_vec_pretty(&endpoints)?)?;
    println!(
        "signage-controller ready: console {} · MQTT {} ({mqtt_mode}) · data {}",
        endpoints.http,
        endpoints.mqtt,
        config.data_dir.display()
    );

    let refusals = Arc::new(crate::http_server::Refusals::default());
    let feeds = crate::feeds::spawn(
        alerts.clone(),
        store.clone(),
        config.alerts.jma.feeds.clone(),
    );
    let _ = alerts.feeds.set(feeds);
    let content_writes: Arc<tokio::sync::Mutex<()>> = Default::default();
    crate::unused_files::spawn(store.clone(), library.clone(), content_writes.clone());
    let state = AppState {
        store,
        link: status,
        started,
        mqtt_mode,
        mqtt_url: endpoints.mqtt.clone(),
        library,
        max_upload_bytes: config.max_upload_bytes,
        content_approval: config.content_approval,
        screens,
        alerts,
        login_limiter: Default::default(),
        secure_cookies: public_http.starts_with("https://"),
        history,
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        reports: Default::default(),
        lanes: crate::http_server::Lanes::new(refusals.clone()),
        content_writes,
        waiting: crate::waiting::Waiting::new(config.public),
        player_cuts: cuts,
        player_files: Arc::new(
            crate::enrol::PlayerFiles::new(&config, None, None)
                .context("cannot prepare the files enrolled players get")?,
        ),
        external_broker: matches!(config.mqtt, MqttMode::External { .. }),
    };
    crate::waiting::spawn(state.clone());
    let app = router(state);
    crate::http_server::serve(
        listener,
        app,
        config.http_limits,
        refusals,
        tls,
        shutdown_signal(),
    )
    .await;

    info!("shutting down");
    let payload = controller_presence(PresenceState::Offline, &session);
    let _ = mqtt_link::publish(&client, &Topic::ControllerPresence, payload).await;
    let _ = client.disconnect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = std::fs::remove_file(&endpoints_path);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

/// Writes a file so readers never see it half-written: a temporary file, then a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
