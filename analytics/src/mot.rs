//! MOTChallenge ground truth (`gt.txt`) and the true counts it implies, for evaluation.
//!
//! A row is `frame,id,x,y,w,h,conf,...` with frames numbered from 1 and boxes in pixels,
//! `(x, y)` the top-left corner. Rows with `conf == 0` are marked "ignore" by the benchmark
//! and skipped. The true counts use the same anchor (bottom-centre) and direction
//! convention as the live counters, but none of their debouncing:
//! - a true crossing is every change of side of an id's anchor whose path between the two
//!   frames meets the segment (a [`LineCounter`](crate::LineCounter) with margin 0);
//! - the true occupancy of a frame is the number of anchors inside the zone in that frame.

use std::collections::BTreeMap;

use crate::counting::{Counting, CountingConfig, NamedLine, NamedZone};
use crate::geometry::BBox;
use crate::line_counter::{LineCounterConfig, LineCounts};
use crate::tracker::{Track, TrackId};
use crate::zone::ZoneConfig;

/// A `gt.txt` line that is not a MOTChallenge row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}; expected frame,id,x,y,w,h,conf,...")]
pub struct GroundTruthError {
    pub line: usize,
    pub reason: String,
}

/// People per frame; `frames[i]` holds frame `i + 1` of the file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroundTruth {
    pub frames: Vec<Vec<Track>>,
}

impl GroundTruth {
    pub fn parse(text: &str) -> Result<Self, GroundTruthError> {
        let mut frames: Vec<Vec<Track>> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let err = |reason: String| GroundTruthError {
                line: line_no,
                reason,
            };
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() < 6 {
                return Err(err(format!("{} fields", fields.len())));
            }
            let num = |k: usize| {
                fields[k]
                    .parse::<f64>()
                    .map_err(|_| err(format!("field {} `{}` is not a number", k + 1, fields[k])))
            };
            let frame = num(0)?;
            let id = num(1)?;
            if frame < 1.0 || frame.fract() != 0.0 || id < 0.0 || id.fract() != 0.0 {
                return Err(err(
                    "frame must be a whole number from 1, id a whole number".into(),
                ));
            }
            if fields.len() > 6 && num(6)? == 0.0 {
                continue;
            }
            let bbox = BBox::new(
                num(2)? as f32,
                num(3)? as f32,
                num(4)? as f32,
                num(5)? as f32,
            );
            let index = frame as usize - 1;
            if frames.len() <= index {
                frames.resize(index + 1, Vec::new());
            }
            frames[index].push(Track {
                id: TrackId(id as u64),
                bbox,
            });
        }
        for people in &mut frames {
            people.sort_by_key(|t| t.id);
        }
        Ok(Self { frames })
    }

    /// True crossings per line and true occupancy per zone and frame, for `frame_count`
    /// frames (frames beyond the file have nobody).
    pub fn truth(
        &self,
        lines: &[NamedLine],
        zones: &[NamedZone],
        fps: f64,
        frame_count: usize,
    ) -> Truth {
        let config = CountingConfig {
            line: LineCounterConfig {
                margin: 0.0,
                forget_after_frames: u32::MAX,
            },
            zone: ZoneConfig {
                enter_frames: 1,
                exit_frames: 1,
                forget_after_frames: 0,
                ..ZoneConfig::default()
            },
            ..CountingConfig::default()
        };
        let mut counting = Counting::new(lines, zones, &config).expect("validated lines and zones");
        let mut occupancy = vec![Vec::with_capacity(frame_count); zones.len()];
        for i in 0..frame_count {
            let people = self.frames.get(i).cloned().unwrap_or_default();
            let out = counting.update_tracks(i as f64 / fps, people);
            for (z, o) in out.occupancy.into_iter().enumerate() {
                occupancy[z].push(o);
            }
        }
        Truth {
            lines: counting.line_counts(),
            occupancy: zones
                .iter()
                .map(|z| z.name.clone())
                .zip(occupancy)
                .collect(),
        }
    }
}

/// What ground truth says happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub lines: BTreeMap<String, LineCounts>,
    /// Per zone name, occupancy per frame.
    pub occupancy: BTreeMap<String, Vec<u32>>,
}

/// Mean absolute difference of two per-frame series, over the common length.
pub fn mean_absolute_error(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / n as f64
}

/// Sum over lines and directions of |counted - true|, and the true total.
pub fn line_count_error(
    counted: &BTreeMap<String, LineCounts>,
    truth: &BTreeMap<String, LineCounts>,
) -> (u64, u64) {
    let mut error = 0;
    let mut total = 0;
    for (name, t) in truth {
        let c = counted.get(name).copied().unwrap_or_default();
        error += c.inbound.abs_diff(t.inbound) + c.outbound.abs_diff(t.outbound);
        total += t.inbound + t.outbound;
    }
    (error, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_skipping_ignored_ones() {
        let gt = GroundTruth::parse(
            "1,1,399,182,121,229,1,-1,-1,-1\n1,2,0,0,5,5,0,-1,-1,-1\n\n3,1,400,182,121,229,1,-1,-1,-1\n",
        )
        .unwrap();
        assert_eq!(gt.frames.len(), 3);
        assert_eq!(gt.frames[0].len(), 1);
        assert!(gt.frames[1].is_empty());
        assert_eq!(gt.frames[2][0].bbox.anchor().x, 460.5);
        let e = GroundTruth::parse("1,1,2\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(GroundTruth::parse("1,1,a,2,3,4\n").is_err());
        assert!(GroundTruth::parse("0,1,1,2,3,4\n").is_err());
    }

    #[test]
    fn truth_follows_the_direction_convention_without_debouncing() {
        // Anchor x: 200, 239, 241, 238, 300 on the line x = 240 from y 120 to 360: in, out, in.
        let rows: String = [200, 239, 241, 238, 300]
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{},7,{},200,20,100,1\n", i + 1, x - 10))
            .collect();
        let gt = GroundTruth::parse(&rows).unwrap();
        let lines = vec!["door:240,120,240,360".parse().unwrap()];
        let zones = vec!["right:240,0,640,0,640,480,240,480".parse().unwrap()];
        let truth = gt.truth(&lines, &zones, 25.0, 6);
        assert_eq!(
            truth.lines["door"],
            LineCounts {
                inbound: 2,
                outbound: 1
            }
        );
        assert_eq!(truth.occupancy["right"], vec![0, 0, 1, 0, 1, 0]);
    }

    #[test]
    fn errors_and_mae() {
        assert_eq!(mean_absolute_error(&[1, 2, 3], &[1, 0, 4]), 1.0);
        assert_eq!(mean_absolute_error(&[], &[]), 0.0);
        let c = |i, o| LineCounts {
            inbound: i,
            outbound: o,
        };
        let truth = BTreeMap::from([("a".to_string(), c(5, 5)), ("b".to_string(), c(0, 2))]);
        let counted = BTreeMap::from([("a".to_string(), c(6, 4))]);
        assert_eq!(line_count_error(&counted, &truth), (4, 12));
    }
}
