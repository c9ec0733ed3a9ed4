//! A controller and a fleet of players in one process, for the benchmarks (`alert-fanout`,
//! `soak`): the real controller binary, players registered with `player add-many` and run
//! with the real player control path (`player::session::Session::run_until`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::{Proc, bin, wait_until};

/// The controller's HTTP API with one bearer token.
pub struct Http {
    pub base: String,
    pub token: String,
    pub agent: ureq::Agent,
}

impl Http {
    pub fn new(base: &str, token: String) -> Http {
        Http {
            base: base.to_string(),
            token,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let mut response = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call()?,
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(b)?,
            ("POST", None) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_empty()?,
            _ => bail!("unsupported {method}"),
        };
        let status = response.status().as_u16();
        Ok((
            status,
            response.body_mut().read_json().unwrap_or(Value::Null),
        ))
    }
}

impl Http {
    /// POSTs raw bytes; the status, or 0 when the connection broke (an answer before the
    /// whole body was sent).
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> u16 {
        self.agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", content_type)
            .send(body)
            .map_or(0, |r| r.status().as_u16())
    }
}

/// Makes the harness find the binaries beside this benchmark's own executable (the harness
/// looks beside test executables, target/*/deps/..). Call first thing in `main`, before any
/// thread or runtime starts.
pub fn binaries_beside_me() -> anyhow::Result<()> {
    if std::env::var_os("SIGNAGE_BIN_DIR").is_none() {
        let exe = std::env::current_exe()?;
        let dir = exe
            .parent()
            .ok_or_else(|| anyhow::anyhow!("no directory above {}", exe.display()))?;
        // SAFETY: called before any other thread exists (see above).
        unsafe { std::env::set_var("SIGNAGE_BIN_DIR", dir) };
    }
    Ok(())
}

/// Starts `signage-controller serve` in `dir` (embedded broker unless `broker` names one);
/// returns it, its data directory and its endpoints.
pub fn start_controller(
    dir: &Path,
    broker: Option<&str>,
    extra: &[&str],
) -> anyhow::Result<(Proc, PathBuf, Value)> {
    let data_dir = dir.join("controller-data");
    std::fs::create_dir_all(&data_dir)?;
    let mut cmd = Command::new(bin("signage-controller"));
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--http", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "warn");
    match broker {
        Some(url) => cmd.args(["--mqtt-url", url]),
        None => cmd.args(["--mqtt-listen", "127.0.0.1:0"]),
    };
    let mut proc = Proc::spawn(&mut cmd, dir, "controller");
    let endpoints = data_dir.join("endpoints.json");
    wait_until(Duration::from_secs(30), "the controller to start", || {
        assert!(proc.is_running(), "controller exited:\n{}", proc.log());
        endpoints.exists()
    });
    let e: Value = serde_json::from_slice(&std::fs::read(&endpoints)?)?;
    Ok((proc, data_dir, e))
}

/// Registers `count` players `{prefix}-00001`... of `ward`, their configurations in `out`.
pub fn register(
    data_dir: &Path,
    prefix: &str,
    ward: &str,
    count: u32,
    out: &Path,
) -> anyhow::Result<()> {
    let done = Command::new(bin("signage-controller"))
        .args(["player", "add-many", "--prefix", prefix, "--ward", ward])
        .arg("--count")
        .arg(count.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--out-dir")
        .arg(out)
        .output()?;
    if !done.status.success() {
        bail!("player add-many: {}", String::from_utf8_lossy(&done.stderr));
    }
    Ok(())
}

/// Players running in this process until [`Players::stop`].
pub struct Players {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Players {
    /// Runs the players of `ids` (configurations in `configs`, state under `state_root`) on
    /// one single-threaded runtime per core, as many devices would each on their own.
    pub fn start(
        configs: &Path,
        ids: &[String],
        state_root: &Path,
        render: bool,
    ) -> anyhow::Result<Players> {
        let shards: Vec<tokio::runtime::Handle> = (0..std::thread::available_parallelism()
            .map_or(2, |n| n.get()))
            .map(|i| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let handle = runtime.handle().clone();
                std::thread::Builder::new()
                    .name(format!("players-{i}"))
                    .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
                Ok(handle)
            })
            .collect::<anyhow::Result<_>>()?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let mut handles = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let config = player::config::PlayerConfig::load(
                &configs.join(format!("{id}.toml")),
                player::config::Overrides {
                    cache_dir: Some(state_root.join(id)),
                    display: Some(content::protocol::DisplayMode::Headless),
                    render: Some(render),
                    ..Default::default()
                },
            )?;
            let mut stopping = stopping.clone();
            let id = id.clone();
            handles.push(shards[i % shards.len()].spawn(async move {
                let shutdown = async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                };
                if let Err(e) = player::session::Session::run_until(config, shutdown).await {
                    eprintln!("player {id} stopped: {e:#}");
                }
            }));
        }
        Ok(Players { stop, handles })
    }

    /// Every player says goodbye (a clean disconnect) and its last files land.
    pub fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                let all = async {
                    for player in self.handles {
                        let _ = player.await;
                    }
                };
                if tokio::time::timeout(Duration::from_secs(30), all)
                    .await
                    .is_err()
                {
                    eprintln!("some players did not stop within 30 s");
                }
                player::disk::flush().await;
            });
        Ok(())
    }
}

/// Waits until `n` players are online with their configuration acknowledged (subscribed).
pub fn wait_online(http: &Http, n: usize, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let (_, players) = http.call("GET", "/api/v1/players", None)?;
        let ready = players
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["online"] == true && p["acked_revision"] == 1)
                    .count()
            })
            .unwrap_or(0);
        if ready >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {ready}/{n} players came online");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A key's value in a flat TOML file written by `player add` (`key = "value"`).
pub fn toml_value(path: &Path, key: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .map(|v| v.trim().trim_matches('"').to_string())
        .with_context(|| format!("{key} in {}", path.display()))
}

/// Milliseconds from `t0` to an RFC 3339 time in `v`.
pub fn ms_since(t0: chrono::DateTime<chrono::Utc>, v: &Value) -> Option<f64> {
    v.as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map(|t| (t - t0).num_microseconds().unwrap_or(0) as f64 / 1000.0)
}
