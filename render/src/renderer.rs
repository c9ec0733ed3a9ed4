//! The renderer: a handle the player drives, and a worker thread that owns the pipeline,
//! runs the transitions, reads the bus and keeps watch.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use crate::alert::{AlertScreen, AlertShown};
use crate::branch::Branch;
use crate::canvas::{Canvas, Shared};
use crate::config::RenderConfig;
use crate::error::RenderError;
use crate::frame::FrameInfo;
use crate::health::{self, CpuSampler, HealthSnapshot};
use crate::plan::{Item, Rect, ScreenPlan, ZonePlan};
use crate::watchdog::{self, Fault, Observation};

/// Initialises GStreamer once for the process; [`Renderer::new`] calls it.
pub fn init() -> Result<(), RenderError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| e.to_string()))
        .clone()
        .map_err(RenderError::Init)
}

/// What the renderer tells the player; the player forwards it as health over MQTT. Delivered
/// on a bounded channel: if the player does not read, events are dropped, never the renderer
/// stalled.
#[derive(Debug, Clone, PartialEq)]
pub enum RenderEvent {
    /// The watchdog saw a fault and rebuilt the pipeline.
    Fault { fault: Fault, at: SystemTime },
    /// Frames flow again after the rebuild that followed `fault`.
    Recovered {
        fault: Fault,
        /// From the rebuild to the first new composed frame.
        after: Duration,
    },
    /// An item could not be shown (missing file, undecodable, never pre-rolled); the zone keeps
    /// its previous item.
    ItemFailed { zone: String, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineState {
    Stopped,
    Starting,
    Paused,
    Playing,
}

/// Counters since the renderer started (across rebuilds).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderStats {
    pub frames_rendered: u64,
    /// Output slots without a composed frame plus frames the sinks and decoders dropped as late
    /// (their QoS reports).
    pub frames_dropped: u64,
    pub pipeline_state: PipelineState,
    pub rebuilds: u64,
    /// Zone id and what it shows now (the visible item, not one still pre-rolling).
    pub showing: Vec<(String, Option<Item>)>,
    pub uptime: Duration,
}

enum Command {
    Show(ScreenPlan),
    Alert(Option<AlertScreen>, Option<SyncSender<SystemTime>>),
    Stop,
}

/// The player's screen. Dropping it stops the pipeline.
pub struct Renderer {
    commands: Sender<Command>,
    shared: Arc<Shared>,
    status: Arc<Mutex<Status>>,
    cpu: Mutex<CpuSampler>,
    worker: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Status {
    showing: Vec<(String, Option<Item>)>,
    pipeline: Option<gst::Pipeline>,
}

impl Renderer {
    /// Builds and starts the pipeline (black until the first [`Renderer::show`]) and returns
    /// the renderer with the receiving end of its events.
    pub fn new(config: RenderConfig) -> Result<(Renderer, Receiver<RenderEvent>), RenderError> {
        init()?;
        validate(&config)?;
        let shared = Arc::new(Shared::new());
        let canvas = Canvas::build(&config, &shared)?;
        let status = Arc::new(Mutex::new(Status {
            pipeline: Some(canvas.pipeline.clone()),
            ..Status::default()
        }));
        let (events_tx, events) = mpsc::sync_channel(64);
        let (commands, commands_rx) = mpsc::channel();
        let mut worker = Worker {
            config,
            shared: shared.clone(),
            status: status.clone(),
            events: events_tx,
            canvas: Some(canvas),
            plan: ScreenPlan::default(),
            zones: HashMap::new(),
            retiring: Vec::new(),
            qos: HashMap::new(),
            pending_recovery: None,
            consecutive_rebuilds: 0,
            alert: None,
            alert_waiting: Vec::new(),
        };
        let worker = std::thread::Builder::new()
            .name("render".into())
            .spawn(move || worker.run(commands_rx))
            .map_err(|e| RenderError::Pipeline(e.to_string()))?;
        Ok((
            Renderer {
                commands,
                shared,
                status,
                cpu: Mutex::new(CpuSampler::default()),
                worker: Some(worker),
            },
            events,
        ))
    }

