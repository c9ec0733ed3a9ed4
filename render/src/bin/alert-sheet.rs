//! Writes the alert takeover's contact sheets: every template at its level, live and as a
//! drill, in each language rotation, at 1920x1080, 1080x1920 and 1280x720, one sheet per size,
//! plus one full-size takeover per size to read. Each render is measured as the tests measure
//! it, and the figures are printed.
//!
//! ```sh
//! cargo run --release -p render --bin alert-sheet -- [--out docs/alerts] [--wards kita,minato]
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alerts::model::Status;
use pangocairo::{cairo, pango};
use render::{ALERT_ROTATION, AlertScreen, Takeover, template_screens};

const SIZES: [(u32, u32); 3] = [(1920, 1080), (1080, 1920), (1280, 720)];
/// Thumbnails are this many pixels on their longer side.
const THUMB: f64 = 240.0;
const LABEL_W: f64 = 220.0;
const HEADER_H: f64 = 56.0;
const GAP: f64 = 8.0;

fn main() {
    let mut out = PathBuf::from("docs/alerts");
    let mut wards = vec!["kita".to_owned()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("alert-sheet: {arg} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--out" => out = PathBuf::from(value()),
            "--wards" => wards = value().split(',').map(str::to_owned).collect(),
            "-h" | "--help" => {
                println!(
                    "alert-sheet [--out DIR] [--wards ID,ID,...]  (default docs/alerts, kita)"
                );
                return;
            }
            other => {
                eprintln!("alert-sheet: unknown argument {other} (try --help)");
                std::process::exit(2)
            }
        }
    }
    if let Some(unknown) = wards.iter().find(|w| content::wards::by_id(w).is_none()) {
        eprintln!("alert-sheet: no ward {unknown} (ids as in content::wards, e.g. kita, minato)");
        std::process::exit(2);
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("alert-sheet: cannot create {}: {e}", out.display());
        std::process::exit(1);
    }
    let wards: Vec<&str> = wards.iter().map(String::as_str).collect();
    let live = template_screens(&wards, Status::Actual);
    let drill = template_screens(&wards, Status::Exercise);
    let mut failed = false;
    for (width, height) in SIZES {
        let started = Instant::now();
        let path = out.join(format!("takeovers-{width}x{height}.png"));
        let figures = sheet(&live, &drill, width, height, &path);
        let paint = first_frame_ms(&live, width, height);
        let sample = out.join(format!("sample-{width}x{height}.png"));
        let tsunami = drill
            .iter()
            .find(|(n, _)| n.starts_with("tsunami"))
            .unwrap();
        write_frame(&tsunami.1, width, height, &sample);
        println!(
            "{width}x{height}: {} renders in {:.1} s -> {}; legible by every rule in {}, smallest headline \
             {} px (1/30 of the height is {}), lowest contrast {:.2}:1; a new takeover's first \
             frame paints in {paint:.1} ms (median)",
            figures.renders,
            started.elapsed().as_secs_f64(),
            path.display(),
            figures.legible,
            figures.smallest_headline,
            height.div_ceil(30),
            figures.lowest_contrast,
        );
        failed |= figures.legible < figures.renders;
    }
    if failed {
        eprintln!("alert-sheet: some text did not fit (see the sheets)");
        std::process::exit(1);
    }
}

struct Figures {
    renders: usize,
    legible: usize,
    smallest_headline: i32,
    lowest_contrast: f64,
}

fn surface_of(frame: Vec<u8>, width: u32, height: u32) -> cairo::ImageSurface {
    cairo::ImageSurface::create_for_data(
        frame,
        cairo::Format::ARgb32,
        width as i32,
        height as i32,
        width as i32 * 4,
    )
    .expect("a frame surface")
}

fn label(cr: &cairo::Context, text: &str, px: f64, x: f64, y: f64, width: f64) {
    let layout = pangocairo::functions::create_layout(cr);
    let mut font = pango::FontDescription::from_string(text_layout::FONT_FAMILY);
    font.set_absolute_size(px * f64::from(pango::SCALE));
    layout.set_font_description(Some(&font));
    layout.set_width((width * f64::from(pango::SCALE)) as i32);
    layout.set_text(text);
    cr.set_source_rgb(0.1, 0.1, 0.1);
    cr.move_to(x, y);
    pangocairo::functions::show_layout(cr, &layout);
}

