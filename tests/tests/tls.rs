//! `mqtts://` with a private CA: controller and player reach a TLS-only Mosquitto, and a
//! controller that does not trust the broker's certificate says so instead of connecting.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::{
    Proc, bin, free_port, make_ca, mosquitto_passwd, mosquitto_user_line, player_add,
    player_password, start_player, wait_until,
};

fn start_controller(dir: &Path, name: &str, url: &str, ca: &Path) -> (Proc, std::path::PathBuf) {
    let data = dir.join(format!("{name}-data"));
    let mut cmd = Command::new(bin("signage-controller"));
    cmd.args([
        "serve",
        "--http",
        "127.0.0.1:0",
        "--mqtt-url",
        url,
        "--mqtt-username",
        "controller",
    ])
    .arg("--data-dir")
    .arg(&data)
    .arg("--mqtt-ca-file")
    .arg(ca)
    .env("SIGNAGE_MQTT_PASSWORD", "controller-secret");
    let mut proc = Proc::spawn(&mut cmd, dir, name);
    wait_until(
        Duration::from_secs(30),
        "the controller's endpoints file",
        || {
            assert!(
                proc.is_running(),
                "controller exited early:\n{}",
                proc.log()
            );
            data.join("endpoints.json").exists()
        },
    );
    (proc, data)
}

fn players_online(data: &Path, id: &str) -> bool {
    let e: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("endpoints.json")).unwrap()).unwrap();
    let url = format!("{}/api/v1/players", e["http"].as_str().unwrap());
    let token = match std::fs::read_to_string(data.join("test-viewer.token")) {
        Ok(token) => token,
        Err(_) => {
            let token = e2e::create_token(data, "viewer");
            std::fs::write(data.join("test-viewer.token"), &token).unwrap();
            token
        }
    };
    let players: serde_json::Value = ureq::get(&url)
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    players
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == id && p["online"] == true)
}

#[test]
fn controller_and_player_over_mqtts_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca(d, "good");
    make_ca(d, "other");
    let port = free_port();
    let pw = d.join("passwd");
    std::fs::write(&pw, "").unwrap();
    mosquitto_passwd(&pw, "controller", "controller-secret");
    let conf = d.join("mosquitto.conf");
    let d_s = d.display();
    let user = mosquitto_user_line();
    std::fs::write(
        &conf,
        format!(
            "{user}listener {port} 127.0.0.1\ncafile {d_s}/good-ca.pem\ncertfile {d_s}/good-server.pem\nkeyfile {d_s}/good-server.key\nallow_anonymous false\npassword_file {}\npersistence false\nlog_dest stderr\n",
            pw.display(),
        ),
    )
    .unwrap();
    let mut mosquitto = Proc::spawn(
        Command::new("mosquitto").arg("-c").arg(&conf),
        d,
        "mosquitto",
    );
    wait_until(Duration::from_secs(10), "Mosquitto to listen", || {
        assert!(
            mosquitto.is_running(),
            "mosquitto exited:\n{}",
            mosquitto.log()
        );
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let url = format!("mqtts://127.0.0.1:{port}");

    let (_controller, data) = start_controller(d, "controller", &url, &d.join("good-ca.pem"));
    let config = d.join("kita-1.toml");
    player_add(
        &data,
        "kita-1",
        &["--broker-url", &url],
        &config,
        &format!("ca_file = \"{}/good-ca.pem\"\n", d.display()),
    );
    mosquitto_passwd(&pw, "kita-1", &player_password(&config));
    Command::new("kill")
        .args(["-HUP", &mosquitto.child.id().to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let _player = start_player(d, &config, "kita-1");
    wait_until(
        Duration::from_secs(15),
        "the player online over TLS",
        || players_online(&data, "kita-1"),
    );

    // A controller trusting another CA refuses the broker's certificate and says why.
    let (distrustful, _) = start_controller(d, "distrustful", &url, &d.join("other-ca.pem"));
    wait_until(
        Duration::from_secs(10),
        "a certificate error in the log",
        || {
            let log = distrustful.log().to_lowercase();
            log.contains("certificate") || log.contains("unknownissuer")
        },
    );
}
