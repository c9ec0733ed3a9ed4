//! Every JMA sample that would reach a screen is legible on it: each document in
//! `../shared/data/jma` is decided as if every area it names were five of Osaka's coastal
//! wards (long area names in every language), and each alert it shows is laid out as the
//! player lays it out, in every language rotation, at 1920x1080, 1080x1920 and 1280x720,
//! against the takeover's legibility rules (text whole, inside its area, headline glyphs at
//! least 1/30 of the screen height, WCAG contrast at least 4.5:1).

use std::path::Path;

use alerts::model::Status;
use chrono::TimeDelta;
use jma::areas::AreaCodes;
use jma::decide::{Action, Policy, decide};
use render::{AlertScreen, Takeover};

const WARDS: [&str; 5] = ["konohana", "minato", "taisho", "suminoe", "nishiyodogawa"];
const SIZES: [(u32, u32); 3] = [(1920, 1080), (1080, 1920), (1280, 720)];

#[test]
fn every_jma_alert_is_legible_on_every_screen() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/jma");
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED: {} not found (JMA's sample documents)",
            dir.display()
        );
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let (mut shown, mut renders, mut problems) = (0, 0, Vec::new());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let doc = jma::read(text.as_bytes()).unwrap();
        let now = doc.summary.reported_at + TimeDelta::seconds(20);
        let decision = decide(
            &doc,
            &AreaCodes::reaching_all(&text, &WARDS),
            &Policy::default(),
            now,
        );
        let Action::Show(show) = &decision.action else {
            continue;
        };
        shown += 1;
        let status = if decision.drill {
            Status::Exercise
        } else {
            Status::Actual
        };
        let infos = jma::text::infos(show, status);
        let screen = AlertScreen::from_infos(show.level.colours(), &infos, decision.drill, status);
        for (width, height) in SIZES {
            let takeover = Takeover::new(screen.clone(), width, height);
            for rotation in 0..screen.rotating.len().max(1) {
                renders += 1;
                let name = path.file_name().unwrap().to_string_lossy();
                problems.extend(
                    takeover
                        .check(rotation)
                        .problems()
                        .into_iter()
                        .map(|p| format!("{name} at {width}x{height}, rotation {rotation}: {p}")),
                );
            }
        }
    }
    println!(
        "{shown} of {} JMA documents show an alert; {renders} takeovers checked",
        files.len()
    );
    assert!(shown >= 30, "only {shown} documents showed an alert");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
