//! SVG charts of reports, with Japanese or English labels. Hand-written SVG: no fonts or
//! renderer needed on the server; the browser draws the text.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::DateTime;
use polars::prelude::*;

use crate::report::{Level, Period, Report};
use crate::schema::DWELL_BINS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    fn pick<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Bars,
    Lines,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    pub name: String,
    pub values: Vec<f64>,
}

/// A chart: categories on x, one or more series of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<ChartSeries>,
    pub kind: ChartKind,
}

const MAX_SERIES: usize = 8;
const PALETTE: [&str; MAX_SERIES] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const FONT: &str = "'Noto Sans CJK JP','Hiragino Sans','Yu Gothic','Meiryo',sans-serif";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round axis maximum and step for values up to `max`.
fn nice_scale(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.25);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

fn fmt_num(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

impl Chart {
    /// Renders the chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let (w, h) = (960.0, 480.0);
        let (left, right, top, bottom) = (70.0, 180.0, 50.0, 90.0);
        let pw = w - left - right;
        let ph = h - top - bottom;
        let max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max);
        let (ymax, step) = nice_scale(max);
        let y = |v: f64| top + ph - v / ymax * ph;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="12" role="img" aria-label="{t}"><title>{t}</title><rect width="100%" height="100%" fill="white"/><text x="{cx}" y="28" font-size="18" text-anchor="middle" font-weight="bold">{t}</text>"#,
            t = esc(&self.title),
            cx = w / 2.0
        );
        let mut v = 0.0;
        while v <= ymax + step / 2.0 {
            let _ = write!(
                s,
                r##"<line x1="{left}" x2="{x2}" y1="{yy}" y2="{yy}" stroke="#ddd"/><text x="{tx}" y="{ty}" text-anchor="end">{l}</text>"##,
                x2 = left + pw,
                yy = y(v),
                tx = left - 6.0,
                ty = y(v) + 4.0,
                l = fmt_num(v)
            );
            v += step;
        }
        let n = self.categories.len().max(1);
        let slot = pw / n as f64;
        let label_every = (n / 24).max(1);
        for (i, cat) in self.categories.iter().enumerate() {
            if i % label_every != 0 {
                continue;
            }
            let x = left + slot * (i as f64 + 0.5);
            let _ = write!(
                s,
                r#"<text x="{x}" y="{ty}" text-anchor="end" transform="rotate(-45 {x} {ty})">{c}</text>"#,
                ty = top + ph + 14.0,
                c = esc(cat)
            );
        }
        let ns = self.series.len().max(1);
        for (k, series) in self.series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            match self.kind {
                ChartKind::Bars => {
                    let bw = slot * 0.8 / ns as f64;
                    for (i, val) in series.values.iter().enumerate() {
                        let x = left + slot * i as f64 + slot * 0.1 + bw * k as f64;
                        let _ = write!(
                            s,
                            r#"<rect x="{x:.2}" y="{yy:.2}" width="{bw:.2}" height="{hh:.2}" fill="{color}"><title>{n}: {c} = {v}</title></rect>"#,
                            yy = y(*val),
                            hh = (top + ph - y(*val)).max(0.0),
                            n = esc(&series.name),
                            c = esc(self.categories.get(i).map_or("", |c| c.as_str())),
                            v = fmt_num(*val)
                        );
                    }
                }
                ChartKind::Lines => {
                    let pts: Vec<String> = series
                        .values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| format!("{:.2},{:.2}", left + slot * (i as f64 + 0.5), y(*v)))
                        .collect();
                    let _ = write!(
                        s,
                        r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"><title>{}</title></polyline>"#,
                        pts.join(" "),
                        esc(&series.name)
                    );
                }
            }
            let ly = top + 16.0 * k as f64;
            let _ = write!(
                s,
                r#"<rect x="{lx}" y="{ry}" width="12" height="12" fill="{color}"/><text x="{tx}" y="{ty}">{n}</text>"#,
                lx = left + pw + 16.0,
                ry = ly,
                tx = left + pw + 34.0,
                ty = ly + 10.0,
                n = esc(&series.name)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{b}" stroke="#333"/><line x1="{left}" x2="{r}" y1="{b}" y2="{b}" stroke="#333"/><text x="{cx}" y="{xl}" text-anchor="middle">{xt}</text><text x="16" y="{cy}" text-anchor="middle" transform="rotate(-90 16 {cy})">{yt}</text></svg>"##,
            b = top + ph,
            r = left + pw,
            cx = left + pw / 2.0,
            xl = h - 8.0,
            cy = top + ph / 2.0,
            xt = esc(&self.x_label),
            yt = esc(&self.y_label)
        );
        s
    }
}