    /// Shows `plan`: zones whose item changed cross-fade to the new item once it has
    /// pre-rolled; the old item stays on screen until then. Returns at once.
    pub fn show(&self, plan: ScreenPlan) -> Result<(), RenderError> {
        self.commands
            .send(Command::Show(plan))
            .map_err(|_| RenderError::Stopped)
    }

    /// Puts an emergency alert over everything at once (`None` takes it down). The takeover
    /// layer is built with the canvas, so nothing waits for a pre-roll. For an alert, the
    /// answer says when its first composed frame left the compositor.
    pub fn show_alert(
        &self,
        alert: Option<AlertScreen>,
    ) -> Result<Option<AlertShown>, RenderError> {
        let (notify, shown) = match alert {
            Some(_) => {
                let (tx, rx) = mpsc::sync_channel(1);
                (Some(tx), Some(AlertShown::new(rx)))
            }
            None => (None, None),
        };
        self.commands
            .send(Command::Alert(alert, notify))
            .map_err(|_| RenderError::Stopped)?;
        Ok(shown)
    }

    /// The last composed frame as a PNG at most `max_width` pixels wide (aspect kept).
    pub fn screenshot(&self, max_width: u32) -> Result<Vec<u8>, RenderError> {
        let sample = self
            .shared
            .last_sample
            .lock()
            .unwrap()
            .clone()
            .ok_or(RenderError::NoFrameYet)?;
        let info = sample
            .caps()
            .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
            .ok_or_else(|| RenderError::Screenshot("the frame has no video caps".into()))?;
        let (width, height) = screenshot_size(info.width(), info.height(), max_width);
        let caps = gst::Caps::builder("image/png")
            .field("width", width as i32)
            .field("height", height as i32)
            .build();
        let png = gst_video::convert_sample(&sample, &caps, Some(gst::ClockTime::from_seconds(5)))
            .map_err(|e| RenderError::Screenshot(e.to_string()))?;
        let buffer = png
            .buffer()
            .ok_or_else(|| RenderError::Screenshot("the encoder returned nothing".into()))?;
        let map = buffer
            .map_readable()
            .map_err(|e| RenderError::Screenshot(e.to_string()))?;
        Ok(map.as_slice().to_vec())
    }

    pub fn stats(&self) -> RenderStats {
        let status = self.status.lock().unwrap();
        RenderStats {
            frames_rendered: self.shared.frames_rendered.load(Ordering::Relaxed),
            frames_dropped: self.shared.frames_missed.load(Ordering::Relaxed)
                + self.shared.qos_dropped.load(Ordering::Relaxed),
            pipeline_state: pipeline_state(
                status.pipeline.as_ref(),
                self.shared.watch.lock().unwrap().last_frame_at,
            ),
            rebuilds: self.shared.rebuilds.load(Ordering::Relaxed),
            showing: status.showing.clone(),
            uptime: self.shared.started.elapsed(),
        }
    }

    /// Health figures for the periodic report; `cache_dir` is where disk space is measured.
    /// CPU figures cover the time since the previous call.
    pub fn health(&self, cache_dir: &Path) -> HealthSnapshot {
        let (cpu_percent, process_cpu_percent) = self.cpu.lock().unwrap().sample();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let disk = health::disk_space(cache_dir);
        let stats = self.stats();
        HealthSnapshot {
            cpu_percent,
            process_cpu_percent,
            memory_total_bytes: health::kb_field(&meminfo, "MemTotal"),
            memory_available_bytes: health::kb_field(&meminfo, "MemAvailable"),
            process_rss_bytes: health::process_rss_bytes(),
            temperature_celsius: health::temperature_celsius(),
            disk_free_bytes: disk.map(|d| d.0),
            disk_total_bytes: disk.map(|d| d.1),
            pipeline_state: stats.pipeline_state,
            frames_rendered: stats.frames_rendered,
            frames_dropped: stats.frames_dropped,
            rebuilds: stats.rebuilds,
            uptime: stats.uptime,
        }
    }

