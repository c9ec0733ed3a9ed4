//! The player's camera: the `analytics` counting pipeline (GStreamer source -> detector ->
//! tracker -> line and zone counters) on a thread of its own, because GStreamer and OpenCV
//! block. Every `publish_interval_secs` it closes a period and hands its figures to the async
//! side over a bounded channel; the live audience (occupancy, inflow in the last minute, dwell
//! of the people present) goes to the screen's audience rules through a watch channel. Frames
//! never leave this thread's memory: only numbers come out.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use analytics::edge::{DetectorConfig, DnnConfig, Input, Pipeline, PipelineConfig, PipelineError};
use analytics::{CountingConfig, Direction, NamedLine, NamedZone};
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use content::audience::Audience;
use content::protocol::{
    DwellSummary, LineTally, MAX_COUNTER_NAME_BYTES, MAX_COUNTERS, MAX_DWELL_BUCKETS, ZoneTally,
};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::clock::Clock;

/// The `[camera]` section of the player's configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraFile {
    /// A video file, `v4l2:/dev/video0`, `rtsp://...` or `synthetic:NAME`.
    pub source: Option<String>,
    /// `motion` (default) or `dnn`.
    pub detector: Option<String>,
    /// ONNX model (YOLOX output) for the `dnn` detector.
    pub model: Option<PathBuf>,
    /// Analysis width in pixels (default: the detector's).
    pub width: Option<u32>,
    /// `NAME:x1,y1,x2,y2` in pixels of the camera's native frame.
    #[serde(default)]
    pub lines: Vec<String>,
    /// `NAME:x1,y1,x2,y2,x3,y3,...` in pixels of the camera's native frame.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Seconds per counts record (default 10).
    pub publish_interval_secs: Option<u64>,
}

/// The validated camera configuration.
#[derive(Debug, Clone)]
pub struct CameraConfig {
    pub source: String,
    pub input: Input,
    pub detector: DetectorConfig,
    pub width: Option<u32>,
    pub lines: Vec<NamedLine>,
    pub zones: Vec<NamedZone>,
    pub interval: Duration,
}

