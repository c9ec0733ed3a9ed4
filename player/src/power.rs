//! Switching the panel itself on and off as the screen's power rules say (see
//! `content::power`), through a command the site configures (`power_command`), e.g.
//! `["vcgencmd", "display_power"]` or a CEC tool; `on` or `off` is appended. Without one the
//! player only draws black while off. Runs never overlap: a watch channel keeps only the
//! latest wish, so a flapping schedule cannot pile up processes.

use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

/// A switch command that has not finished by then is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct PowerSwitch {
    wish: watch::Sender<Option<bool>>,
}

impl PowerSwitch {
    /// Starts the task that runs `command` (argv; empty: none) when the wish changes.
    pub fn start(command: Vec<String>) -> Self {
        let (wish, mut wishes) = watch::channel(None);
        tokio::spawn(async move {
            let mut done = None;
            while wishes.changed().await.is_ok() {
                let Some(on) = *wishes.borrow_and_update() else {
                    continue;
                };
                if done == Some(on) {
                    continue;
                }
                info!(on, "screen power by schedule");
                if !command.is_empty() {
                    run(&command, on).await;
                }
                done = Some(on);
            }
        });
        Self { wish }
    }

    /// The panel should be on (`true`) or off.
    pub fn set(&self, on: bool) {
        self.wish.send_if_modified(|wish| {
            let changed = *wish != Some(on);
            *wish = Some(on);
            changed
        });
    }
}

async fn run(command: &[String], on: bool) {
    let word = if on { "on" } else { "off" };
    let mut child = match tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .arg(word)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            warn!(command = %command[0], %e, "cannot run power_command");
            return;
        }
    };
    match tokio::time::timeout(COMMAND_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => info!(command = %command[0], word, "panel switched"),
        Ok(Ok(status)) => warn!(command = %command[0], word, %status, "power_command failed"),
        Ok(Err(e)) => warn!(command = %command[0], %e, "power_command failed"),
        Err(_) => {
            warn!(command = %command[0], word, "power_command did not finish in 30 s; killed")
        }
    }
}
