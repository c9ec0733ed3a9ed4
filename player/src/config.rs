//! The player's configuration: the TOML file `player add` writes, then flags on top.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use content::protocol::{DisplayMode, PlayerId, Screen};
use mqtt_link::BrokerUrl;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub id: Option<String>,
    pub broker_url: Option<String>,
    /// The controller's HTTP origin (`http(s)://host:port`), written by `player add`: the only
    /// place the player fetches content from and sends screenshots to.
    pub controller_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// The broker's CA as PEM text, written by `player add` for the embedded broker's
    /// `mqtts://`; wins over `ca_file`.
    pub ca_pem: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub display: Option<String>,
    pub keep_alive_secs: Option<u64>,
    pub screen_width: Option<u32>,
    pub screen_height: Option<u32>,
    /// Test and drill aid: the player's clock starts at this instant (RFC 3339) and runs on
    /// from there; also `SIGNAGE_FAKE_NOW`. Never set it on a real screen.
    pub fake_now: Option<String>,
    /// Seconds after which a cached file is hashed again before use even if it looks
    /// unchanged (size and modification time are checked every time).
    pub reverify_secs: Option<u64>,
    /// Draw the screen with the renderer (default true); false runs the schedule without
    /// drawing, as tests and servers without GStreamer do.
    pub render: Option<bool>,
    /// Frames per second of the composed canvas (default 30).
    pub render_fps: Option<u32>,
    /// The video sink of `display = "window"`: auto (default), kms, gl, wayland or x.
    pub window_sink: Option<String>,
    /// How the panel is mounted: landscape (default), portrait-cw (turned clockwise) or
    /// portrait-ccw. `screen_width` and `screen_height` describe the canvas as visitors see it.
    pub orientation: Option<String>,
    /// Seconds between health reports (default 30).
    pub health_secs: Option<u64>,
    /// People counting (optional): see `camera::CameraFile`.
    pub camera: Option<crate::camera::CameraFile>,
    /// The command that switches the panel, as argv; `on` or `off` is appended (see `power`).
    pub power_command: Option<Vec<String>>,
    /// Seconds an offered build has to come online before it is rolled back (default 120).
    pub update_trial_secs: Option<u64>,
    /// The CA the controller's HTTPS is pinned to (PEM), written by `player add` for an
    /// `https://` controller URL; no other CA is trusted.
    pub controller_ca_pem: Option<String>,
    /// The controller's Ed25519 alert-signing public key (hex), written by `player add`:
    /// alerts not signed with its private half are refused.
    pub alert_public_key: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub id: Option<String>,
    pub broker_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub cache_dir: Option<PathBuf>,
    pub display: Option<DisplayMode>,
    pub fake_now: Option<String>,
    pub render: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct PlayerConfig {
    pub id: PlayerId,
    pub broker_url: BrokerUrl,
    /// `http(s)://host[:port]`, no trailing slash.
    pub controller_url: String,
    pub username: String,
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub ca_pem: Option<String>,
    pub cache_dir: PathBuf,
    pub display: DisplayMode,
    pub keep_alive_secs: u64,
    pub screen: Screen,
    pub fake_now: Option<chrono::DateTime<chrono::Utc>>,
    pub reverify_secs: u64,
    pub render: bool,
    pub render_fps: u32,
    pub window_sink: render::WindowSink,
    pub orientation: render::Orientation,
    pub health_secs: u64,
    /// People counting; `None` counts nothing.
    pub camera: Option<crate::camera::CameraConfig>,
    /// Switches the panel on and off by schedule; empty: the player only draws black.
    pub power_command: Vec<String>,
    /// Seconds an offered build has to come online before it is rolled back.
    pub update_trial_secs: u64,
    /// The controller's pinned HTTPS CA (for an `https://` controller URL).
    pub controller_ca: Option<std::sync::Arc<Vec<ureq::tls::Certificate<'static>>>>,
    /// The controller's alert-signing public key; `None` refuses every alert (see `alerts`).
    pub alert_public_key: Option<alerts::signing::PublicKey>,
}