    /// Every composed frame from now on (bounded: frames are skipped if the receiver lags).
    pub fn frames(&self) -> Receiver<FrameInfo> {
        let (tx, rx) = mpsc::sync_channel(4096);
        self.shared.subscribers.lock().unwrap().push(tx);
        rx
    }

    /// The current pipeline, for diagnostics (dot graphs) and fault-injection tests. It is
    /// replaced when the watchdog rebuilds.
    pub fn pipeline(&self) -> Option<gst::Pipeline> {
        self.status.lock().unwrap().pipeline.clone()
    }
}

impl Drop for Renderer {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Asked of the pipeline itself (its bus messages reach the worker later than the first
/// frames do). A decoder being added for the next item posts async-start and the bin reports
/// PAUSED until it has pre-rolled while the live canvas keeps composing: that is playing.
fn pipeline_state(pipeline: Option<&gst::Pipeline>, last_frame: Option<Instant>) -> PipelineState {
    // A paused live pipeline composes nothing, so fresh frames mean it plays.
    let composing = last_frame.is_some_and(|t| t.elapsed() < Duration::from_secs(1));
    match pipeline.map(|p| p.current_state()) {
        Some(gst::State::Playing) => PipelineState::Playing,
        Some(gst::State::Paused) if composing => PipelineState::Playing,
        Some(gst::State::Paused) => PipelineState::Paused,
        Some(gst::State::Ready) | None => PipelineState::Starting,
        Some(_) => PipelineState::Stopped,
    }
}

/// Width and height (even, at least 2) of a screenshot at most `max_width` wide.
pub(crate) fn screenshot_size(width: u32, height: u32, max_width: u32) -> (u32, u32) {
    let target = max_width.clamp(2, width.max(2));
    let scaled = (u64::from(height) * u64::from(target) / u64::from(width.max(1))) as u32;
    (target & !1, scaled.max(2) & !1)
}

fn validate(config: &RenderConfig) -> Result<(), RenderError> {
    let size = |key, v: u32| {
        if (16..=8192).contains(&v) {
            Ok(())
        } else {
            Err(RenderError::InvalidConfig {
                key,
                problem: format!("{v} pixels is outside 16..=8192"),
            })
        }
    };
    size("width", config.width)?;
    size("height", config.height)?;
    if !(1..=120).contains(&config.fps) {
        return Err(RenderError::InvalidConfig {
            key: "fps",
            problem: format!("{} is outside 1..=120 frames per second", config.fps),
        });
    }
    Ok(())
}

/// What a zone shows: the visible item, one on its way in, and one pre-rolled for later.
#[derive(Default)]
struct ZoneState {
    current: Option<Branch>,
    incoming: Option<(Branch, Phase)>,
    prepared: Option<Branch>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Prerolling { since: Instant },
    Starting { at: gst::ClockTime },
    Fading { since: Instant },
}

/// Identity of what a zone is asked to show: a video restarts on a new instance, a still item
/// does not.
fn same_showing(branch: &Branch, item: &Item, instance: u64, rect: Rect) -> bool {
    branch.item == *item
        && branch.rect == rect
        && (!matches!(item, Item::Video { .. }) || branch.instance == instance)
}

const PREROLL_TIMEOUT: Duration = Duration::from_secs(15);

struct Worker {
    config: RenderConfig,
    shared: Arc<Shared>,
    status: Arc<Mutex<Status>>,
    events: SyncSender<RenderEvent>,
    canvas: Option<Canvas>,
    plan: ScreenPlan,
    zones: HashMap<String, ZoneState>,
    retiring: Vec<Branch>,
    qos: HashMap<String, u64>,
    pending_recovery: Option<(Fault, Instant)>,
    consecutive_rebuilds: u32,
    /// The alert on screen, shown again after a rebuild.
    alert: Option<AlertScreen>,
    /// Waiting for `alert` to be displayed while there was no canvas to show it.
    alert_waiting: Vec<SyncSender<SystemTime>>,
}

impl Worker {
    fn run(&mut self, commands: Receiver<Command>) {
        loop {
            let busy =
                self.zones.values().any(|z| z.incoming.is_some()) || !self.retiring.is_empty();
            let mut tick = if busy {
                Duration::from_millis(15)
            } else {
                Duration::from_millis(100)
            };
            // The alert layer's next flash or language change.
            if let Some(at) = self.canvas.as_mut().and_then(|c| c.alert.tick()) {
                tick = tick.min(at.saturating_duration_since(Instant::now()));
            }
            match commands.recv_timeout(tick) {
                Ok(Command::Show(plan)) => self.show(plan),
                Ok(Command::Alert(alert, notify)) => {
                    // Without a canvas (a rebuild failed), whoever waits is told once one shows
                    // it; like the layer, a replacing alert keeps the replaced one's waiters.
                    match (self.canvas.as_mut(), alert.clone()) {
                        (Some(canvas), Some(screen)) => canvas.alert.show(screen, notify),
                        (Some(canvas), None) => canvas.alert.clear(),
                        (None, Some(_)) => self.alert_waiting.extend(notify),
                        (None, None) => self.alert_waiting.clear(),
                    }
                    self.alert = alert;
                }
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.read_bus();
            self.advance();
            self.keep_watch();
        }
        self.zones.clear();
        self.retiring.clear();
        if let Some(canvas) = self.canvas.take() {
            let _ = canvas.pipeline.set_state(gst::State::Null);
        }
    }

    fn emit(&self, event: RenderEvent) {
        tracing::info!(?event, "render event");
        let _ = self.events.try_send(event);
    }

    fn zorder_base(&self, zone: &str) -> u32 {
        let mut ranked: Vec<(i32, usize, &str)> = self
            .plan
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.z, i, z.id.as_str()))
            .collect();
        ranked.sort();
        let rank = ranked.iter().position(|r| r.2 == zone).unwrap_or(0) as u32;
        10 + rank * 10
    }

    fn build(&self, item: &Item, instance: u64, rect: Rect) -> Result<Branch, RenderError> {
        let canvas = self.canvas.as_ref().ok_or(RenderError::Stopped)?;
        Branch::build(
            &canvas.pipeline,
            &canvas.compositor,
            item,
            instance,
            rect,
            self.config.fps,
        )
    }

    fn show(&mut self, plan: ScreenPlan) {
        let wanted: Vec<&str> = plan.zones.iter().map(|z| z.id.as_str()).collect();
        let gone: Vec<String> = self
            .zones
            .keys()
            .filter(|id| !wanted.contains(&id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            let zone = self.zones.remove(&id).unwrap();
            self.retire_zone(zone);
        }
        self.plan = plan.clone();
        for zone in &plan.zones {
            self.show_zone(zone);
        }
        self.publish_status();
    }

    fn retire_zone(&mut self, zone: ZoneState) {
        let branches = [zone.current, zone.incoming.map(|i| i.0), zone.prepared];
        for mut branch in branches.into_iter().flatten() {
            branch.begin_retire();
            self.retiring.push(branch);
        }
    }

    fn retire(&mut self, branch: Option<Branch>) {
        if let Some(mut branch) = branch {
            branch.begin_retire();
            self.retiring.push(branch);
        }
    }

    fn show_zone(&mut self, plan: &ZonePlan) {
        let base = self.zorder_base(&plan.id);
        let mut zone = self.zones.remove(&plan.id).unwrap_or_default();
        let (item, instance, rect) = (&plan.item, plan.instance, plan.rect);
        let incoming_matches = zone
            .incoming
            .as_ref()
            .is_some_and(|(b, _)| same_showing(b, item, instance, rect));
        let current_matches = zone
            .current
            .as_ref()
            .is_some_and(|b| same_showing(b, item, instance, rect));
        if !incoming_matches {
            self.retire(zone.incoming.take().map(|i| i.0));
            if !current_matches {
                let prepared = zone.prepared.take();
                let branch = match prepared {
                    Some(b) if b.item == *item && b.rect == rect => {
                        let mut b = b;
                        b.instance = instance;
                        Ok(b)
                    }
                    other => {
                        self.retire(other);
                        self.build(item, instance, rect)
                    }
                };
                match branch {
                    Ok(branch) => {
                        branch.set_zorder(base + 2);
                        zone.incoming = Some((
                            branch,
                            Phase::Prerolling {
                                since: Instant::now(),
                            },
                        ));
                    }
                    Err(e) => self.emit(RenderEvent::ItemFailed {
                        zone: plan.id.clone(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        if let Some(current) = &zone.current {
            current.set_zorder(base + 1);
        }
        // Pre-roll the next item, unless it is already waiting.
        match &plan.next {
            Some(next)
                if !zone
                    .prepared
                    .as_ref()
                    .is_some_and(|b| b.item == *next && b.rect == rect) =>
            {
                self.retire(zone.prepared.take());
                match self.build(next, 0, rect) {
                    Ok(branch) => {
                        branch.set_zorder(base + 3);
                        zone.prepared = Some(branch);
                    }
                    Err(e) => self.emit(RenderEvent::ItemFailed {
                        zone: plan.id.clone(),
                        message: format!("next item: {e}"),
                    }),
                }
            }
            Some(_) => {}
            None => self.retire(zone.prepared.take()),
        }
        self.zones.insert(plan.id.clone(), zone);
    }

    /// Moves each incoming item along: gate opened once pre-rolled, faded in once composed,
    /// the old item removed once covered.
    fn advance(&mut self) {
        let Some(canvas) = &self.canvas else { return };
        let frame = gst::ClockTime::from_nseconds(1_000_000_000 / u64::from(self.config.fps));
        let margin = (frame * 3).max(gst::ClockTime::from_mseconds(100));
        let composed = self.shared.watch.lock().unwrap().running_time;
        let transition = self.config.transition;
        let mut failed = Vec::new();
        let mut to_retire = Vec::new();
        let mut changed = false;
        for (id, zone) in &mut self.zones {
            let Some((branch, phase)) = &mut zone.incoming else {
                continue;
            };
            match *phase {
                Phase::Prerolling { since } => {
                    if branch.prerolled() {
                        if let Some(now) = canvas.running_time() {
                            let at = now + margin;
                            branch.open_gate(at);
                            *phase = Phase::Starting { at };
                        }
                    } else if since.elapsed() > PREROLL_TIMEOUT {
                        failed.push((id.clone(), "the item did not start within 15 s".to_owned()));
                    }
                }
                Phase::Starting { at } => {
                    if composed.is_some_and(|c| c >= at + frame * 2) {
                        if zone.current.is_none() || transition.is_zero() {
                            branch.set_alpha(1.0);
                            let (branch, _) = zone.incoming.take().unwrap();
                            to_retire.extend(zone.current.replace(branch));
                            changed = true;
                        } else {
                            *phase = Phase::Fading {
                                since: Instant::now(),
                            };
                        }
                    }
                }
                Phase::Fading { since } => {
                    let progress = since.elapsed().as_secs_f64() / transition.as_secs_f64();
                    branch.set_alpha(progress);
                    if progress >= 1.0 {
                        let (branch, _) = zone.incoming.take().unwrap();
                        to_retire.extend(zone.current.replace(branch));
                        changed = true;
                    }
                }
            }
        }
        for (id, message) in failed {
            let branch = self.zones.get_mut(&id).and_then(|z| z.incoming.take());
            self.retire(branch.map(|b| b.0));
            self.emit(RenderEvent::ItemFailed { zone: id, message });
        }
        for branch in to_retire {
            self.retire(Some(branch));
        }
        if changed {
            let ids: Vec<String> = self.zones.keys().cloned().collect();
            for id in ids {
                let base = self.zorder_base(&id);
                if let Some(current) = self.zones.get(&id).and_then(|z| z.current.as_ref()) {
                    current.set_zorder(base + 1);
                }
            }
            self.publish_status();
        }
        let canvas = self.canvas.as_ref().unwrap();
        let (done, waiting): (Vec<Branch>, Vec<Branch>) = std::mem::take(&mut self.retiring)
            .into_iter()
            .partition(Branch::ready_to_remove);
        self.retiring = waiting;
        for branch in done {
            branch.remove(&canvas.pipeline, &canvas.compositor);
        }
    }

    fn publish_status(&self) {
        let mut status = self.status.lock().unwrap();
        status.showing = self
            .plan
            .zones
            .iter()
            .map(|z| {
                let item = self
                    .zones
                    .get(&z.id)
                    .and_then(|s| s.current.as_ref())
                    .map(|b| b.item.clone());
                (z.id.clone(), item)
            })
            .collect();
        status.pipeline = self.canvas.as_ref().map(|c| c.pipeline.clone());
    }

    fn read_bus(&mut self) {
        let Some(bus) = self.canvas.as_ref().and_then(|c| c.pipeline.bus()) else {
            return;
        };
        let mut fault = None;
        while let Some(message) = bus.pop() {
            match message.view() {
                gst::MessageView::Error(err) => {
                    let text = format!(
                        "{}: {} ({})",
                        err.src()
                            .map(|s| s.path_string().to_string())
                            .unwrap_or_default(),
                        err.error(),
                        err.debug().unwrap_or_default()
                    );
                    match err.src().map(|s| self.owner_of(s)) {
                        Some(Owner::Retiring) => {}
                        Some(Owner::Zone(zone, Role::Current)) => {
                            tracing::warn!(zone, "item failed while showing: {text}");
                            self.emit(RenderEvent::ItemFailed {
                                zone,
                                message: text,
                            });
                        }
                        Some(Owner::Zone(zone, role)) => {
                            let z = self.zones.get_mut(&zone).unwrap();
                            let branch = match role {
                                Role::Incoming => z.incoming.take().map(|i| i.0),
                                _ => z.prepared.take(),
                            };
                            self.retire(branch);
                            self.emit(RenderEvent::ItemFailed {
                                zone,
                                message: text,
                            });
                        }
                        _ => fault = Some(Fault::PipelineError { message: text }),
                    }
                }
                gst::MessageView::Warning(w) => {
                    tracing::warn!("GStreamer warning: {}", w.error());
                }
                gst::MessageView::Qos(qos) => {
                    let (_, dropped) = qos.stats();
                    if let (Some(src), Ok(dropped)) = (qos.src(), u64::try_from(dropped.value())) {
                        let key = src.path_string().to_string();
                        let before = self.qos.insert(key, dropped).unwrap_or(0);
                        self.shared
                            .qos_dropped
                            .fetch_add(dropped.saturating_sub(before), Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
        if let Some(fault) = fault {
            self.rebuild(fault);
        }
    }

    fn owner_of(&self, element: &gst::Object) -> Owner {
        if self.retiring.iter().any(|b| b.contains(element)) {
            return Owner::Retiring;
        }
        for (id, zone) in &self.zones {
            let roles = [
                (zone.current.as_ref(), Role::Current),
                (zone.incoming.as_ref().map(|i| &i.0), Role::Incoming),
                (zone.prepared.as_ref(), Role::Prepared),
            ];
            for (branch, role) in roles {
                if branch.is_some_and(|b| b.contains(element)) {
                    return Owner::Zone(id.clone(), role);
                }
            }
        }
        Owner::Canvas
    }

    fn keep_watch(&mut self) {
        let Some(canvas) = &self.canvas else { return };
        let now = Instant::now();
        let watch = self.shared.watch.lock().unwrap().clone();
        if let Some((fault, rebuilt_at)) = &self.pending_recovery
            && watch.last_frame_at.is_some_and(|t| t > *rebuilt_at)
        {
            let event = RenderEvent::Recovered {
                fault: fault.clone(),
                after: rebuilt_at.elapsed(),
            };
            self.pending_recovery = None;
            self.emit(event);
        }
        let since = |t: Option<Instant>| t.map_or(Duration::ZERO, |t| now.duration_since(t));
        let showing: Vec<&Branch> = self
            .zones
            .values()
            .filter_map(|z| z.current.as_ref())
            .collect();
        let observation = Observation {
            // Back off after repeated rebuilds: 1, 2, 4, ... times the grace, at most 60 s.
            since_build: now.duration_since(canvas.built_at),
            since_last_frame: now.duration_since(watch.last_frame_at.unwrap_or(canvas.built_at)),
            black_for: since(watch.black_since),
            unchanged_for: since(watch.changed_at),
            has_content: !showing.is_empty(),
            expects_motion: showing.iter().any(|b| b.item.moves() && !b.ended()),
        };
        let mut limits = self.config.watchdog.clone();
        let backoff = 1u32 << self.consecutive_rebuilds.min(5);
        limits.grace = (limits.grace * backoff).min(Duration::from_secs(60).max(limits.grace));
        if observation.since_build > Duration::from_secs(120) {
            self.consecutive_rebuilds = 0;
        }
        if let Some(fault) = watchdog::verdict(&observation, &limits) {
            self.rebuild(fault);
        }
    }

    /// Replaces the whole pipeline and shows the current plan on the new one.
    fn rebuild(&mut self, fault: Fault) {
        tracing::warn!(%fault, "rebuilding the render pipeline");
        self.emit(RenderEvent::Fault {
            fault: fault.clone(),
            at: SystemTime::now(),
        });
        self.shared.rebuilds.fetch_add(1, Ordering::Relaxed);
        self.consecutive_rebuilds += 1;
        self.zones.clear();
        self.retiring.clear();
        self.qos.clear();
        if let Some(canvas) = self.canvas.take() {
            canvas.dispose();
        }
        match Canvas::build(&self.config, &self.shared) {
            Ok(canvas) => {
                self.canvas = Some(canvas);
                self.pending_recovery = Some((fault, Instant::now()));
                let plan = std::mem::take(&mut self.plan);
                self.show(plan);
                if let (Some(alert), Some(canvas)) = (self.alert.clone(), self.canvas.as_mut()) {
                    canvas.alert.show(alert, self.alert_waiting.drain(..));
                }
            }
            Err(e) => {
                tracing::error!("could not rebuild the render pipeline: {e}");
                self.emit(RenderEvent::Fault {
                    fault: Fault::PipelineError {
                        message: format!("rebuild failed: {e}"),
                    },
                    at: SystemTime::now(),
                });
            }
        }
        self.publish_status();
    }
}

enum Owner {
    Canvas,
    Retiring,
    Zone(String, Role),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Current,
    Incoming,
    Prepared,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshots_keep_the_aspect_and_never_upscale() {
        assert_eq!(screenshot_size(1920, 1080, 480), (480, 270));
        assert_eq!(screenshot_size(1920, 1080, 4000), (1920, 1080));
        assert_eq!(screenshot_size(1080, 1920, 320), (320, 568));
        assert_eq!(screenshot_size(640, 360, 0), (2, 2));
    }

    #[test]
    fn configuration_errors_name_the_key() {
        let bad = RenderConfig {
            fps: 0,
            ..RenderConfig::default()
        };
        assert_eq!(
            validate(&bad).unwrap_err().to_string(),
            "fps: 0 is outside 1..=120 frames per second"
        );
        let bad = RenderConfig {
            width: 8,
            ..RenderConfig::default()
        };
        assert!(
            validate(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("width: ")
        );
        assert!(validate(&RenderConfig::default()).is_ok());
    }
}
