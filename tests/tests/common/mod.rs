//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::time::{Duration, Instant};
use vivace_impl::history::Verdict;
use vivace_impl::workload::{MixedRun, Sample};

/// Asserts that the run's history is linearizable (checked with the
/// checker library) and returns the number of operations in it.
pub fn assert_linearizable(run: &MixedRun, what: &str) {
    let history = run.recorder.to_jsonl();
    let verdict = vivace_impl::history::check_jsonl(&history, Duration::from_secs(60));
    if verdict != Verdict::Linearizable {
        let path = std::env::temp_dir().join(format!("vivace-{what}.jsonl"));
        let _ = std::fs::write(&path, &history);
        panic!("{what}: history is {verdict} (saved at {})", path.display());
    }
}

/// Counts samples by outcome: (ok, aborted, error).
pub fn outcomes(samples: &[Sample]) -> (usize, usize, usize) {
    let c = |o: &str| samples.iter().filter(|s| s.outcome == o).count();
    (c("ok"), c("aborted"), c("error"))
}

/// Polls `f` until it returns true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f()
}
