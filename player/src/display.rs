//! The screen itself: turns each selection of the `screen` loop into a [`render::ScreenPlan`]
//! and hands it to the renderer when it changes, answers the controller's screenshot requests,
//! and publishes the player's health.
//!
//! Off when the configuration says `render = false`: the player then follows its schedule
//! without drawing, exactly as before rendering existed (tests and servers without GStreamer).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use chrono::Utc;
use content::asset::MediaFile;
use content::ids::ZoneId;
use content::layout::Canvas;
use content::protocol::{
    self, HealthEvent, MAX_HEALTH_EVENTS, PlayerHealth, PlayerId, PlayerTopic, ScreenshotRequest,
    Topic,
};
use content::schedule_set::ScheduleSet;
use content::selection::ScreenContent;
use render::{
    Item, Output, PipelineState, Rect, RenderConfig, RenderEvent, Renderer, ScreenPlan, ZonePlan,
};
use rumqttc::AsyncClient;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::cache::ContentCache;
use crate::config::PlayerConfig;

/// How long one screenshot upload may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The renderer with what the player needs around it.
pub struct Display {
    renderer: Renderer,
    cache: Arc<ContentCache>,
    canvas: Canvas,
    /// The plan last handed to the renderer.
    shown: Mutex<Option<ScreenPlan>>,
    id: PlayerId,
    password: Option<String>,
    /// Where screenshots go: the controller pinned by `player add`.
    controller_url: String,
    /// The HTTP client screenshots are sent with (the controller's pinned CA, if HTTPS).
    agent: ureq::Agent,
    cache_dir: PathBuf,
    events: Mutex<VecDeque<HealthEvent>>,
}

