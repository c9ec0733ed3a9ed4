use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use controller::config::{ConfigFile, ControllerConfig, Overrides};
use controller::enrol::{Enrolment, add_player};

/// Signage controller: serves the console and API, runs or joins the MQTT broker, and keeps
/// every player's desired state.
#[derive(Parser)]
#[command(name = "signage-controller", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text (default) or one JSON object each, for a log collector.
    #[arg(
        long,
        global = true,
        env = "SIGNAGE_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// TOML configuration file (see deploy/controller.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (database, runtime files).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Serve {
        #[command(flatten)]
        common: Common,
        /// HTTP listen address, e.g. 0.0.0.0:8080 (port 0 picks a free port).
        #[arg(long = "http")]
        http: Option<SocketAddr>,
        /// Run the embedded MQTT broker on this address (the default mode).
        #[arg(long, conflicts_with = "mqtt_url")]
        mqtt_listen: Option<SocketAddr>,
        /// Use an external broker instead: mqtt://host:port or mqtts://host:port.
        #[arg(long)]
        mqtt_url: Option<String>,
        /// Username on the external broker.
        #[arg(long)]
        mqtt_username: Option<String>,
        /// Password on the external broker.
        #[arg(long, env = "SIGNAGE_MQTT_PASSWORD", hide_env_values = true)]
        mqtt_password: Option<String>,
        /// CA certificate (PEM) of an mqtts:// broker.
        #[arg(long)]
        mqtt_ca_file: Option<PathBuf>,
        /// Largest accepted upload in bytes (default 512 MiB).
        #[arg(long)]
        max_upload_bytes: Option<u64>,
    },
    /// Demonstration data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Manage players.
    Player {
        #[command(subcommand)]
        command: PlayerCommand,
    },
    /// Manage staff accounts (the first administrator is made here).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens for automation (`Authorization: Bearer TOKEN`).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write one archive of everything the controller needs on another machine (store
    /// snapshot, content, player builds, history, the alert-signing key, the configuration),
    /// while it runs.
    Backup {
        #[command(flatten)]
        common: Common,
        /// The archive to write (tar), e.g. /srv/backup/signage-2026-12-08.tar
        #[arg(long)]
        out: PathBuf,
    },
    /// Bring a backup back into an empty data directory.
    Restore {
        /// The archive `backup` wrote.
        #[arg(long)]
        from: PathBuf,
        /// Data directory to fill (must hold no store yet).
        #[arg(long, default_value = controller::config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// Where to write the configuration file the backup carries (must not exist).
        #[arg(long)]
        config_out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account, or reset the role and password of an existing one. Without
    /// --password-stdin a random password is generated and printed.
    Add {
        /// Account name, e.g. yamada.t
        name: String,
        #[command(flatten)]
        common: Common,
        /// admin, pr, approver, disaster or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; the token is the last line printed (shown once, only its hash is kept).
    Create {
        #[command(flatten)]
        common: Common,
        /// admin, pr, approver, disaster or viewer.
        #[arg(long)]
        role: String,
        /// What the token is for, e.g. "jma-feed".
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Creates sample content through a running controller's HTTP API: generated images, a
    /// short video (when GStreamer is installed), Japanese and English slides about ward
    /// services, layouts and a schedule. Safe to run again.
    Seed {
        #[command(flatten)]
        common: Common,
        /// The controller's HTTP base URL (default: read from the data directory).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum PlayerCommand {
    /// Register a player and write its configuration (id, broker URL, credentials).
    Add {
        /// Player id: a-z, 0-9, '-' and '_', e.g. kita-1f-lobby.
        id: String,
        #[command(flatten)]
        common: Common,
        /// Ward the player belongs to, e.g. kita.
        #[arg(long)]
        ward: Option<String>,
        /// Screen group, e.g. lobby; repeat for several groups.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// What staff call the screen, e.g. "北区役所 1F 総合案内".
        #[arg(long)]
        name: Option<String>,
        /// Broker URL the player connects to (default: the controller's).
        #[arg(long)]
        broker_url: Option<String>,
        /// The controller's HTTP origin the player fetches content from and sends screenshots
        /// to, and nowhere else (default: the public URL, else the running controller's).
        #[arg(long)]
        controller_url: Option<String>,
        /// Where to write the player's configuration file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Register many players at once (benchmarks, staging): PREFIX-00001 .. PREFIX-N, each
    /// configuration written to OUT_DIR/ID.toml.
    AddMany {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        count: u32,
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        ward: Option<String>,
        #[arg(long = "group")]
        groups: Vec<String>,
        #[arg(long)]
        broker_url: Option<String>,
        #[arg(long)]
        out_dir: PathBuf,
    },
}

fn load(common: &Common, mut flags: Overrides) -> anyhow::Result<ControllerConfig> {
    let file = match &common.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    flags.data_dir = common.data_dir.clone();
    ControllerConfig::resolve(file, flags)
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,rumqttd=warn,sqlx=warn".into());
    // The embedded broker opens an error-level span per connection and per publish (with the
    // topic formatted into it); kept, they cost more than routing the message. Its events
    // (warnings, errors) still reach the log.
    let no_broker_spans = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.is_span() && meta.target().starts_with("rumqttd"))
    });
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
        LogFormat::Text => layer
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(layer.with_filter(no_broker_spans))
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    controller::memory::return_large_blocks();
    match cli.command {
        Command::Serve {
            common,
            http,
            mqtt_listen,
            mqtt_url,
            mqtt_username,
            mqtt_password,
            mqtt_ca_file,
            max_upload_bytes,
        } => {
            let config = load(
                &common,
                Overrides {
                    http_listen: http,
                    mqtt_listen,
                    mqtt_url,
                    mqtt_username,
                    mqtt_password,
                    mqtt_ca_file,
                    max_upload_bytes,
                    ..Default::default()
                },
            )?;
            controller::serve::serve(config).await
        }
        Command::Demo {
            command: DemoCommand::Seed { common, url },
        } => {
            let config = load(&common, Overrides::default())?;
            controller::demo::seed(&config, url).await
        }
        Command::Player {
            command:
                PlayerCommand::Add {
                    id,
                    common,
                    ward,
                    groups,
                    name,
                    broker_url,
                    controller_url,
                    out,
                },
        } => {
            let config = load(&common, Overrides::default())?;
            add_player(
                &config,
                Enrolment {
                    id,
                    ward,
                    groups,
                    name,
                    broker_url,
                    controller_url,
                    out,
                },
            )
            .await
        }
        Command::Player {
            command:
                PlayerCommand::AddMany {
                    common,
                    count,
                    prefix,
                    ward,
                    groups,
                    broker_url,
                    out_dir,
                },
        } => {
            let config = load(&common, Overrides::default())?;
            controller::enrol::add_many(&config, count, &prefix, ward, groups, broker_url, &out_dir)
                .await
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    common,
                    role,
                    password_stdin,
                },
        } => {
            let config = load(&common, Overrides::default())?;
            controller::accounts_cli::add_user(&config, &name, &role, password_stdin).await
        }
        Command::User {
            command: UserCommand::List { common },
        } => {
            let config = load(&common, Overrides::default())?;
            controller::accounts_cli::list_users(&config).await
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    common,
                    role,
                    label,
                },
        } => {
            let config = load(&common, Overrides::default())?;
            controller::accounts_cli::create_token(&config, &role, &label).await
        }
        Command::Backup { common, out } => {
            let config = load(&common, Overrides::default())?;
            let manifest =
                controller::backup::backup(&config.data_dir, common.config.as_deref(), &out)
                    .await?;
            println!(
                "backup written to {}: {} files, {} bytes{}",
                out.display(),
                manifest.files,
                manifest.bytes,
                if manifest.has_alert_key {
                    ""
                } else {
                    "; WARNING: the data directory has no alert-signing key"
                }
            );
            Ok(())
        }
        Command::Restore {
            from,
            data_dir,
            config_out,
        } => {
            let manifest = controller::backup::restore(&from, &data_dir, config_out.as_deref())?;
            println!(
                "restored {} files ({} bytes) from a backup of {} into {}{}",
                manifest.files,
                manifest.bytes,
                manifest.created_at,
                data_dir.display(),
                match (&config_out, manifest.has_config) {
                    (Some(path), true) => format!("; configuration written to {}", path.display()),
                    (None, true) =>
                        "; the backup also holds a configuration file (--config-out PATH writes it)"
                            .into(),
                    _ => String::new(),
                }
            );
            Ok(())
        }
    }
}
