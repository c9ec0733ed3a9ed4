//! Harness for the end-to-end tests: real controller, player and broker processes in temporary
//! directories on ephemeral ports. Every process is killed when its handle is dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where the binaries are: `SIGNAGE_BIN_DIR`, else the cargo target directory this test
/// executable was built into (`target/debug/deps/..`).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("SIGNAGE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("test executable path");
            exe.parent()
                .and_then(Path::parent)
                .expect("target/<profile>/deps")
                .to_path_buf()
        });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build the binaries first (`cargo build --workspace --bins`, which scripts/test.sh does)",
        path.display()
    );
    path
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns the time it took.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if condition() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A free TCP port on loopback. A small race remains (another process may take it before the
/// server binds); tests accept it, as the servers fail loudly if it happens.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process with its output in files, killed on drop.
pub struct Proc {
    pub child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Proc {
    pub fn spawn(command: &mut Command, log_dir: &Path, name: &str) -> Proc {
        let stdout = log_dir.join(format!("{name}.stdout.log"));
        let stderr = log_dir.join(format!("{name}.stderr.log"));
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            stdout,
            stderr,
        }
    }

    /// SIGKILL: no goodbye, only the Last Will tells the world.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the process logged so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `signage-controller token create --role ROLE`: the token is the last line printed.
pub fn create_token(data_dir: &Path, role: &str) -> String {
    let out = Command::new(bin("signage-controller"))
        .args(["token", "create", "--role", role, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run signage-controller token create");
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .expect("a token line")
        .trim()
        .to_string()
}

/// How the controller reaches MQTT in a test.
pub enum Broker<'a> {
    Embedded,
    External(&'a Mosquitto),
}

/// A running `signage-controller serve`.
pub struct Controller {
    pub proc: Proc,
    pub data_dir: PathBuf,
    pub http: String,
    pub mqtt: String,
    /// Extra `serve` flags, kept for [`Controller::restart`].
    extra: Vec<String>,
    /// An admin API token; every helper below sends it unless told otherwise.
    pub token: String,
    /// The CA the helpers trust when the controller serves HTTPS.
    pub ca_pem: Option<String>,
}

impl Controller {
    pub fn start(dir: &Path, broker: Broker) -> Controller {
        Self::start_with(dir, broker, &[])
    }

    /// Starts with extra `serve` flags, e.g. `["--max-upload-bytes", "1000"]`.
    pub fn start_with(dir: &Path, broker: Broker, extra: &[&str]) -> Controller {
        Self::launch(dir, broker, extra, "127.0.0.1:0", "127.0.0.1:0")
    }

    /// Stops the controller (SIGKILL: its embedded broker goes with it) and starts it again
    /// on the same data directory and the same HTTP and MQTT ports, so players configured
    /// for it reconnect. Embedded broker only.
    pub fn restart(&mut self) {
        self.stop();
        let dir = self.data_dir.parent().unwrap().to_path_buf();
        let http = self.http.trim_start_matches("http://").to_string();
        let mqtt = self.mqtt.trim_start_matches("mqtt://").to_string();
        let extra: Vec<String> = self.extra.clone();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        *self = Self::launch(&dir, Broker::Embedded, &extra, &http, &mqtt);
    }

    /// SIGKILL, and forget the endpoints file so a restart waits for the new one.
    pub fn stop(&mut self) {
        self.proc.kill();
        let _ = std::fs::remove_file(self.data_dir.join("endpoints.json"));
    }

    fn launch(dir: &Path, broker: Broker, extra: &[&str], http: &str, mqtt: &str) -> Controller {
        let data_dir = dir.join("controller-data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let token_file = data_dir.join("test-admin.token");
        let token = match std::fs::read_to_string(&token_file) {
            Ok(token) => token,
            Err(_) => {
                let token = create_token(&data_dir, "admin");
                std::fs::write(&token_file, &token).unwrap();
                token
            }
        };
        let mut cmd = Command::new(bin("signage-controller"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--http", http])
            .args(extra);
        match broker {
            Broker::Embedded => {
                cmd.args(["--mqtt-listen", mqtt]);
            }
            Broker::External(m) => {
                cmd.args(["--mqtt-url", &m.url(), "--mqtt-username", "controller"])
                    .env("SIGNAGE_MQTT_PASSWORD", &m.controller_password);
            }
        }
        let proc = Proc::spawn(&mut cmd, dir, "controller");
        let endpoints = data_dir.join("endpoints.json");
        let mut proc = proc;
        wait_until(
            Duration::from_secs(30),
            "the controller's endpoints file",
            || {
                assert!(
                    proc.is_running(),
                    "controller exited early:\n{}",
                    proc.log()
                );
                endpoints.exists()
            },
        );
        let e: Value = serde_json::from_slice(&std::fs::read(&endpoints).unwrap()).unwrap();
        Controller {
            proc,
            data_dir,
            http: e["http"].as_str().unwrap().to_string(),
            mqtt: e["mqtt"].as_str().unwrap().to_string(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            token,
            ca_pem: None,
        }
    }

    /// A new API token with `role` (admin, pr, approver, disaster, viewer).
    pub fn token_for(&self, role: &str) -> String {
        create_token(&self.data_dir, role)
    }

    /// Any method with an optional JSON body, as the holder of `token` (`None`: anonymous).
    pub fn request_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.http);
        let agent = self.agent();
        let auth = token.map(|t| format!("Bearer {t}"));
        macro_rules! with_auth {
            ($req:expr) => {{
                let req = $req;
                match &auth {
                    Some(a) => req.header("Authorization", a),
                    None => req,
                }
            }};
        }
        let response = match (method, body) {
            ("GET", _) => with_auth!(agent.get(&url)).call(),
            ("DELETE", _) => with_auth!(agent.delete(&url)).call(),
            ("POST", Some(b)) => with_auth!(agent.post(&url)).send_json(b),
            ("POST", None) => with_auth!(agent.post(&url)).send_empty(),
            ("PUT", Some(b)) => with_auth!(agent.put(&url)).send_json(b),
            ("PUT", None) => with_auth!(agent.put(&url)).send_empty(),
            ("PATCH", Some(b)) => with_auth!(agent.patch(&url)).send_json(b),
            ("PATCH", None) => with_auth!(agent.patch(&url)).send_empty(),
            (other, _) => panic!("unsupported method {other}"),
        };
        let mut response = response.expect("HTTP request");
        let status = response.status().as_u16();
        let value = response.body_mut().read_json().unwrap_or(Value::Null);
        (status, value)
    }

    /// POST raw bytes (a CAP or JMA document) as the holder of `token`; the status and the
    /// JSON answer (or null).
    pub fn post_bytes(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let mut response = self
            .agent()
            .post(format!("{}{path}", self.http))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", content_type)
            .send(body)
            .expect("HTTP request");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_json().unwrap_or(Value::Null),
        )
    }

    /// POST `body` as the test's administrator; the status and the answer's bytes.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut response = self
            .agent()
            .post(format!("{}{path}", self.http))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", content_type)
            .send(body)
            .expect("HTTP request");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_vec().unwrap_or_default(),
        )
    }

    /// Answers every status; over HTTPS trusts only [`Controller::ca_pem`].
    fn agent(&self) -> ureq::Agent {
        let pinned = self
            .ca_pem
            .as_deref()
            .map(|pem| player::http::pinned(pem).expect("a PEM CA"));
        player::http::agent(pinned.as_ref(), Duration::from_secs(60))
    }

    /// POST, PUT or DELETE with a JSON body; returns the status and the JSON answer (or null).
    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.request_as(Some(&self.token), method, path, Some(body))
    }

    /// Like [`Self::send_json`] but the request must succeed (2xx).
    pub fn put(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.send_json("PUT", path, &body);
        assert!(
            (200..300).contains(&status),
            "PUT {path} answered {status}: {answer}"
        );
        answer
    }

    /// `POST /api/v1/content` with `bytes` as the multipart field `file`.
    pub fn upload(&self, file_name: &str, bytes: &[u8]) -> (u16, Value) {
        self.send_file("POST", "/api/v1/content", file_name, bytes)
    }

    /// `method path` with `bytes` as the multipart field `file`.
    pub fn send_file(
        &self,
        method: &str,
        path: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> (u16, Value) {
        let (content_type, body) = multipart(file_name, bytes);
        let url = format!("{}{path}", self.http);
        let request = match method {
            "POST" => self.agent().post(url),
            "PUT" => self.agent().put(url),
            other => panic!("unsupported method {other}"),
        };
        let mut response = request
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", content_type)
            .send(&body[..])
            .expect("HTTP request");
        let status = response.status().as_u16();
        let value = response.body_mut().read_json().unwrap_or(Value::Null);
        (status, value)
    }

    /// GET raw bytes, optionally with a `Range` header; returns status, body, Content-Range.
    pub fn get_bytes(&self, path: &str, range: Option<&str>) -> (u16, Vec<u8>, Option<String>) {
        let mut request = self
            .agent()
            .get(format!("{}{path}", self.http))
            .header("Authorization", format!("Bearer {}", self.token));
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        let mut response = request.call().expect("HTTP request");
        let status = response.status().as_u16();
        let content_range = response
            .headers()
            .get("content-range")
            .map(|v| v.to_str().unwrap().to_string());
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_default();
        (status, body, content_range)
    }

    /// An anonymous GET with extra request headers: the status, the body and every response
    /// header (lower-case names).
    pub fn get_anonymous(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<u8>, Vec<(String, String)>) {
        let mut request = self.agent().get(format!("{}{path}", self.http));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.body_mut().read_to_vec().unwrap_or_default();
        (status, body, headers)
    }

    /// Files in the controller's blob store and upload area.
    pub fn stored_files(&self) -> (Vec<String>, Vec<String>) {
        let list = |sub: &str| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(self.data_dir.join("content").join(sub))
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().to_string())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            names
        };
        (list("blobs"), list("incoming"))
    }

    /// `signage-controller player add`; returns the written player configuration file.
    pub fn add_player(&self, id: &str, ward: &str, keep_alive_secs: u64) -> PathBuf {
        let out = self.data_dir.parent().unwrap().join(format!("{id}.toml"));
        player_add(
            &self.data_dir,
            id,
            &["--ward", ward],
            &out,
            &format!("keep_alive_secs = {keep_alive_secs}\n"),
        );
        out
    }

    /// `player add` in `ward` and the `lobby` group, with `extra` configuration lines (e.g.
    /// `power_command = [...]`) and a 2 s keep-alive; returns the configuration file.
    pub fn add_lobby_player(&self, id: &str, ward: &str, extra: &str) -> PathBuf {
        let out = self.data_dir.parent().unwrap().join(format!("{id}.toml"));
        player_add(
            &self.data_dir,
            id,
            &["--ward", ward, "--group", "lobby"],
            &out,
            &format!("keep_alive_secs = 2\n{extra}"),
        );
        out
    }

    /// Issues an earthquake drill (Exercise, issued at once) for `ward` as a `disaster`
    /// account; returns its id.
    pub fn drill(&self, ward: &str) -> String {
        let (status, alert) = self.request_as(
            Some(&self.token_for("disaster")),
            "POST",
            "/api/v1/alerts",
            Some(&serde_json::json!({"template": {"kind": "earthquake"},
                "placeholders": {"area": "北区"},
                "targets": [{"kind": "ward", "id": ward}], "status": "Exercise"})),
        );
        assert_eq!(status, 201, "{alert}");
        alert["id"].as_str().unwrap().to_owned()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(format!("{}{path}", self.http))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .expect("HTTP request");
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().expect("JSON body"))
    }

    pub fn player(&self, id: &str) -> Option<Value> {
        let (_, players) = self.get("/api/v1/players");
        players
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    }

    pub fn is_online(&self, id: &str) -> bool {
        self.player(id).is_some_and(|p| p["online"] == true)
    }
}