/// Rows: templates. Columns: each rotation live, then each rotation as a drill.
fn sheet(
    live: &[(String, AlertScreen)],
    drill: &[(String, AlertScreen)],
    width: u32,
    height: u32,
    path: &Path,
) -> Figures {
    let scale = THUMB / f64::from(width.max(height));
    let (tw, th) = (f64::from(width) * scale, f64::from(height) * scale);
    let rotations = live
        .iter()
        .map(|(_, s)| s.rotating.len().max(1))
        .max()
        .unwrap_or(1);
    let columns = 2 * rotations;
    let sheet_w = LABEL_W + columns as f64 * (tw + GAP);
    let sheet_h = HEADER_H + live.len() as f64 * (th + GAP);
    let mut figures = Figures {
        renders: 0,
        legible: 0,
        smallest_headline: i32::MAX,
        lowest_contrast: f64::MAX,
    };
    let sheet = cairo::ImageSurface::create(cairo::Format::Rgb24, sheet_w as i32, sheet_h as i32)
        .expect("a sheet surface");
    let cr = cairo::Context::new(&sheet).expect("a cairo context");
    cr.set_source_rgb(1.0, 1.0, 1.0);
    let _ = cr.paint();
    label(
        &cr,
        &format!("{width}x{height}  通常 / live"),
        18.0,
        LABEL_W,
        8.0,
        rotations as f64 * (tw + GAP),
    );
    label(
        &cr,
        "訓練 / drill",
        18.0,
        LABEL_W + rotations as f64 * (tw + GAP),
        8.0,
        rotations as f64 * (tw + GAP),
    );
    for (row, pair) in live.iter().zip(drill).enumerate() {
        let y = HEADER_H + row as f64 * (th + GAP);
        let headline = pair.0.1.fixed.first().map_or("", |t| t.headline.as_str());
        label(
            &cr,
            &format!("{}\n{headline}", pair.0.0),
            13.0,
            6.0,
            y,
            LABEL_W - 12.0,
        );
        for (half, (name, screen)) in [&pair.0, &pair.1].into_iter().enumerate() {
            let mut takeover = Takeover::new(screen.clone(), width, height);
            for rotation in 0..rotations {
                let check = takeover.check(rotation);
                figures.renders += 1;
                figures.legible += usize::from(check.problems().is_empty());
                if let Some(h) = check.headline_heights.first() {
                    figures.smallest_headline = figures.smallest_headline.min(*h);
                }
                figures.lowest_contrast = figures.lowest_contrast.min(check.lowest_contrast());
                for problem in check.problems() {
                    eprintln!(
                        "{} rotation {rotation} at {width}x{height}: {problem}",
                        name
                    );
                }
                let at = ALERT_ROTATION * rotation as u32 + Duration::from_millis(1);
                let frame = surface_of(takeover.frame(at), width, height);
                let column = half * rotations + rotation;
                let x = LABEL_W + column as f64 * (tw + GAP);
                cr.save().unwrap();
                cr.translate(x, y);
                cr.scale(scale, scale);
                cr.set_source_surface(&frame, 0.0, 0.0).unwrap();
                cr.source().set_filter(cairo::Filter::Good);
                let _ = cr.paint();
                cr.restore().unwrap();
                if row == 0 {
                    let lang = screen
                        .rotating
                        .get(rotation)
                        .map_or("", |t| t.lang.as_str());
                    label(&cr, &format!("ja + en + {lang}"), 12.0, x, 32.0, tw);
                }
            }
        }
    }
    drop(cr);
    write_png(&sheet, path);
    figures
}

/// Median time from a new takeover to its first painted frame (what `show` pays).
fn first_frame_ms(screens: &[(String, AlertScreen)], width: u32, height: u32) -> f64 {
    let mut times: Vec<f64> = screens
        .iter()
        .map(|(_, screen)| {
            let started = Instant::now();
            let frame = Takeover::new(screen.clone(), width, height).frame(Duration::ZERO);
            std::hint::black_box(frame);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn write_frame(screen: &AlertScreen, width: u32, height: u32, path: &Path) {
    let frame = Takeover::new(screen.clone(), width, height).frame(Duration::from_millis(1));
    write_png(&surface_of(frame, width, height), path);
}

fn write_png(surface: &cairo::ImageSurface, path: &Path) {
    let written = std::fs::File::create(path)
        .map_err(|e| e.to_string())
        .and_then(|mut f| surface.write_to_png(&mut f).map_err(|e| e.to_string()));
    if let Err(e) = written {
        eprintln!("alert-sheet: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
}