impl Display {
    /// Starts the renderer when the configuration asks for it (`render = true`, the default).
    /// Returns the display and the renderer's events, for [`HealthReporter`].
    pub fn start(
        config: &PlayerConfig,
        cache: Arc<ContentCache>,
    ) -> anyhow::Result<Option<(Arc<Display>, mpsc::Receiver<RenderEvent>)>> {
        if !config.render {
            info!("rendering is off (render = false): following the schedule without drawing");
            return Ok(None);
        }
        let render_config = RenderConfig {
            width: config.screen.width,
            height: config.screen.height,
            fps: config.render_fps,
            output: match config.display {
                protocol::DisplayMode::Headless => Output::Headless,
                protocol::DisplayMode::Window => Output::Window {
                    sink: config.window_sink,
                },
            },
            orientation: config.orientation,
            ..RenderConfig::default()
        };
        let (renderer, events) = Renderer::new(render_config)
            .context("the renderer could not start (set render = false to run without a screen)")?;
        info!(
            width = config.screen.width,
            height = config.screen.height,
            fps = config.render_fps,
            display = ?config.display,
            "renderer started"
        );
        // The renderer's events arrive on a std channel; a small thread moves them to tokio.
        let (tx, rx) = mpsc::channel(64);
        std::thread::Builder::new()
            .name("render-events".into())
            .spawn(move || {
                while let Ok(event) = events.recv() {
                    if tx.blocking_send(event).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the render event thread")?;
        Ok(Some((
            Arc::new(Display {
                renderer,
                cache,
                canvas: Canvas {
                    width: config.screen.width,
                    height: config.screen.height,
                },
                shown: Mutex::new(None),
                id: config.id.clone(),
                password: config.password.clone(),
                controller_url: config.controller_url.clone(),
                agent: crate::http::agent(config.controller_ca.as_ref(), HTTP_TIMEOUT),
                cache_dir: config.cache_dir.clone(),
                events: Mutex::new(VecDeque::new()),
            }),
            rx,
        )))
    }

    /// Shows what the `screen` loop selected; `ready` says which zones have a verified file.
    /// The renderer is told only when the plan changed.
    pub fn show(
        &self,
        selected: Option<(&ScheduleSet, &ScreenContent)>,
        ready: impl Fn(&ZoneId) -> bool,
    ) {
        let cache = &self.cache;
        let plan = match selected {
            Some((set, screen)) => plan_for(set, screen, ready, self.canvas, |file| {
                let path = cache.path(&file.sha256.to_string());
                path.is_file().then_some(path)
            }),
            None => ScreenPlan::default(),
        };
        let mut shown = self.shown.lock().expect("not poisoned");
        if shown.as_ref() == Some(&plan) {
            return;
        }
        debug!(zones = plan.zones.len(), "new screen plan");
        match self.renderer.show(plan.clone()) {
            Ok(()) => *shown = Some(plan),
            Err(e) => warn!(%e, "the renderer refused the plan"),
        }
    }

    /// Puts `alert` over everything at once (the renderer keeps the takeover layer ready), or
    /// takes the takeover down with `None`. The answer tells when the first alert frame was
    /// displayed.
    pub fn show_alert(
        &self,
        alert: Option<&alerts::message::AlertMessage>,
    ) -> Result<Option<render::AlertShown>, render::RenderError> {
        self.renderer
            .show_alert(alert.map(render::AlertScreen::from_message))
    }

    /// Remembers a health event raised outside the renderer (e.g. a refused alert).
    pub fn note(&self, event: HealthEvent) {
        let mut events = self.events.lock().expect("not poisoned");
        events.push_back(event);
        while events.len() > MAX_HEALTH_EVENTS {
            events.pop_front();
        }
    }

    /// The health report: host figures, the renderer's counters and its latest events.
    pub fn health(&self) -> PlayerHealth {
        let h = self.renderer.health(&self.cache_dir);
        PlayerHealth {
            at: Utc::now(),
            cpu_percent: h.cpu_percent,
            process_cpu_percent: h.process_cpu_percent,
            memory_total_bytes: h.memory_total_bytes,
            memory_available_bytes: h.memory_available_bytes,
            process_rss_bytes: h.process_rss_bytes,
            temperature_celsius: h.temperature_celsius,
            disk_free_bytes: h.disk_free_bytes,
            disk_total_bytes: h.disk_total_bytes,
            pipeline_state: match h.pipeline_state {
                PipelineState::Stopped => "stopped",
                PipelineState::Starting => "starting",
                PipelineState::Paused => "paused",
                PipelineState::Playing => "playing",
            }
            .into(),
            frames_rendered: h.frames_rendered,
            frames_dropped: h.frames_dropped,
            rebuilds: h.rebuilds,
            uptime_s: h.uptime.as_secs(),
            events: self
                .events
                .lock()
                .expect("not poisoned")
                .iter()
                .cloned()
                .collect(),
        }
    }

    /// Remembers an event for the health reports; true when it deserves a report at once.
    fn record(&self, event: &RenderEvent) -> bool {
        let (kind, zone, message, urgent) = match event {
            RenderEvent::Fault { fault, .. } => ("fault", None, fault.to_string(), true),
            RenderEvent::Recovered { fault, after } => (
                "recovered",
                None,
                format!("recovered from \"{fault}\" after {} ms", after.as_millis()),
                true,
            ),
            RenderEvent::ItemFailed { zone, message } => {
                ("item_failed", Some(zone.clone()), message.clone(), false)
            }
        };
        if urgent {
            warn!(kind, %message, "renderer event");
        } else {
            warn!(kind, zone = ?zone, %message, "an item could not be shown");
        }
        let mut events = self.events.lock().expect("not poisoned");
        events.push_back(HealthEvent {
            at: Utc::now(),
            kind: kind.into(),
            zone,
            message,
        });
        while events.len() > MAX_HEALTH_EVENTS {
            events.pop_front();
        }
        urgent
    }

    /// Answers a screenshot request: the PNG (or the reason there is none) goes to the
    /// controller over HTTP, never over MQTT. Runs on a blocking thread; returns at once.
    pub fn answer_screenshot(self: &Arc<Self>, request: ScreenshotRequest) {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = me
                .renderer
                .screenshot(request.max_width)
                .map_err(|e| e.to_string());
            match me.upload(&request, result) {
                Ok(()) => info!(request = %request.request_id, "screenshot sent"),
                Err(e) => {
                    warn!(request = %request.request_id, error = %format!("{e:#}"), "cannot send a screenshot")
                }
            }
        });
    }

    fn upload(
        &self,
        request: &ScreenshotRequest,
        picture: Result<Vec<u8>, String>,
    ) -> anyhow::Result<()> {
        // Only to the controller pinned by `player add`: the request itself names no address,
        // so no one can divert the player's credentials.
        let url = format!(
            "{}/api/v1/players/{}/screenshot/{}",
            self.controller_url, self.id, request.request_id
        );
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.id,
            self.password.as_deref().unwrap_or_default()
        ));
        let put = self
            .agent
            .put(&url)
            .header("Authorization", format!("Basic {credentials}"));
        let response = match picture {
            Ok(png) => put.header("Content-Type", "image/png").send(&png[..]),
            Err(reason) => put.send_json(serde_json::json!({ "error": reason })),
        }
        .with_context(|| format!("PUT {url}"))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            anyhow::bail!("PUT {url} answered {status}");
        }
        Ok(())
    }
}