/// A `multipart/form-data` body with `bytes` in the field `file`: (content type, body).
pub fn multipart(file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "e2e-boundary-5d1c9a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The share of a PNG's pixels (RGB) for which `pick` holds: how much of a screenshot a
/// colour covers.
/// Width and height of a PNG.
pub fn png_size(png_bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(png_bytes).read_info().unwrap();
    (reader.info().width, reader.info().height)
}

pub fn png_share(png_bytes: &[u8], pick: impl Fn(&[u8]) -> bool) -> f64 {
    let mut decoder = png::Decoder::new(png_bytes);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut data = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut data).unwrap();
    let channels = info.color_type.samples();
    let total = (info.width * info.height) as f64;
    let near = data[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| pick(p))
        .count();
    near as f64 / total
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A small PNG, different for each `seed` (made with the project's own encoder).
pub fn test_png(seed: u8) -> Vec<u8> {
    controller::demo::poster(32, 16, [seed, 40, 90], [200, seed, 30])
}

/// The Tokyo calendar date `days` from today, as `YYYY-MM-DD`.
pub fn tokyo_date(days: i64) -> String {
    let today = content::tokyo::local_date(chrono::Utc::now());
    (today + chrono::TimeDelta::days(days)).to_string()
}

/// A player's cache directory as [`start_player`] sets it.
pub fn player_cache(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}-cache"))
}

/// What the player last decided to show (`now.json` in its cache directory): readable
/// while the controller and broker are down.
pub fn player_now(dir: &Path, name: &str) -> Option<Value> {
    let bytes = std::fs::read(player_cache(dir, name).join("now.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The proof-of-play records a player still holds (not yet acknowledged).
pub fn player_pending_plays(dir: &Path, name: &str) -> usize {
    std::fs::read_to_string(player_cache(dir, name).join("plays.jsonl"))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

/// A running `signage-player run` whose clock starts at `fake_now` (RFC 3339).
pub fn start_player_at(dir: &Path, config: &Path, name: &str, fake_now: &str) -> Proc {
    let mut cmd = player_command(dir, config, name, false);
    cmd.env("SIGNAGE_FAKE_NOW", fake_now);
    Proc::spawn(&mut cmd, dir, name)
}

/// `signage-player run` headless with its cache in `player_cache(dir, name)`: the command
/// every test starts its players with (tests add arguments or environment). Without the
/// renderer the player follows its schedule light; rendering tests pass `render`.
pub fn player_command(dir: &Path, config: &Path, name: &str, render: bool) -> Command {
    let mut cmd = Command::new(bin("signage-player"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .arg("--cache-dir")
        .arg(player_cache(dir, name))
        .args([
            "--display",
            "headless",
            "--render",
            if render { "true" } else { "false" },
        ]);
    cmd
}

/// Runs `signage-controller player add ID ARGS --out OUT` on a data directory and appends
/// `extra` (TOML lines the test wants) to the written player configuration.
pub fn player_add(data_dir: &Path, id: &str, args: &[&str], out: &Path, extra: &str) {
    let status = Command::new(bin("signage-controller"))
        .args(["player", "add", id])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "player add failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut text = std::fs::read_to_string(out).unwrap();
    text.push_str(extra);
    std::fs::write(out, text).unwrap();
}

/// A running `signage-player run`.
pub fn start_player(dir: &Path, config: &Path, name: &str) -> Proc {
    Proc::spawn(&mut player_command(dir, config, name, false), dir, name)
}

/// A Mosquitto broker started by the test on an ephemeral port, with a password file.
pub struct Mosquitto {
    pub proc: Proc,
    pub port: u16,
    pub passwd: PathBuf,
    conf: PathBuf,
    dir: PathBuf,
    pub controller_password: String,
}

/// As root, Mosquitto would switch to the `mosquitto` user, who cannot read the test's private
/// temporary directory: the configuration line that keeps it as root, or nothing.
pub fn mosquitto_user_line() -> &'static str {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if is_root { "user root\n" } else { "" }
}

fn find_program(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run scripts/setup.sh (it installs the mosquitto package)");
}

/// Adds or replaces a user in a Mosquitto password file.
pub fn mosquitto_passwd(file: &Path, user: &str, password: &str) {
    let out = Command::new(find_program("mosquitto_passwd"))
        .arg("-b")
        .arg(file)
        .args([user, password])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mosquitto_passwd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Mosquitto {
    pub fn start(dir: &Path) -> Mosquitto {
        let port = free_port();
        let passwd = dir.join("mosquitto.passwd");
        std::fs::write(&passwd, "").unwrap();
        let controller_password = format!("c{}", u64::from(port) * 7919);
        mosquitto_passwd(&passwd, "controller", &controller_password);
        let user_line = mosquitto_user_line();
        // The ACL operators install, so the test proves it lets every needed message through.
        let acl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mosquitto/acl");
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "{}listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\npersistence false\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n",
                user_line,
                passwd.display(),
                acl.display()
            ),
        )
        .unwrap();
        let mut m = Mosquitto {
            proc: Self::spawn(dir, &conf),
            port,
            passwd,
            conf,
            dir: dir.to_path_buf(),
            controller_password,
        };
        m.wait_listening();
        m
    }

    fn spawn(dir: &Path, conf: &Path) -> Proc {
        Proc::spawn(
            Command::new(find_program("mosquitto")).arg("-c").arg(conf),
            dir,
            "mosquitto",
        )
    }

    fn wait_listening(&mut self) {
        let port = self.port;
        wait_until(Duration::from_secs(10), "Mosquitto to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Kills the broker and starts an empty one (no persistence) on the same port.
    pub fn restart(&mut self) {
        self.proc.kill();
        self.proc = Self::spawn(&self.dir, &self.conf);
        self.wait_listening();
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn add_user(&self, user: &str, password: &str) {
        mosquitto_passwd(&self.passwd, user, password);
    }

    /// Tells Mosquitto to re-read its password file.
    pub fn reload(&self) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.proc.child.id().to_string()])
            .status();
    }

    /// Registers a player with the controller and the same credentials with Mosquitto.
    pub fn enrol(
        &self,
        controller: &Controller,
        id: &str,
        ward: &str,
        keep_alive_secs: u64,
    ) -> PathBuf {
        let config = controller.add_player(id, ward, keep_alive_secs);
        self.add_user(id, &player_password(&config));
        self.reload();
        config
    }
}

/// The password `player add` wrote into a player configuration file.
pub fn player_password(config: &Path) -> String {
    std::fs::read_to_string(config)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("password = "))
        .expect("password in player config")
        .trim_matches('"')
        .to_string()
}

/// A plain MQTT client for tests that act as a (possibly hostile) participant.
pub mod fake_player;
pub mod feed;
pub mod fleet;

pub mod mqtt {
    use std::sync::mpsc;
    use std::time::Duration;

    use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

    pub struct TestClient {
        pub client: Client,
        events: mpsc::Receiver<Result<Packet, String>>,
    }

    /// Connects in a background thread. After an error the thread stops (no reconnection), so
    /// a refused login shows as exactly one error.
    pub fn connect(url: &str, client_id: &str, user: &str, password: &str) -> TestClient {
        let addr = url.trim_start_matches("mqtt://");
        let (host, port) = addr.rsplit_once(':').expect("host:port");
        let mut options = MqttOptions::new(client_id, host, port.parse().unwrap());
        options.set_credentials(user, password);
        options.set_keep_alive(Duration::from_secs(5));
        options.set_max_packet_size(4 << 20, 4 << 20);
        let (client, mut connection) = Client::new(options, 64);
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                let item = match event {
                    Ok(Event::Incoming(packet)) => Ok(packet),
                    Ok(Event::Outgoing(_)) => continue,
                    Err(e) => Err(e.to_string()),
                };
                let stop = item.is_err();
                if tx.send(item).is_err() || stop {
                    return;
                }
            }
        });
        TestClient { client, events }
    }

    impl TestClient {
        /// Ok when the broker accepted the login, Err with the reason otherwise.
        pub fn wait_connected(&self, timeout: Duration) -> Result<(), String> {
            loop {
                match self.events.recv_timeout(timeout) {
                    Ok(Ok(Packet::ConnAck(ack)))
                        if ack.code == rumqttc::ConnectReturnCode::Success =>
                    {
                        return Ok(());
                    }
                    Ok(Ok(Packet::ConnAck(ack))) => return Err(format!("refused: {:?}", ack.code)),
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err("no answer from the broker".into()),
                }
            }
        }

        /// Publishes at QoS 1 with the retain flag the contract gives the topic (not retained
        /// for a topic outside it), as a well-behaved client would.
        pub fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
            let retain = content::protocol::Topic::parse(topic).is_ok_and(|t| t.retained());
            self.publish_raw(topic, QoS::AtLeastOnce, retain, payload);
        }

        pub fn publish_raw(
            &self,
            topic: &str,
            qos: QoS,
            retain: bool,
            payload: impl Into<Vec<u8>>,
        ) {
            self.client
                .publish(topic, qos, retain, payload.into())
                .expect("queue publish");
        }

        /// Subscribes to `filter` and returns the broker's answer: granted or refused.
        pub fn subscribe(&self, filter: &str, timeout: Duration) -> Result<(), String> {
            self.client.subscribe(filter, QoS::AtLeastOnce).unwrap();
            let deadline = std::time::Instant::now() + timeout;
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                match self.events.recv_timeout(left) {
                    Ok(Ok(Packet::SubAck(ack))) => {
                        return match ack.return_codes.first() {
                            Some(rumqttc::SubscribeReasonCode::Success(_)) => Ok(()),
                            other => Err(format!("refused: {other:?}")),
                        };
                    }
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => return Err(e),
                    Err(_) => break,
                }
            }
            Err("no SUBACK".into())
        }

        /// The payload of the next message from any subscription within `timeout`.
        pub fn next_publish(&self, timeout: Duration) -> Option<Vec<u8>> {
            let deadline = std::time::Instant::now() + timeout;
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                match self.events.recv_timeout(left) {
                    Ok(Ok(Packet::Publish(p))) => return Some(p.payload.to_vec()),
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => panic!("MQTT connection failed: {e}"),
                    Err(_) => break,
                }
            }
            None
        }

        /// Subscribes and returns the first message on `topic` (retained or live).
        pub fn first_message(&self, topic: &str, timeout: Duration) -> Vec<u8> {
            self.client.subscribe(topic, QoS::AtLeastOnce).unwrap();
            let deadline = std::time::Instant::now() + timeout;
            while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
                match self.events.recv_timeout(left) {
                    Ok(Ok(Packet::Publish(p))) if p.topic == topic => return p.payload.to_vec(),
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => panic!("MQTT connection failed: {e}"),
                    Err(_) => break,
                }
            }
            panic!("no message on {topic} within {timeout:?}");
        }
    }

    /// Connects (retrying while the broker comes up) and returns the first message on a topic.
    pub fn first_message(
        url: &str,
        user: &str,
        password: &str,
        topic: &str,
        timeout: Duration,
    ) -> Vec<u8> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let client = connect(url, "test-observer", user, password);
            match client.wait_connected(Duration::from_secs(5)) {
                Ok(()) => return client.first_message(topic, timeout),
                Err(e) if std::time::Instant::now() < deadline => {
                    eprintln!("observer not connected yet: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("cannot connect the observer: {e}"),
            }
        }
    }
}

