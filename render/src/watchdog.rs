//! The watchdog's judgement, pure: from how long the output has been without frames, black or
//! unchanged, decide whether the pipeline must be rebuilt.

use std::fmt;
use std::time::Duration;

use crate::config::WatchdogConfig;

/// What the watchdog saw wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No composed frame for this long.
    Stalled { for_: Duration },
    /// Only black frames for this long although the plan has content.
    Black { for_: Duration },
    /// The same frame for this long although a video or ticker should move.
    Frozen { for_: Duration },
    /// GStreamer reported an error outside any one item.
    PipelineError { message: String },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Stalled { for_ } => {
                write!(f, "no frame composed for {:.1} s", for_.as_secs_f32())
            }
            Fault::Black { for_ } => write!(f, "output black for {:.1} s", for_.as_secs_f32()),
            Fault::Frozen { for_ } => {
                write!(
                    f,
                    "output frozen for {:.1} s while content should move",
                    for_.as_secs_f32()
                )
            }
            Fault::PipelineError { message } => write!(f, "pipeline error: {message}"),
        }
    }
}

/// The state of the output at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observation {
    /// Since the pipeline was (re)built.
    pub since_build: Duration,
    /// Since the last composed frame (or since the build, if none yet).
    pub since_last_frame: Duration,
    /// How long every frame has been black (zero if the last one was not).
    pub black_for: Duration,
    /// How long every frame has been identical.
    pub unchanged_for: Duration,
    /// The plan has at least one zone showing something.
    pub has_content: bool,
    /// A zone shows a video or ticker, which must move.
    pub expects_motion: bool,
}

pub(crate) fn verdict(o: &Observation, limits: &WatchdogConfig) -> Option<Fault> {
    if o.since_build < limits.grace {
        return None;
    }
    if o.since_last_frame >= limits.stall_after {
        return Some(Fault::Stalled {
            for_: o.since_last_frame,
        });
    }
    if o.has_content && o.black_for >= limits.black_after {
        return Some(Fault::Black { for_: o.black_for });
    }
    if o.expects_motion && o.unchanged_for >= limits.frozen_after {
        return Some(Fault::Frozen {
            for_: o.unchanged_for,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Verdict for an output (seconds) against the default limits (stall 2, black 5,
    /// frozen 10, grace 3).
    fn check(
        since_build: u64,
        since_frame: u64,
        black: u64,
        unchanged: u64,
        content: bool,
        motion: bool,
    ) -> Option<Fault> {
        let o = Observation {
            since_build: secs(since_build),
            since_last_frame: secs(since_frame),
            black_for: secs(black),
            unchanged_for: secs(unchanged),
            has_content: content,
            expects_motion: motion,
        };
        verdict(&o, &WatchdogConfig::default())
    }

    #[test]
    fn verdicts() {
        // Healthy, moving.
        assert_eq!(check(60, 0, 0, 0, true, true), None);
        // Everything is forgiven during the grace period after a build.
        assert_eq!(check(2, 2, 2, 2, true, true), None);
        assert_eq!(
            check(60, 2, 0, 0, true, true),
            Some(Fault::Stalled { for_: secs(2) })
        );
        // A stall wins over the black and frozen it also causes.
        assert_eq!(
            check(60, 30, 30, 30, true, true),
            Some(Fault::Stalled { for_: secs(30) })
        );
        assert_eq!(
            check(60, 0, 5, 5, true, false),
            Some(Fault::Black { for_: secs(5) })
        );
        // An empty plan may be black.
        assert_eq!(check(60, 0, 50, 50, false, false), None);
        // A still slide may stay unchanged forever; a video may not.
        assert_eq!(check(60, 0, 0, 50, true, false), None);
        assert_eq!(
            check(60, 0, 0, 10, true, true),
            Some(Fault::Frozen { for_: secs(10) })
        );
        assert_eq!(check(60, 0, 0, 9, true, true), None);
    }

    #[test]
    fn faults_read_as_sentences() {
        assert_eq!(
            Fault::Frozen {
                for_: Duration::from_millis(10_500)
            }
            .to_string(),
            "output frozen for 10.5 s while content should move"
        );
    }
}