/// The renderer's plan for a selected screen: every zone of the layout whose item is ready, in
/// the layout's order, scaled from the layout's canvas to the screen's, with the playlist's next
/// item to pre-roll when its file is at hand. `path` gives the cached file of a media asset.
pub fn plan_for(
    set: &ScheduleSet,
    screen: &ScreenContent,
    ready: impl Fn(&ZoneId) -> bool,
    canvas: Canvas,
    path: impl Fn(&MediaFile) -> Option<PathBuf>,
) -> ScreenPlan {
    let Some(layout) = set.layout(&screen.layout) else {
        return ScreenPlan::default();
    };
    let mut zones = Vec::new();
    for zone in &layout.zones {
        let Some(zc) = screen.zones.iter().find(|z| z.zone == zone.id) else {
            continue;
        };
        if !ready(&zone.id) {
            continue;
        }
        let Some(asset) = set.asset(&zc.asset) else {
            continue;
        };
        let item = match Item::from_asset(asset, &path) {
            Ok(item) => item,
            Err(e) => {
                debug!(zone = %zone.id, %e, "zone left empty");
                continue;
            }
        };
        let mut plan = ZonePlan::new(zone, item);
        plan.rect = scale(plan.rect, layout.canvas, canvas);
        plan.instance = u64::try_from(zc.started_at.timestamp_millis()).unwrap_or(0);
        plan.next = set
            .playlist(&zc.playlist)
            .filter(|p| p.items.len() > 1)
            .and_then(|p| p.items.get((zc.item + 1) % p.items.len()))
            .and_then(|next| set.asset(&next.asset))
            .filter(|next| next.meta.shown_at(zc.ends_at))
            .and_then(|next| Item::from_asset(next, &path).ok());
        zones.push(plan);
    }
    ScreenPlan { zones }
}

/// A zone of a layout drawn for `from` placed on a screen of `to` (the same when they agree).
fn scale(rect: Rect, from: Canvas, to: Canvas) -> Rect {
    if from == to || from.width == 0 || from.height == 0 {
        return rect;
    }
    let sx = |v: u32| (u64::from(v) * u64::from(to.width) / u64::from(from.width)) as u32;
    let sy = |v: u32| (u64::from(v) * u64::from(to.height) / u64::from(from.height)) as u32;
    let (x, y) = (sx(rect.x), sy(rect.y));
    Rect {
        x,
        y,
        width: (sx(rect.x + rect.width) - x).max(1),
        height: (sy(rect.y + rect.height) - y).max(1),
    }
}

/// Publishes the player's health (retained) every `every`, and at once after a renderer fault
/// or recovery.
pub struct HealthReporter {
    pub display: Arc<Display>,
    pub client: AsyncClient,
    pub id: PlayerId,
    pub every: Duration,
}