/// A player that renders, headless, on a `width` x `height` canvas at `fps` frames/s (health
/// every 2 s): the configuration keys are appended to `config`.
pub fn start_rendering_player(
    dir: &Path,
    config: &Path,
    name: &str,
    (width, height): (u32, u32),
    fps: u32,
) -> Proc {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(&format!(
        "screen_width = {width}\nscreen_height = {height}\nrender_fps = {fps}\nhealth_secs = 2\n"
    ));
    std::fs::write(config, text).unwrap();
    Proc::spawn(&mut player_command(dir, config, name, true), dir, name)
}

impl Controller {
    /// A full-screen layout `id` showing one English text slide `id` (playlist `id`).
    pub fn text_slide_layout(&self, id: &str, title: &str) {
        self.put(
            &format!("/api/v1/assets/{id}"),
            serde_json::json!({"kind": "text_slide", "texts": {"en": {"title": title, "body": ""}},
                   "colours": {"text": "#ffffff", "background": "#003366"}}),
        );
        self.put(
            &format!("/api/v1/playlists/{id}"),
            serde_json::json!({"items": [{"asset": id}]}),
        );
        self.put(
            &format!("/api/v1/layouts/{id}"),
            serde_json::json!({"canvas": {"width": 1920, "height": 1080}, "zones": [
                {"id": "main", "x": 0, "y": 0, "width": 1920, "height": 1080, "playlist": id}]}),
        );
    }
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is not installed: run scripts/setup.sh (it installs the openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir/<name>-ca.pem` etc.
pub fn make_ca(dir: &Path, name: &str) {
    let ca_key = format!("{name}-ca.key");
    let ca = format!("{name}-ca.pem");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ],
    );
    let key = format!("{name}-server.key");
    let csr = format!("{name}-server.csr");
    let cert = format!("{name}-server.pem");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            &cert,
        ],
    );
}