/// Text of each value of a column: strings as they are, datetimes and dates formatted.
fn labels(df: &DataFrame, name: &str, period: Option<Period>) -> PolarsResult<Vec<String>> {
    let c = df.column(name)?;
    Ok(match c.dtype() {
        DataType::Datetime(_, _) => {
            let fmt = match period {
                Some(Period::Hour) => "%m-%d %H:00",
                Some(Period::Week) => "%Y-%m-%d",
                _ => "%m-%d %H:%M",
            };
            let ms = c.cast(&DataType::Int64)?;
            ms.i64()?
                .iter()
                .map(|v| {
                    v.and_then(DateTime::from_timestamp_millis)
                        .map(|d| d.format(fmt).to_string())
                        .unwrap_or_default()
                })
                .collect()
        }
        DataType::Date => {
            let days = c.cast(&DataType::Int32)?;
            days.i32()?
                .iter()
                .map(|v| {
                    v.and_then(|d| DateTime::from_timestamp(i64::from(d) * 86_400, 0))
                        .map(|d| d.format("%m-%d").to_string())
                        .unwrap_or_default()
                })
                .collect()
        }
        _ => {
            let s = c.cast(&DataType::String)?;
            s.str()?
                .iter()
                .map(|v| v.unwrap_or("").to_string())
                .collect()
        }
    })
}

fn numbers(df: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().map(|v| v.unwrap_or(0.0)).collect())
}

/// Sums `value` by (series, category); keeps the `MAX_SERIES` largest series.
fn pivot(
    categories: &[String],
    series: &[String],
    values: &[f64],
) -> (Vec<String>, Vec<ChartSeries>) {
    let mut cats: Vec<String> = categories.to_vec();
    cats.sort();
    cats.dedup();
    let pos: BTreeMap<&str, usize> = cats
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((c, s), v) in categories.iter().zip(series).zip(values) {
        by.entry(s.as_str())
            .or_insert_with(|| vec![0.0; cats.len()])[pos[c.as_str()]] += v;
    }
    let mut out: Vec<ChartSeries> = by
        .into_iter()
        .map(|(k, v)| ChartSeries {
            name: k.to_string(),
            values: v,
        })
        .collect();
    out.sort_by(|a, b| {
        let (sa, sb): (f64, f64) = (a.values.iter().sum(), b.values.iter().sum());
        sb.total_cmp(&sa).then(a.name.cmp(&b.name))
    });
    out.truncate(MAX_SERIES);
    (cats, out)
}