impl HealthReporter {
    pub async fn run(self, mut events: mpsc::Receiver<RenderEvent>) {
        let topic = Topic::player(&self.id, PlayerTopic::Health);
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                event = events.recv() => match event {
                    Some(event) => {
                        if !self.display.record(&event) {
                            continue;
                        }
                    }
                    None => {
                        warn!("the renderer stopped reporting events");
                        return;
                    }
                },
            }
            let health = self.display.health();
            // Never waits: with the broker away, a report that does not fit the queue is
            // dropped and the next one carries newer figures.
            if let Err(e) = mqtt_link::try_publish(&self.client, &topic, protocol::encode(&health))
            {
                debug!(%e, "health report not queued");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use chrono::TimeZone;
    use content::schedule_set::ScheduleSetParts;
    use content::selection::ZoneContent;

    fn cache_path(cache_dir: &Path, sha256: &str) -> PathBuf {
        cache_dir.join("content").join(sha256)
    }

    fn set() -> ScheduleSet {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let parts: ScheduleSetParts = serde_json::from_str(&format!(
            r##"{{"assets":[
                {{"id":"pic","kind":"image","file":{{"sha256":"{sha}","size_bytes":10}}}},
                {{"id":"hello","kind":"text_slide","texts":{{"ja":{{"title":"ようこそ","body":""}}}},
                  "colours":{{"text":"#ffffff","background":"#003366"}}}}],
              "playlists":[{{"id":"left","items":[{{"asset":"pic"}},{{"asset":"hello"}}]}},
                           {{"id":"right","items":[{{"asset":"hello"}}]}}],
              "layouts":[{{"id":"two","canvas":{{"width":1920,"height":1080}},"zones":[
                {{"id":"a","x":0,"y":0,"width":960,"height":1080,"playlist":"left"}},
                {{"id":"b","x":960,"y":0,"width":960,"height":1080,"playlist":"right"}}]}}],
              "entries":[],"fallback_layout":"two"}}"##
        ))
        .unwrap();
        ScheduleSet::new(parts).unwrap()
    }

    fn screen() -> ScreenContent {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap();
        let zc = |zone: &str, playlist: &str, asset: &str| ZoneContent {
            zone: zone.into(),
            playlist: playlist.into(),
            item: 0,
            asset: asset.into(),
            started_at: at,
            ends_at: at + chrono::TimeDelta::seconds(10),
        };
        ScreenContent {
            layout: "two".into(),
            zones: vec![zc("a", "left", "pic"), zc("b", "right", "hello")],
        }
    }

    #[test]
    fn a_selection_becomes_a_scaled_plan_with_the_next_item() {
        let canvas = Canvas {
            width: 640,
            height: 360,
        };
        let plan = plan_for(
            &set(),
            &screen(),
            |_| true,
            canvas,
            |f| Some(cache_path(Path::new("/c"), &f.sha256.to_string())),
        );
        assert_eq!(plan.zones.len(), 2);
        let a = &plan.zones[0];
        assert!(matches!(&a.item, Item::Image { path, .. } if path.starts_with("/c/content")));
        assert_eq!(
            a.rect,
            Rect {
                x: 0,
                y: 0,
                width: 320,
                height: 360
            }
        );
        assert!(matches!(a.next, Some(Item::Text { .. })));
        assert_eq!(a.instance, 1_795_575_600_000);
        let b = &plan.zones[1];
        assert_eq!(b.rect.x, 320);
        assert_eq!(b.next, None, "a one-item playlist has nothing to pre-roll");
    }

    #[test]
    fn zones_not_ready_or_not_cached_stay_empty() {
        let canvas = Canvas {
            width: 1920,
            height: 1080,
        };
        let not_ready = plan_for(&set(), &screen(), |z| z.0 != "b", canvas, |_| None);
        assert!(
            not_ready.zones.is_empty(),
            "a: file not cached, b: not ready"
        );
        let plan = plan_for(&set(), &screen(), |_| true, canvas, |_| None);
        assert_eq!(plan.zones.len(), 1);
        assert_eq!(plan.zones[0].id, "b");
        assert_eq!(plan.zones[0].rect.width, 960);
    }
}