impl CameraConfig {
    /// Checks everything that can be checked without opening the camera; errors name the key.
    pub fn resolve(file: CameraFile) -> anyhow::Result<CameraConfig> {
        let Some(source) = file.source else {
            bail!(
                "config key camera.source is missing (a video file, v4l2:/dev/videoN, rtsp://... or synthetic:NAME)"
            );
        };
        let input: Input = source
            .parse()
            .map_err(anyhow::Error::msg)
            .context("config key camera.source")?;
        if let Input::File(path) = &input
            && !path.is_file()
        {
            bail!(
                "config key camera.source: {} is not a readable file",
                path.display()
            );
        }
        let detector = match file.detector.as_deref().unwrap_or("motion") {
            "motion" => {
                if file.model.is_some() {
                    bail!("config key camera.model is only used with detector = \"dnn\"");
                }
                DetectorConfig::default()
            }
            "dnn" => {
                let Some(model) = file.model else {
                    bail!(
                        "config key camera.model is missing: the dnn detector needs an ONNX model"
                    );
                };
                if !model.is_file() {
                    bail!(
                        "config key camera.model: {} is not a readable file",
                        model.display()
                    );
                }
                DetectorConfig::Dnn {
                    model,
                    config: DnnConfig::default(),
                }
            }
            other => {
                bail!("config key camera.detector must be \"motion\" or \"dnn\", got {other:?}")
            }
        };
        if let Some(w) = file.width
            && !(64..=3840).contains(&w)
        {
            bail!("config key camera.width must be between 64 and 3840 pixels, got {w}");
        }
        let lines = file
            .lines
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse::<NamedLine>()
                    .with_context(|| format!("config key camera.lines[{i}]"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let zones = file
            .zones
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse::<NamedZone>()
                    .with_context(|| format!("config key camera.zones[{i}]"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if lines.is_empty() && zones.is_empty() {
            bail!("config keys camera.lines and camera.zones: give at least one line or zone");
        }
        if lines.len() + zones.len() > MAX_COUNTERS {
            bail!(
                "config keys camera.lines and camera.zones: at most {MAX_COUNTERS} lines and zones together"
            );
        }
        let names = lines
            .iter()
            .map(|l| ("lines", &l.name))
            .chain(zones.iter().map(|z| ("zones", &z.name)));
        for (key, name) in names {
            if name.len() > MAX_COUNTER_NAME_BYTES {
                bail!(
                    "config key camera.{key}: the name {name:?} is longer than {MAX_COUNTER_NAME_BYTES} bytes"
                );
            }
        }
        // Duplicate names and bad tuning fail here rather than on the camera thread.
        analytics::Counting::new(&lines, &zones, &CountingConfig::default())
            .context("config keys camera.lines and camera.zones")?;
        let interval = file.publish_interval_secs.unwrap_or(10);
        if !(1..=3600).contains(&interval) {
            bail!(
                "config key camera.publish_interval_secs must be between 1 and 3600, got {interval}"
            );
        }
        Ok(CameraConfig {
            source,
            input,
            detector,
            width: file.width,
            lines,
            zones,
            interval: Duration::from_secs(interval),
        })
    }
}

/// One closed period's figures, before the durable log gives it a sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub frames: u64,
    pub lines: BTreeMap<String, LineTally>,
    pub zones: BTreeMap<String, ZoneTally>,
}

/// Sums one period frame by frame.
struct Accumulator {
    lines: Vec<String>,
    zones: Vec<String>,
    bounds: Vec<f64>,
    start: DateTime<Utc>,
    frames: u64,
    tallies: Vec<LineTally>,
    /// Per zone: occupancy after the latest frame, max, sum, entries, exits, dwell times.
    occupancy: Vec<Option<u32>>,
    max: Vec<u32>,
    sum: Vec<u64>,
    entries: Vec<u64>,
    exits: Vec<u64>,
    dwell: Vec<Vec<f64>>,
}

impl Accumulator {
    fn new(config: &CameraConfig, bounds: Vec<f64>, start: DateTime<Utc>) -> Accumulator {
        let zones = config.zones.len();
        Accumulator {
            lines: config.lines.iter().map(|l| l.name.clone()).collect(),
            zones: config.zones.iter().map(|z| z.name.clone()).collect(),
            bounds,
            start,
            frames: 0,
            tallies: vec![LineTally::default(); config.lines.len()],
            occupancy: vec![None; zones],
            max: vec![0; zones],
            sum: vec![0; zones],
            entries: vec![0; zones],
            exits: vec![0; zones],
            dwell: vec![Vec::new(); zones],
        }
    }

    /// Closes the period at `end` and starts the next one; the occupancy carries over.
    fn close(&mut self, end: DateTime<Utc>) -> Period {
        let frames = self.frames;
        let lines = self
            .lines
            .iter()
            .cloned()
            .zip(std::mem::take(&mut self.tallies))
            .collect();
        let zones = (0..self.zones.len())
            .map(|i| {
                let dwell = std::mem::take(&mut self.dwell[i]);
                let mut counts = vec![0u64; self.bounds.len() + 1];
                for d in &dwell {
                    counts[self.bounds.partition_point(|&b| b < *d)] += 1;
                }
                let visits = dwell.len() as u64;
                let summary = DwellSummary {
                    visits,
                    mean_s: if visits == 0 {
                        0.0
                    } else {
                        round3(dwell.iter().sum::<f64>() / visits as f64)
                    },
                    max_s: round3(dwell.iter().copied().fold(0.0, f64::max)),
                    bounds_s: self.bounds.clone(),
                    counts,
                };
                let tally = ZoneTally {
                    occupancy: self.occupancy[i],
                    max: self.max[i],
                    mean: if frames == 0 {
                        0.0
                    } else {
                        round3(self.sum[i] as f64 / frames as f64)
                    },
                    entries: self.entries[i],
                    exits: self.exits[i],
                    dwell: summary,
                };
                (self.zones[i].clone(), tally)
            })
            .collect();
        let period = Period {
            start: self.start,
            end,
            frames,
            lines,
            zones,
        };
        self.start = end;
        self.frames = 0;
        self.tallies = vec![LineTally::default(); self.lines.len()];
        for i in 0..self.zones.len() {
            self.max[i] = self.occupancy[i].unwrap_or(0);
            self.sum[i] = 0;
            self.entries[i] = 0;
            self.exits[i] = 0;
        }
        period
    }

    /// The camera stopped giving frames: occupancy is unknown until it does again.
    fn camera_lost(&mut self) {
        self.occupancy.iter_mut().for_each(|o| *o = None);
        self.max.iter_mut().for_each(|m| *m = 0);
    }
}

fn round3(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

/// The live audience from frame-by-frame counts: occupancy as counted, arrivals over the
/// trailing minute (zone entries, or `in` crossings when there is no zone), and the mean time
/// the people present have spent in the zones.
#[derive(Debug, Default)]
struct LiveAudience {
    /// (stream seconds, arrivals in that frame), the last minute of them.
    arrivals: VecDeque<(f64, u64)>,
}

impl LiveAudience {
    const WINDOW_S: f64 = 60.0;

    fn update(
        &mut self,
        t: f64,
        occupancy: Option<u32>,
        arrivals: u64,
        present_dwell_s: &[f64],
    ) -> Audience {
        if arrivals > 0 {
            self.arrivals.push_back((t, arrivals));
        }
        while self
            .arrivals
            .front()
            .is_some_and(|&(at, _)| at <= t - Self::WINDOW_S)
        {
            self.arrivals.pop_front();
        }
        let inflow = self.arrivals.iter().map(|&(_, n)| n).sum::<u64>();
        let dwell = occupancy.map(|_| {
            if present_dwell_s.is_empty() {
                0
            } else {
                let mean = present_dwell_s.iter().sum::<f64>() / present_dwell_s.len() as f64;
                mean.round().clamp(0.0, f64::from(u32::MAX)) as u32
            }
        });
        Audience {
            occupancy,
            inflow_per_min: Some(u32::try_from(inflow).unwrap_or(u32::MAX)),
            dwell_s: dwell,
        }
    }

    /// The camera is gone: nothing is known, and a new stream restarts its clock.
    fn lost(&mut self) -> Audience {
        self.arrivals.clear();
        Audience::default()
    }
}

/// What the camera thread talks to.
pub struct CameraLink {
    pub periods: mpsc::Sender<Period>,
    pub audience: watch::Sender<Audience>,
}

/// Errors that no retry can fix: a bad model, lines outside the frame.
fn is_permanent(e: &PipelineError) -> bool {
    matches!(
        e,
        PipelineError::Model(_) | PipelineError::Spec(_) | PipelineError::OutsideFrame(_)
    )
}

const REOPEN_AFTER: Duration = Duration::from_secs(5);

/// Starts the camera thread. It ends when the input ends (a file or a synthetic scene) or
/// fails for good, after handing over its last period, or when the async side is gone.
pub fn spawn(
    config: CameraConfig,
    clock: Clock,
    link: CameraLink,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || run(config, clock, link))
}

fn run(config: CameraConfig, clock: Clock, link: CameraLink) {
    let counting = CountingConfig::default();
    let bounds: Vec<f64> = counting
        .zone
        .dwell_buckets
        .iter()
        .copied()
        .take(MAX_DWELL_BUCKETS)
        .collect();
    let pipeline_config = PipelineConfig {
        detector: config.detector.clone(),
        width: config.width,
        counting,
    };
    // Files and synthetic scenes are read as fast as the CPU allows; pace them like a camera
    // so periods hold what happened in them.
    let paced = matches!(config.input, Input::File(_) | Input::Synthetic(_));
    let mut acc = Accumulator::new(&config, bounds, clock.now());
    let mut due = Instant::now() + config.interval;
    let mut live = LiveAudience::default();
    let set_audience = |audience: Audience| {
        link.audience.send_if_modified(|a| {
            let changed = *a != audience;
            *a = audience;
            changed
        });
    };
    // Closes every period that is due; false when nobody listens any more.
    let close_due = |acc: &mut Accumulator, due: &mut Instant| -> bool {
        while Instant::now() >= *due {
            let period = acc.close(clock.now());
            if link.periods.blocking_send(period).is_err() {
                return false;
            }
            *due += config.interval;
        }
        true
    };
    info!(source = %config.source, lines = config.lines.len(), zones = config.zones.len(), "camera starting");
    loop {
        let mut pipeline = match Pipeline::open(
            &config.input,
            &config.lines,
            &config.zones,
            &pipeline_config,
        ) {
            Ok(p) => p,
            Err(e) if is_permanent(&e) => {
                error!(source = %config.source, error = %e, "the camera cannot count; fix the [camera] configuration");
                break;
            }
            Err(e) => {
                warn!(source = %config.source, error = %e, "cannot open the camera; retrying");
                let retry = Instant::now() + REOPEN_AFTER;
                while Instant::now() < retry {
                    if !close_due(&mut acc, &mut due) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                continue;
            }
        };
        let (w, h) = pipeline.native_size();
        info!(source = %config.source, width = w, height = h, "camera counting");
        let started = Instant::now();
        let mut seen = vec![(0u64, 0u64); config.zones.len()];
        let ended = loop {
            let report = match pipeline.step() {
                Ok(Some(report)) => report,
                Ok(None) => break true,
                Err(e) => {
                    warn!(source = %config.source, error = %e, "the camera failed; reopening");
                    break false;
                }
            };
            if paced {
                let at = started + Duration::from_secs_f64(report.t.max(0.0));
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            // A period closes before the frame that comes after its end is counted.
            if !close_due(&mut acc, &mut due) {
                return;
            }
            acc.frames += 1;
            let (mut line_arrivals, mut zone_arrivals) = (0, 0);
            for (line, crossing) in &report.counts.crossings {
                match crossing.direction {
                    Direction::In => {
                        acc.tallies[*line].inbound += 1;
                        line_arrivals += 1;
                    }
                    Direction::Out => acc.tallies[*line].outbound += 1,
                }
            }
            let mut present_dwell = Vec::new();
            for (i, &now) in report.counts.occupancy.iter().enumerate() {
                acc.occupancy[i] = Some(now);
                acc.max[i] = acc.max[i].max(now);
                acc.sum[i] += u64::from(now);
            }
            let counting = pipeline.counting_mut();
            for (i, visit) in counting.take_completed_visits() {
                acc.dwell[i].push(visit.dwell());
            }
            for (i, (_, zone)) in counting.zones().enumerate() {
                // Cumulative in the counter (from 0 for each opened pipeline); the period
                // keeps what happened in it.
                let c = zone.counts();
                zone_arrivals += c.entries - seen[i].0;
                present_dwell.extend(zone.current_visits().map(|v| v.dwell()));
                acc.entries[i] += c.entries - seen[i].0;
                acc.exits[i] += c.exits - seen[i].1;
                seen[i] = (c.entries, c.exits);
            }
            let occupancy =
                (!config.zones.is_empty()).then(|| report.counts.occupancy.iter().sum());
            // With zones, arrivals are zone entries rather than line crossings.
            let arrivals = if config.zones.is_empty() {
                line_arrivals
            } else {
                zone_arrivals
            };
            set_audience(live.update(report.t, occupancy, arrivals, &present_dwell));
        };
        drop(pipeline);
        acc.camera_lost();
        set_audience(live.lost());
        if ended && paced {
            info!(source = %config.source, "the camera input ended; counting stops");
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The last, partial period.
    let period = acc.close(clock.now());
    let _ = link.periods.blocking_send(period);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_audience_counts_the_last_minute_and_the_dwell_of_those_present() {
        let mut live = LiveAudience::default();
        let a = live.update(0.0, Some(2), 2, &[4.0, 7.0]);
        assert_eq!(
            (a.occupancy, a.inflow_per_min, a.dwell_s),
            (Some(2), Some(2), Some(6))
        );
        let a = live.update(30.0, Some(3), 1, &[34.0, 37.0, 1.0]);
        assert_eq!((a.inflow_per_min, a.dwell_s), (Some(3), Some(24)));
        // The first two arrivals are a minute old: out of the window.
        let a = live.update(60.0, Some(0), 0, &[]);
        assert_eq!((a.inflow_per_min, a.dwell_s), (Some(1), Some(0)));
        // Lines only: inflow from crossings, no occupancy, so no dwell either.
        let a = live.update(61.0, None, 4, &[]);
        assert_eq!(
            (a.occupancy, a.inflow_per_min, a.dwell_s),
            (None, Some(5), None)
        );
        assert_eq!(live.lost(), Audience::default());
        assert_eq!(live.update(0.0, None, 0, &[]).inflow_per_min, Some(0));
    }

    fn camera(text: &str) -> anyhow::Result<CameraConfig> {
        CameraConfig::resolve(toml::from_str(text).unwrap())
    }

    #[test]
    fn a_synthetic_camera_with_a_line_and_a_zone_is_accepted() {
        let c = camera(
            "source = \"synthetic:crossings\"\nlines = [\"door:320,100,320,460\"]\nzones = [\"right:330,120,620,120,620,470,330,470\"]\n",
        )
        .unwrap();
        assert_eq!(c.interval, Duration::from_secs(10));
        assert!(matches!(c.input, Input::Synthetic(_)));
        assert_eq!(c.detector, DetectorConfig::default());
        assert_eq!((c.lines.len(), c.zones.len()), (1, 1));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("lines = [\"a:0,0,1,1\"]\n", "camera.source"),
            (
                "source = \"synthetic:nowhere\"\nlines = [\"a:0,0,1,1\"]\n",
                "camera.source",
            ),
            (
                "source = \"/no/such/video.mp4\"\nlines = [\"a:0,0,1,1\"]\n",
                "camera.source",
            ),
            ("source = \"synthetic:walk\"\n", "camera.lines"),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1\"]\n",
                "camera.lines[0]",
            ),
            (
                "source = \"synthetic:walk\"\nzones = [\"z:0,0,1,1\"]\n",
                "camera.zones[0]",
            ),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1,1\"]\nzones = [\"a:0,0,9,0,9,9\"]\n",
                "camera.lines",
            ),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1,1\"]\ndetector = \"magic\"\n",
                "camera.detector",
            ),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1,1\"]\ndetector = \"dnn\"\n",
                "camera.model",
            ),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1,1\"]\ndetector = \"dnn\"\nmodel = \"/no/model.onnx\"\n",
                "camera.model",
            ),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1,1\"]\nwidth = 8\n",
                "camera.width",
            ),
            (
                "source = \"synthetic:walk\"\nlines = [\"a:0,0,1,1\"]\npublish_interval_secs = 0\n",
                "camera.publish_interval_secs",
            ),
        ];
        for (text, key) in cases {
            let err = format!("{:#}", camera(text).unwrap_err());
            assert!(err.contains(key), "{text:?}: {err}");
        }
        assert!(
            toml::from_str::<CameraFile>("sauce = \"x\"\n")
                .unwrap_err()
                .to_string()
                .contains("sauce")
        );
    }