/// The chart that shows a report's frame.
pub fn report_chart(report: &Report, df: &DataFrame, lang: Lang) -> PolarsResult<Chart> {
    let people = lang.pick("人数", "people");
    let key = |level: Level| match level {
        Level::Player => "player",
        Level::Ward => "ward",
    };
    let key_label = |level: Level| match level {
        Level::Player => lang.pick("端末", "player"),
        Level::Ward => lang.pick("区", "ward"),
    };
    let chart = match *report {
        Report::Footfall { period, level } => {
            let title = match period {
                Period::Hour => lang.pick("時間別来訪者数", "Footfall per hour"),
                Period::Day => lang.pick("日別来訪者数", "Footfall per day"),
                Period::Week => lang.pick("週別来訪者数", "Footfall per week"),
            };
            let (cats, series) = pivot(
                &labels(df, "period", Some(period))?,
                &labels(df, key(level), None)?,
                &numbers(df, "footfall")?,
            );
            let kind = if cats.len() > 31 {
                ChartKind::Lines
            } else {
                ChartKind::Bars
            };
            Chart {
                title: title.into(),
                x_label: lang.pick("期間（日本時間）", "period (Japan time)").into(),
                y_label: people.into(),
                categories: cats,
                series,
                kind,
            }
        }
        Report::Balance { .. } => {
            let days = labels(df, "day", None)?;
            let mut cats = days.clone();
            let mut names = vec![lang.pick("入", "in").to_string(); days.len()];
            let mut vals = numbers(df, "in_count")?;
            cats.extend(days.iter().cloned());
            names.extend(std::iter::repeat_n(
                lang.pick("出", "out").to_string(),
                days.len(),
            ));
            vals.extend(numbers(df, "out_count")?);
            let (categories, series) = pivot(&cats, &names, &vals);
            Chart {
                title: lang
                    .pick("入退場の収支（日別）", "In/out balance per day")
                    .into(),
                x_label: lang.pick("日付", "day").into(),
                y_label: people.into(),
                categories,
                series,
                kind: ChartKind::Bars,
            }
        }
        Report::PeakOccupancy { level } => {
            let keys = labels(df, key(level), None)?;
            let (categories, mut series) =
                pivot(&labels(df, "day", None)?, &keys, &numbers(df, "peak")?);
            series.truncate(MAX_SERIES);
            Chart {
                title: lang
                    .pick("最大滞在人数（日別）", "Peak occupancy per day")
                    .into(),
                x_label: lang.pick("日付", "day").into(),
                y_label: people.into(),
                categories,
                series,
                kind: ChartKind::Lines,
            }
        }
        Report::Dwell { level } => {
            let keys = labels(df, key(level), None)?;
            let totals = numbers(df, "departures")?;
            let mut series = Vec::new();
            for (row, k) in keys.iter().enumerate().take(MAX_SERIES) {
                let mut values = Vec::new();
                for b in DWELL_BINS {
                    let v = numbers(df, b.column)?[row];
                    values.push(if totals[row] > 0.0 {
                        100.0 * v / totals[row]
                    } else {
                        0.0
                    });
                }
                series.push(ChartSeries {
                    name: k.clone(),
                    values,
                });
            }
            Chart {
                title: lang
                    .pick("滞在時間の分布", "Dwell-time distribution")
                    .into(),
                x_label: lang.pick("滞在時間", "dwell time").into(),
                y_label: lang.pick("割合（%）", "share (%)").into(),
                categories: DWELL_BINS
                    .iter()
                    .map(|b| lang.pick(b.ja, b.en).to_string())
                    .collect(),
                series,
                kind: ChartKind::Bars,
            }
        }
        Report::Impressions => Chart {
            title: lang
                .pick(
                    "コンテンツ別インプレッション",
                    "Impressions per content item",
                )
                .into(),
            x_label: lang.pick("コンテンツ", "content").into(),
            y_label: lang.pick("インプレッション", "impressions").into(),
            categories: labels(df, "asset", None)?,
            series: vec![ChartSeries {
                name: lang.pick("インプレッション", "impressions").into(),
                values: numbers(df, "impressions")?,
            }],
            kind: ChartKind::Bars,
        },
        Report::WardComparison => Chart {
            title: lang
                .pick(
                    "区の比較：開庁日あたり来訪者数",
                    "Wards compared: footfall per open day",
                )
                .into(),
            x_label: key_label(Level::Ward).into(),
            y_label: people.into(),
            categories: labels(df, "ward", None)?,
            series: vec![ChartSeries {
                name: lang
                    .pick("1日あたり来訪者数", "footfall per open day")
                    .into(),
                values: numbers(df, "footfall_per_open_day")?,
            }],
            kind: ChartKind::Bars,
        },
    };
    let _ = key_label;
    Ok(chart)
}
