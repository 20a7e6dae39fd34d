//! The check suite `cargo mutants` runs against each mutant of `spec/src`
//! (`docs/mutation-testing.md`): small configurations of every algorithm
//! and switch, cheapest first, each searched to the end with every
//! reduction on. A mutant is caught when a safety property is violated, the
//! premises of garbage collection fail, or a path the configuration reaches
//! on the real code (a `sometimes` property) is no longer reached.
//!
//! Ignored in `cargo test` (the pinned tests in `configs.rs` check the same
//! configurations); `cargo mutants` runs it with `--include-ignored`.

use vivace_proofs::config::ModelConfig;
use vivace_proofs::properties::*;
use vivace_proofs::run::{check, RunOptions, Search};
use vivace_spec::clock::ClockMode;
use vivace_spec::{Algorithm, TimestampMode};

fn named(a: Algorithm, name: &str) -> ModelConfig {
    ModelConfig::named(a, name).unwrap_or_else(|| panic!("{} has {name}", a.name()))
}

/// Algorithm 3 with colliding timestamps and two appends: 28 thousand
/// states, where `ties` of record (three appends) has 1.6 million. Two
/// appends never make an OR-DATA wait.
fn rmw_two_ties() -> ModelConfig {
    let mut cfg = ModelConfig::tiny(Algorithm::VivaceRmw);
    cfg.name = "tiny-ties".into();
    cfg.clock = ClockMode::PerClient;
    cfg.shared_ts_node = true;
    cfg
}

/// `tiny` with clock-free timestamps: the writer asks a majority for the
/// highest timestamp first (`skew-clock-free` of record has 1.9 million
/// states).
fn tiny_clock_free(a: Algorithm) -> ModelConfig {
    let mut cfg = ModelConfig::tiny(a);
    cfg.name = "tiny-clock-free".into();
    cfg.timestamps = TimestampMode::QueryMajority;
    cfg
}

/// The suite: each configuration, and the `sometimes` properties the real
/// code does not reach in it (every other one must be reached).
fn suite() -> Vec<(ModelConfig, &'static [&'static str])> {
    use Algorithm::*;
    const OR_DATA: &[&str] = &[OR_DATA_WAITS, WAITING_OR_DATA_ANSWERED];
    vec![
        (named(Abd, "base"), &[]),
        (named(Abd, "crash"), &[]),
        (named(Abd, "ties"), &[]),
        (named(Abd, "base+writeback_skip"), &[]),
        (named(Abd, "lossy"), &[]),
        (named(Abd, "stateright-default"), &[]),
        (tiny_clock_free(VivaceRw), &[]),
        (named(LanRmw, "ties"), &[]),
        (named(LanRmw, "base"), &[]),
        (named(LanRmw, "crash"), &[]),
        (named(LanRmw, "lossy"), &[]),
        (ModelConfig::one_write_delegation(), &[]),
        (named(VivaceRw, "tiny"), &[]),
        (named(VivaceRw, "tiny+fewer_replicas"), &[]),
        (named(VivaceRw, "tiny+parallel_writeback"), &[]),
        (rmw_two_ties(), OR_DATA),
        (
            named(VivaceRmw, "crash+delegation"),
            &[OR_DATA_WAITS, WAITING_OR_DATA_ANSWERED, TAKEN_OVER],
        ),
        (ModelConfig::tiny_lossy(VivaceRw), &[]),
        (named(VivaceRmw, "tiny+execute_at_replicas"), &[]),
        (named(VivaceRw, "base"), &[]),
    ]
}

#[test]
#[ignore = "the suite of `cargo mutants` (docs/mutation-testing.md)"]
fn every_small_configuration_proves() {
    let opts = RunOptions {
        search: Search::Dfs,
        threads: 2,
        stop_at_violation: true,
        progress_every: None,
        coverage: false,
    };
    for (cfg, unreached) in suite() {
        let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
        let r = check(cfg, opts);
        if let Some(cx) = &r.counterexample {
            eprintln!("{name}:\n  {}", cx.join("\n  "));
        }
        for (p, v) in &r.properties {
            let expected = if unreached.contains(&p.as_str()) {
                "unreached"
            } else if v == "holds" || v == "violated" {
                "holds"
            } else {
                "reached"
            };
            assert_eq!(v, expected, "{name}: {p}");
        }
        assert!(r.exhaustive, "{name}: not exhaustive");
        assert_eq!(r.premises, "holds", "{name}: {:?}", r.breaches);
        assert!(r.properties.contains_key(LINEARIZABLE), "{name}");
    }
}

/// Section 3.1's reconfiguration, which runs the replicas' directory
/// handlers (seal, audit, install): it holds, and moves operations.
#[test]
#[ignore = "the suite of `cargo mutants` (docs/mutation-testing.md)"]
fn reconfiguration_proves() {
    use stateright::{Checker, Model};
    use vivace_proofs::reconfig::{ReconfigModel, LINEARIZABLE, MOVED, PUBLISHED_AND_FINISHED};
    let c = ReconfigModel::default()
        .checker()
        .threads(2)
        .spawn_dfs()
        .join();
    assert!(c.is_done(), "exhaustive");
    assert!(c.discovery(LINEARIZABLE).is_none(), "linearizable holds");
    assert!(c.discovery(MOVED).is_some(), "{MOVED}");
    assert!(c.discovery(PUBLISHED_AND_FINISHED).is_some());
}
