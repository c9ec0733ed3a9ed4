//! Every fuzz target for a short fixed budget, so CI exercises them all (`signage-fuzz` runs
//! them for as long as asked), and the guards themselves.

use std::sync::Mutex;
use std::time::Duration;

use fuzz::{Options, Seeds, Shape, Target};

/// One run at a time: the guards watch one input per process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn options(findings: &std::path::Path) -> Options {
    Options {
        budget: Duration::from_secs(2),
        seed: 19,
        // Generous: a real hang never ends, and CI machines are busy.
        hang_limit: Duration::from_secs(20),
        findings: findings.to_path_buf(),
    }
}

fn run(name: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = fuzz::targets::find(name).expect("a target of that name");
    let findings = tempfile::tempdir().unwrap();
    match fuzz::fuzz(target, &options(findings.path()), |_| {}) {
        Ok(stats) => {
            if let Some(skipped) = &stats.skipped {
                eprintln!("SKIPPED file seeds of {name}: {skipped}");
            }
            eprintln!(
                "{name}: {} execs ({:.0}/s), corpus {}, outcomes {}",
                stats.execs,
                stats.per_second(),
                stats.corpus,
                stats.outcomes
            );
            assert!(
                stats.execs > stats.corpus as u64,
                "{name} ran its seeds only"
            );
        }
        Err(finding) => panic!("{finding}"),
    }
}

macro_rules! targets {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run($name);
            }
        )*

        #[test]
        fn every_target_has_a_test() {
            let tested = [$($name),*];
            let all: Vec<&str> = fuzz::targets::TARGETS.iter().map(|t| t.name).collect();
            assert_eq!(all, tested);
        }
    };
}

targets! {
    mp4 => "mp4",
    png => "png",
    jpeg => "jpeg",
    webm => "webm",
    sniff => "sniff",
    range => "range",
    cap => "cap",
    player_config => "player-config",
    controller_config => "controller-config",
    mqtt => "mqtt",
    jma => "jma",
    feed => "feed",
    multipart => "multipart",
}

#[test]
fn a_panic_is_a_finding_with_its_input_saved() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let canary = Target {
        name: "canary",
        shape: Shape::Magic,
        run: |input| {
            let png = input.windows(4).any(|w| w == b"\x89PNG");
            assert!(!png, "the canary saw a PNG");
            String::new()
        },
        seeds: || Seeds {
            inputs: vec![b"GIF89a".to_vec()],
            skipped: None,
        },
    };
    let findings = tempfile::tempdir().unwrap();
    let finding = fuzz::fuzz(&canary, &options(findings.path()), |_| {}).unwrap_err();
    assert!(
        finding.message.contains("the canary saw a PNG"),
        "{finding}"
    );
    let saved = std::fs::read(&finding.saved).unwrap();
    assert!(saved.windows(4).any(|w| w == b"\x89PNG"));
    assert!(finding.saved.starts_with(findings.path()));
}