impl PlayerConfig {
    pub fn load(path: &Path, flags: Overrides) -> anyhow::Result<PlayerConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let file: ConfigFile = toml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        Self::resolve(file, flags)
    }

    pub fn resolve(file: ConfigFile, flags: Overrides) -> anyhow::Result<PlayerConfig> {
        let Some(id) = flags.id.or(file.id) else {
            bail!("config key id is missing (or pass --id)");
        };
        let id: PlayerId = id.parse().context("config key id")?;
        let Some(url) = flags.broker_url.or(file.broker_url) else {
            bail!("config key broker_url is missing (or pass --broker-url)");
        };
        let broker_url = url.parse().context("config key broker_url")?;
        let Some(controller_url) = file.controller_url else {
            bail!(
                "config key controller_url is missing: the player fetches content only from the \
                 controller pinned there; provision it again with `signage-controller player add`"
            );
        };
        let pinned = crate::sync::origin(&controller_url).context("config key controller_url")?;
        if pinned != controller_url.trim_end_matches('/') {
            bail!(
                "config key controller_url must be an origin like http://host:8080, without a path"
            );
        }
        let controller_url = pinned;
        let controller_ca = match (
            &file.controller_ca_pem,
            controller_url.starts_with("https://"),
        ) {
            (Some(pem), true) => {
                Some(crate::http::pinned(pem).context("config key controller_ca_pem")?)
            }
            (None, true) => bail!(
                "config key controller_url is https:// but controller_ca_pem is missing: the \
                 player trusts only a pinned CA; provision it again with `signage-controller player add`"
            ),
            (_, false) => None,
        };
        let display = match (flags.display, file.display) {
            (Some(d), _) => d,
            (None, Some(d)) => d
                .parse()
                .map_err(anyhow::Error::msg)
                .context("config key display")?,
            (None, None) => DisplayMode::Headless,
        };
        let keep_alive_secs = file.keep_alive_secs.unwrap_or(15);
        if !(1..=3600).contains(&keep_alive_secs) {
            bail!("config key keep_alive_secs must be between 1 and 3600, got {keep_alive_secs}");
        }
        let screen = Screen {
            width: file.screen_width.unwrap_or(1920),
            height: file.screen_height.unwrap_or(1080),
        };
        if screen.width == 0 || screen.height == 0 || screen.width > 16384 || screen.height > 16384
        {
            bail!("config keys screen_width/screen_height must be between 1 and 16384");
        }
        let fake_now = flags
            .fake_now
            .or(file.fake_now)
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.to_utc())
                    .with_context(|| format!("config key fake_now (or SIGNAGE_FAKE_NOW): {t:?} is not an RFC 3339 instant"))
            })
            .transpose()?;
        let reverify_secs = file.reverify_secs.unwrap_or(3600);
        if reverify_secs == 0 {
            bail!("config key reverify_secs must be at least 1");
        }
        let render_fps = file.render_fps.unwrap_or(30);
        if !(1..=120).contains(&render_fps) {
            bail!("config key render_fps must be between 1 and 120, got {render_fps}");
        }
        let window_sink = match file.window_sink.as_deref().unwrap_or("auto") {
            "auto" => render::WindowSink::Auto,
            "kms" => render::WindowSink::Kms,
            "gl" => render::WindowSink::Gl,
            "wayland" => render::WindowSink::Wayland,
            "x" => render::WindowSink::X,
            other => bail!(
                "config key window_sink: unknown sink {other:?}; use auto, kms, gl, wayland or x"
            ),
        };
        let orientation = match file.orientation.as_deref().unwrap_or("landscape") {
            "landscape" => render::Orientation::Landscape,
            "portrait-cw" => render::Orientation::PortraitTurnedClockwise,
            "portrait-ccw" => render::Orientation::PortraitTurnedCounterClockwise,
            other => bail!(
                "config key orientation: unknown orientation {other:?}; use landscape, portrait-cw or portrait-ccw"
            ),
        };
        let health_secs = file.health_secs.unwrap_or(30);
        if !(1..=86_400).contains(&health_secs) {
            bail!("config key health_secs must be between 1 and 86400, got {health_secs}");
        }
        let alert_public_key = file
            .alert_public_key
            .as_deref()
            .map(|hex| {
                alerts::signing::PublicKey::from_hex(hex).with_context(|| {
                    "config key alert_public_key must be the controller's Ed25519 public key as \
                     64 hex digits (as `signage-controller player add` writes it)"
                })
            })
            .transpose()?;
        let power_command = match file.power_command {
            Some(argv) if argv.first().is_none_or(|program| program.trim().is_empty()) => bail!(
                "config key power_command must name a program, e.g. [\"vcgencmd\", \"display_power\"]"
            ),
            argv => argv.unwrap_or_default(),
        };
        let update_trial_secs = file.update_trial_secs.unwrap_or(120);
        if !(5..=3600).contains(&update_trial_secs) {
            bail!(
                "config key update_trial_secs must be between 5 and 3600, got {update_trial_secs}"
            );
        }
        Ok(PlayerConfig {
            controller_ca,
            update_trial_secs,
            power_command,
            alert_public_key,
            render: flags.render.or(file.render).unwrap_or(true),
            render_fps,
            window_sink,
            orientation,
            health_secs,
            camera: file
                .camera
                .map(crate::camera::CameraConfig::resolve)
                .transpose()?,
            fake_now,
            reverify_secs,
            username: flags
                .username
                .or(file.username)
                .unwrap_or_else(|| id.to_string()),
            password: flags.password.or(file.password),
            cache_dir: flags
                .cache_dir
                .or(file.cache_dir)
                .unwrap_or_else(|| PathBuf::from("player-cache").join(id.as_str())),
            id,
            broker_url,
            controller_url,
            ca_file: file.ca_file,
            ca_pem: file.ca_pem,
            display,
            keep_alive_secs,
            screen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_file_player_add_writes_is_enough() {
        let c = PlayerConfig::resolve(
            file("id = \"kita-1\"\nbroker_url = \"mqtt://127.0.0.1:1883\"\ncontroller_url = \"http://127.0.0.1:8080\"\nusername = \"kita-1\"\npassword = \"p\"\n"),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.id.as_str(), "kita-1");
        assert_eq!(c.display, DisplayMode::Headless);
        assert_eq!(c.cache_dir, PathBuf::from("player-cache/kita-1"));
        assert_eq!((c.screen.width, c.screen.height), (1920, 1080));
        assert!(c.render);
        assert_eq!((c.render_fps, c.health_secs), (30, 30));
    }

    #[test]
    fn rendering_can_be_switched_off_and_tuned() {
        let c = PlayerConfig::resolve(
            file("id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\nrender = true\nrender_fps = 5\nhealth_secs = 2\n"),
            Overrides {
                render: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!c.render);
        assert_eq!((c.render_fps, c.health_secs), (5, 2));
        let err = PlayerConfig::resolve(
            file("id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\nrender_fps = 0\n"),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("render_fps"), "{err}");
        let c = PlayerConfig::resolve(
            file("id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\nwindow_sink = \"kms\"\norientation = \"portrait-cw\"\n"),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.window_sink, render::WindowSink::Kms);
        assert_eq!(c.orientation, render::Orientation::PortraitTurnedClockwise);
        for (key, bad) in [("window_sink", "hdmi"), ("orientation", "upside-down")] {
            let err = PlayerConfig::resolve(
                file(&format!(
                    "id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\n{key} = \"{bad}\"\n"
                )),
                Overrides::default(),
            )
            .unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn the_alert_key_is_checked_at_start() {
        let key = alerts::signing::SigningKey::from_bytes(&[7; 32]);
        let hex = alerts::signing::PublicKey::from(&key).to_hex();
        let c = PlayerConfig::resolve(
            file(&format!(
                "id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\nalert_public_key = \"{hex}\"\n"
            )),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.alert_public_key,
            Some(alerts::signing::PublicKey::from(&key))
        );
        let none = PlayerConfig::resolve(
            file("id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\n"),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(none.alert_public_key, None);
        for bad in ["abc", "zz", &hex[..62]] {
            let err = format!(
                "{:#}",
                PlayerConfig::resolve(
                    file(&format!(
                        "id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\nalert_public_key = \"{bad}\"\n"
                    )),
                    Overrides::default()
                )
                .unwrap_err()
            );
            assert!(err.contains("alert_public_key"), "{err}");
        }
    }

    #[test]
    fn flags_override_the_file() {
        let c = PlayerConfig::resolve(
            file("id = \"kita-1\"\nbroker_url = \"mqtt://a:1\"\ncontroller_url = \"http://c:8080\"\ndisplay = \"window\"\n"),
            Overrides {
                id: Some("kita-2".into()),
                broker_url: Some("mqtts://b".into()),
                display: Some(DisplayMode::Headless),
                cache_dir: Some("/var/cache/x".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((c.id.as_str(), c.username.as_str()), ("kita-2", "kita-2"));
        assert!(c.broker_url.tls);
        assert_eq!(c.display, DisplayMode::Headless);
        assert_eq!(c.cache_dir, PathBuf::from("/var/cache/x"));
    }

    #[test]
    fn the_controller_origin_is_required_and_has_no_path() {
        let resolve = |extra: &str| {
            PlayerConfig::resolve(
                file(&format!("id = \"a\"\nbroker_url = \"mqtt://a\"\n{extra}")),
                Overrides::default(),
            )
            .map(|c| c.controller_url)
            .map_err(|e| format!("{e:#}"))
        };
        assert_eq!(
            resolve("controller_url = \"http://c.example:8080/\"\n").unwrap(),
            "http://c.example:8080"
        );
        let unpinned = resolve("controller_url = \"https://c.example:8443\"\n").unwrap_err();
        assert!(unpinned.contains("controller_ca_pem"), "{unpinned}");
        for bad in [
            "",
            "controller_url = \"http://c/x\"\n",
            "controller_url = \"ftp://c\"\n",
        ] {
            let err = resolve(bad).unwrap_err();
            assert!(err.contains("controller_url"), "{bad}: {err}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let err = format!(
            "{:#}",
            PlayerConfig::resolve(
                file("broker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\n"),
                Overrides::default()
            )
            .unwrap_err()
        );
        assert!(err.contains("id"), "{err}");
        let err = format!(
            "{:#}",
            PlayerConfig::resolve(
                file(
                    "id = \"A/B\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\n"
                ),
                Overrides::default()
            )
            .unwrap_err()
        );
        assert!(
            err.contains("config key id") && err.contains("invalid player id"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            PlayerConfig::resolve(
                file("id = \"a\"\nbroker_url = \"mqtt://a\"\ncontroller_url = \"http://c:8080\"\ndisplay = \"tv\"\n"),
                Overrides::default()
            )
            .unwrap_err()
        );
        assert!(err.contains("display"), "{err}");
        assert!(
            toml::from_str::<ConfigFile>("idd = \"a\"\n")
                .unwrap_err()
                .to_string()
                .contains("idd")
        );
    }
}
