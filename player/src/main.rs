use std::path::PathBuf;

use clap::{Parser, Subcommand};
use content::protocol::DisplayMode;
use player::config::{Overrides, PlayerConfig};
use player::update;

/// Signage player: shows what the controller schedules, counts people, obeys alerts.
#[derive(Parser)]
#[command(name = "signage-player", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text (default) or one JSON object each, for a log collector.
    #[arg(long, global = true, env = "SIGNAGE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the player. The MQTT password comes from the configuration file, or the
    /// environment variable SIGNAGE_PLAYER_PASSWORD; never from a flag, which every user of
    /// the machine could read.
    Run {
        /// TOML configuration file, as written by `signage-controller player add`.
        #[arg(long)]
        config: PathBuf,
        /// Player id (overrides the file).
        #[arg(long)]
        id: Option<String>,
        /// Broker URL, mqtt://host:port or mqtts://host:port (overrides the file).
        #[arg(long)]
        broker_url: Option<String>,
        /// MQTT username (overrides the file; default: the player id).
        #[arg(long)]
        username: Option<String>,
        /// Directory for cached content and state.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Where to draw: window or headless.
        #[arg(long)]
        display: Option<DisplayMode>,
        /// Start the player's clock at this RFC 3339 instant (tests, drills).
        #[arg(long, env = "SIGNAGE_FAKE_NOW")]
        fake_now: Option<String>,
        /// Draw the screen (true) or only follow the schedule (false); overrides `render`.
        #[arg(long)]
        render: Option<bool>,
    },
    /// Join a controller with a one-time enrolment code: the player asks to join, waits until
    /// an admin approves it in the console, then writes its configuration file for `run`.
    Enrol {
        /// The controller's address, e.g. http://signage.city.local:8080.
        #[arg(long)]
        controller: String,
        /// The enrolment code an admin created (e.g. K7Q4-M2XP-9FHD).
        #[arg(long)]
        code: String,
        /// Where to write the configuration file.
        #[arg(long)]
        out: PathBuf,
        /// What to call this screen (default: the host name).
        #[arg(long)]
        name: Option<String>,
        /// Seconds between asking whether an admin decided.
        #[arg(long, default_value_t = 3)]
        poll_secs: u64,
        /// The controller's HTTPS CA (PEM), for an https:// controller.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        logs.json().flatten_event(true).init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    match cli.command {
        Command::Enrol {
            controller,
            code,
            out,
            name,
            poll_secs,
            ca_file,
        } => {
            let options = player::enrol::EnrolOptions {
                controller,
                code,
                out,
                name,
                poll: std::time::Duration::from_secs(poll_secs.max(1)),
                ca_file,
            };
            tokio::task::spawn_blocking(move || player::enrol::enrol(&options)).await?
        }
        Command::Run {
            config,
            id,
            broker_url,
            username,
            cache_dir,
            display,
            fake_now,
            render,
        } => {
            let config = PlayerConfig::load(
                &config,
                Overrides {
                    id,
                    broker_url,
                    username,
                    // Never a flag: a command line is readable by every user of the machine.
                    password: std::env::var("SIGNAGE_PLAYER_PASSWORD").ok(),
                    cache_dir,
                    display,
                    fake_now,
                    render,
                },
            )?;
            let (cache_dir, trial_secs, key) = (
                config.cache_dir.clone(),
                config.update_trial_secs,
                config.alert_public_key,
            );
            if let update::Launch::Supervise = update::launch(&cache_dir, key.as_ref()) {
                return update::supervise(&cache_dir, trial_secs, key).await;
            }
            match player::session::Session::run(config).await? {
                player::session::Ending::Shutdown => Ok(()),
                player::session::Ending::Restart => player::restart_self(),
                player::session::Ending::Update => {
                    update::after_session(&cache_dir, trial_secs, key).await
                }
            }
        }
    }
}
