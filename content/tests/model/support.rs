//! A small library of assets, playlists and layouts, and one-line helpers to build entries,
//! players and instants, so that each test case reads as one line.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, WeekdaySet};
use content::asset::{Asset, AssetKind, Colours, MediaFile, SlideText, TextSlide, Ticker};
use content::audience::Audience;
use content::layout::{Canvas, Layout, Zone};
use content::playlist::{Playlist, PlaylistItem};
use content::schedule::{DateRange, Daypart, PlayerTarget, ScheduleEntry, Target};
use content::schedule_set::{ScheduleSet, ScheduleSetParts};
use content::selection::{Selection, select};

/// An instant written as Tokyo wall-clock time, e.g. `jst("2026-12-31T23:59:59")`.
pub fn jst(local: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{local}+09:00"))
        .unwrap()
        .to_utc()
}

pub fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

pub fn daypart(start: &str, end: &str) -> Daypart {
    Daypart {
        start: start.parse::<NaiveTime>().unwrap(),
        end: end.parse::<NaiveTime>().unwrap(),
    }
}

pub fn ward(id: &str) -> Target {
    Target::Ward(id.into())
}

pub fn group(id: &str) -> Target {
    Target::Group(id.into())
}

pub fn one_player(id: &str) -> Target {
    Target::Player(id.parse().unwrap())
}

/// A player in `ward` and `groups`.
pub fn player(id: &str, ward: &str, groups: &[&str]) -> PlayerTarget {
    PlayerTarget {
        id: id.parse().unwrap(),
        ward: ward.into(),
        groups: groups.iter().map(|&g| g.into()).collect(),
    }
}

/// The player most tests look at: `p1` in Kita ward, in the `lobby` group.
pub fn kita_lobby() -> PlayerTarget {
    player("p1", "kita", &["lobby"])
}

/// An entry showing the `promo` layout every day, all day, from 2026-01-01 on.
pub fn entry(id: &str, priority: i32, target: Target) -> ScheduleEntry {
    ScheduleEntry {
        id: id.into(),
        targets: vec![target],
        dates: DateRange {
            start: date("2026-01-01"),
            end: None,
        },
        weekdays: WeekdaySet::ALL,
        dayparts: vec![],
        named_dayparts: vec![],
        days: None,
        occupancy: None,
        inflow_per_min: None,
        dwell_s: None,
        priority,
        layout: "promo".into(),
    }
}

pub fn file(seed: u8, size_bytes: u64) -> MediaFile {
    MediaFile {
        sha256: format!("{seed:02x}").repeat(32).parse().unwrap(),
        size_bytes,
    }
}

pub fn colours() -> Colours {
    Colours {
        text: "#ffffff".parse().unwrap(),
        background: "#003366".parse().unwrap(),
    }
}

fn slide(id: &str, ja: &str, en: &str) -> Asset {
    let text = |title: &str| SlideText {
        title: title.to_owned(),
        body: String::new(),
    };
    Asset {
        id: id.into(),
        meta: Default::default(),
        kind: AssetKind::TextSlide(TextSlide {
            texts: BTreeMap::from([("ja".into(), text(ja)), ("en".into(), text(en))]),
            colours: colours(),
        }),
    }
}

fn item(asset: &str, duration_ms: Option<u64>) -> PlaylistItem {
    PlaylistItem {
        asset: asset.into(),
        duration_ms,
    }
}

fn full_screen(id: &str, playlists: &[(&str, &str)]) -> Layout {
    Layout {
        id: id.into(),
        canvas: Canvas {
            width: 1920,
            height: 1080,
        },
        zones: playlists
            .iter()
            .enumerate()
            .map(|(z, &(zone, playlist))| Zone {
                id: zone.into(),
                x: 0,
                y: 0,
                width: 1920,
                height: 1080,
                z: z as i32,
                playlist: playlist.into(),
            })
            .collect(),
    }
}

/// Layouts `idle` (the fallback: `welcome` 10 s then `map` 20 s, under a `news` ticker),
/// `promo` (a 30 s video then `hours` for 15 s) and `news` (the ticker alone).
pub fn parts(entries: Vec<ScheduleEntry>) -> ScheduleSetParts {
    ScheduleSetParts {
        assets: vec![
            slide("welcome", "ようこそ", "Welcome"),
            slide("hours", "開庁時間 9:00-17:30", "Open 9:00-17:30"),
            Asset {
                id: "map".into(),
                meta: Default::default(),
                kind: AssetKind::Image {
                    file: file(1, 2048),
                },
            },
            Asset {
                id: "promo-video".into(),
                meta: Default::default(),
                kind: AssetKind::Video {
                    file: file(2, 4096),
                    duration_ms: Some(30_000),
                },
            },
            Asset {
                id: "news".into(),
                meta: Default::default(),
                kind: AssetKind::Ticker(Ticker {
                    texts: BTreeMap::from([("ja-easy".into(), "おしらせ".to_owned())]),
                    colours: colours(),
                }),
            },
        ],
        playlists: vec![
            Playlist {
                id: "idle".into(),
                items: vec![item("welcome", None), item("map", Some(20_000))],
            },
            Playlist {
                id: "promo".into(),
                items: vec![item("promo-video", None), item("hours", Some(15_000))],
            },
            Playlist {
                id: "ticker".into(),
                items: vec![item("news", Some(60_000))],
            },
        ],
        layouts: vec![
            full_screen("idle", &[("main", "idle"), ("ticker", "ticker")]),
            full_screen("promo", &[("main", "promo")]),
            full_screen("news", &[("ticker", "ticker")]),
        ],
        entries,
        fallback_layout: "idle".into(),
        calendar: Default::default(),
    }
}

pub fn set(entries: Vec<ScheduleEntry>) -> ScheduleSet {
    ScheduleSet::new(parts(entries)).unwrap()
}

/// Selection for `kita_lobby()` with no audience and no alerts, in a few words, e.g.
/// `"e1 over e2, e3"` or `"fallback"`.
pub fn check(schedule: &ScheduleSet, at: DateTime<Utc>) -> String {
    summary(&select(
        schedule,
        &kita_lobby(),
        at,
        &Audience::default(),
        &[],
    ))
}

pub fn summary(selection: &Selection) -> String {
    let list = |ids: Vec<String>| ids.join(", ");
    match selection {
        Selection::Alert {
            alert,
            shadowed_alerts,
            shadowed_entries,
        } => {
            let mut text = format!("alert {alert}");
            if !shadowed_alerts.is_empty() {
                text += &format!(
                    " over {}",
                    list(shadowed_alerts.iter().map(ToString::to_string).collect())
                );
            }
            if !shadowed_entries.is_empty() {
                text += &format!(
                    " over entries {}",
                    list(shadowed_entries.iter().map(ToString::to_string).collect())
                );
            }
            text
        }
        Selection::Scheduled {
            entry,
            shadowed_entries,
            ..
        } if shadowed_entries.is_empty() => entry.to_string(),
        Selection::Scheduled {
            entry,
            shadowed_entries,
            ..
        } => format!(
            "{entry} over {}",
            list(shadowed_entries.iter().map(ToString::to_string).collect())
        ),
        Selection::Fallback { .. } => "fallback".to_owned(),
        Selection::Off { .. } => "off".to_owned(),
    }
}