    #[test]
    fn periods_carry_deltas_and_the_occupancy_over() {
        let c = camera(
            "source = \"synthetic:walk\"\nlines = [\"door:320,100,320,460\"]\nzones = [\"z:0,0,9,0,9,9\"]\n",
        )
        .unwrap();
        let t0 = Utc::now();
        let mut acc = Accumulator::new(&c, vec![5.0, 15.0], t0);
        acc.frames = 4;
        acc.tallies[0].inbound = 2;
        acc.occupancy[0] = Some(1);
        acc.max[0] = 2;
        acc.sum[0] = 6;
        acc.entries[0] = 2;
        acc.exits[0] = 1;
        acc.dwell[0] = vec![3.0, 20.0];
        let p = acc.close(t0 + chrono::TimeDelta::seconds(10));
        assert_eq!(p.lines["door"].inbound, 2);
        let z = &p.zones["z"];
        assert_eq!((z.occupancy, z.max, z.mean), (Some(1), 2, 1.5));
        assert_eq!((z.entries, z.exits, z.dwell.visits), (2, 1, 2));
        assert_eq!(z.dwell.counts, [1, 0, 1]);
        assert_eq!((z.dwell.mean_s, z.dwell.max_s), (11.5, 20.0));
        let next = acc.close(t0 + chrono::TimeDelta::seconds(20));
        assert_eq!(next.start, p.end);
        assert_eq!(next.lines["door"].inbound, 0);
        let z = &next.zones["z"];
        assert_eq!(
            (z.occupancy, z.max, z.entries, z.dwell.visits),
            (Some(1), 1, 0, 0)
        );
        acc.camera_lost();
        assert_eq!(acc.close(t0).zones["z"].occupancy, None);
    }
}
