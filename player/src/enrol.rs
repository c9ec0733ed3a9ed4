//! `signage-player enrol`: joins a controller with only its address and a one-time code. The
//! player chooses its own password, asks to join, and waits until an admin approves it in the
//! console; then it writes the configuration file `run` reads.
//!
//! A pending request is kept beside the output file, so an enrolment interrupted while waiting
//! resumes instead of spending another code.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub struct EnrolOptions {
    /// The controller's HTTP origin, e.g. `http://signage.city.local:8080`.
    pub controller: String,
    pub code: String,
    pub out: PathBuf,
    /// What to call the screen (default: the host name).
    pub name: Option<String>,
    /// How often to ask whether an admin decided.
    pub poll: Duration,
    /// The controller's HTTPS CA (PEM), for an `https://` controller.
    pub ca_file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct Pending {
    controller: String,
    request: String,
    password: String,
}

#[derive(Deserialize)]
struct Status {
    state: String,
    reason: Option<String>,
    config: Option<serde_json::Map<String, Value>>,
}

fn pending_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".pending");
    out.with_file_name(name)
}

fn host_name() -> Option<String> {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// The client for the enrolment: over HTTPS, trusting only the CA given with the code.
fn agent(options: &EnrolOptions) -> anyhow::Result<ureq::Agent> {
    let pinned = match (&options.ca_file, options.controller.starts_with("https://")) {
        (Some(path), true) => Some(crate::http::pinned(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?,
        )?),
        (None, true) => anyhow::bail!(
            "the controller is https://: give its CA with --ca-file (an admin has it, as \
             http.tls_ca_file of the controller)"
        ),
        (_, false) => None,
    };
    Ok(crate::http::agent(pinned.as_ref(), Duration::from_secs(15)))
}

fn error_text(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// Asks to join and waits for the decision; the configuration file exists only on approval.
pub fn enrol(options: &EnrolOptions) -> anyhow::Result<()> {
    let controller = options.controller.trim_end_matches('/').to_owned();
    if !(controller.starts_with("http://") || controller.starts_with("https://")) {
        bail!(
            "--controller {controller:?} must be an HTTP origin like http://signage.city.local:8080"
        );
    }
    if options.out.exists() {
        bail!(
            "{} exists already: this player is enrolled (remove the file to enrol it again)",
            options.out.display()
        );
    }
    let agent = agent(options)?;
    let pending_file = pending_path(&options.out);
    let pending = match std::fs::read(&pending_file) {
        Ok(bytes) => {
            let pending: Pending = serde_json::from_slice(&bytes)
                .with_context(|| format!("corrupt {}", pending_file.display()))?;
            eprintln!("resuming the enrolment request {}", pending.request);
            pending
        }
        Err(_) => {
            let password = {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                hex::encode(bytes)
            };
            let name = options.name.clone().or_else(host_name);
            let body = json!({
                "code": options.code,
                "password": password,
                "name": name,
                "hello": { "version": env!("CARGO_PKG_VERSION"), "host": host_name() },
            });
            let url = format!("{controller}/api/v1/enrol");
            let mut response = agent
                .post(&url)
                .send_json(&body)
                .with_context(|| format!("cannot reach the controller at {url}"))?;
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            if status != 202 {
                bail!(
                    "the controller refused to enrol this player ({status}): {}",
                    error_text(&text)
                );
            }
            let answer: Value = serde_json::from_str(&text).context("the controller's answer")?;
            let request = answer["request"]
                .as_str()
                .context("the controller's answer has no request id")?
                .to_owned();
            let pending = Pending {
                controller: controller.clone(),
                request,
                password,
            };
            write_private(&pending_file, &serde_json::to_string(&pending)?)?;
            pending
        }
    };
    eprintln!(
        "waiting for approval of request {} — an administrator approves it in the console (画面管理 → 承認待ち / Screens → Waiting)",
        pending.request
    );
    let url = format!("{}/api/v1/enrol/{}", pending.controller, pending.request);
    let started = Instant::now();
    let mut said = Instant::now();
    loop {
        let answer = agent
            .get(&url)
            .header("Authorization", format!("Bearer {}", pending.password))
            .call();
        match answer {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap_or_default();
                if status == 404 {
                    let _ = std::fs::remove_file(&pending_file);
                    bail!(
                        "the controller no longer knows request {}: enrol again with a new code",
                        pending.request
                    );
                }
                if status == 200 {
                    let answer: Status =
                        serde_json::from_str(&text).context("the controller's answer")?;
                    match answer.state.as_str() {
                        "approved" => {
                            let mut config =
                                answer.config.context("approved without a configuration")?;
                            config.insert("password".into(), json!(pending.password));
                            let id = config
                                .get("id")
                                .and_then(Value::as_str)
                                .unwrap_or("?")
                                .to_owned();
                            let table: toml::Table = serde_json::from_value(Value::Object(config))
                                .context("the configuration the controller sent")?;
                            write_private(&options.out, &toml::to_string(&table)?)?;
                            let _ = std::fs::remove_file(&pending_file);
                            eprintln!(
                                "approved as {id}; configuration written to {} (keep it private). Start with: signage-player run --config {}",
                                options.out.display(),
                                options.out.display()
                            );
                            return Ok(());
                        }
                        "rejected" => {
                            let _ = std::fs::remove_file(&pending_file);
                            bail!(
                                "the enrolment was rejected: {}",
                                answer.reason.unwrap_or_default()
                            );
                        }
                        _ => {}
                    }
                } else {
                    eprintln!("the controller answered {status}: {}", error_text(&text));
                }
            }
            Err(e) => eprintln!("cannot reach the controller ({e}); trying again"),
        }
        if said.elapsed() >= Duration::from_secs(60) {
            eprintln!(
                "still waiting for approval ({} min)",
                started.elapsed().as_secs() / 60
            );
            said = Instant::now();
        }
        std::thread::sleep(options.poll);
    }
}

/// The file holds a password: readable by its owner only.
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
