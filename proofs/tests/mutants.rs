//! Every mutant must be refuted: the property that catches it is violated,
//! with a counterexample. One thread, so the number of states visited until
//! the violation is deterministic, and pinned.

use vivace_proofs::mutants;
use vivace_proofs::run::{check, RunOptions};

/// States visited until the violation, by mutant.
const PINNED: &[(&str, usize)] = &[
    ("w-ts-before-local-majority", 42660),
    ("r-data-lower-ts", 649199),
    ("w-ts-keeps-old-value", 1379342),
    ("abd-read-skips-write-back", 4406),
    ("read-skips-write-back", 7952),
    ("skip-write-back-c1-only", 9969),
    ("write-back-phase1-ts", 36432),
    ("w-remote-stores-lower", 396168),
    ("or-ts-accepts-equal", 33790),
    ("clock-goes-backwards", 1535),
    ("or-data-waits-for-ts", 108028),
    ("commit-wait-too-short", 1535),
    ("parallel-write-back-ignores-c2", 399207),
    ("parallel-write-back-no-wait", 32538),
    ("fewer-replicas-no-fallback", 3041),
    ("exec-applies-to-other-ts", 344389),
    ("exec-no-fallback", 1519),
    ("delegation-no-fallback", 1538),
    ("delegation-fallback-new-timestamp", 91639),
];

/// One mutant at a time: breadth-first searches hold gigabytes.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn refute(name: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let m = mutants::all()
        .into_iter()
        .find(|m| m.name == name)
        .expect("mutant exists");
    let opts = RunOptions {
        search: m.search,
        threads: 1,
        stop_at_violation: true,
        progress_every: None,
        witness: true,
    };
    let r = check((m.config)(), opts);
    assert_eq!(
        r.properties[m.refuted_by], "violated",
        "{name}: not refuted"
    );
    let cx = r
        .counterexample
        .as_ref()
        .expect("a violation comes with a counterexample");
    assert!(
        cx.iter().any(|s| s.contains("deliver")),
        "{name}: counterexample has steps"
    );
    let pinned = PINNED.iter().find(|(n, _)| *n == name).expect("pinned").1;
    assert_eq!(r.unique_states, pinned, "{name}: state count changed");
}

#[test]
fn every_mutant_is_listed_here() {
    let names: Vec<&str> = mutants::all().iter().map(|m| m.name).collect();
    assert!(names.len() >= 8, "the issue asks for at least 8 mutants");
    for n in &names {
        assert!(PINNED.iter().any(|(p, _)| p == n), "{n} has no test");
    }
}

#[test]
fn commit_wait_too_short() {
    refute("commit-wait-too-short");
}
#[test]
fn or_data_waits_for_ts() {
    refute("or-data-waits-for-ts");
}
#[test]
fn w_ts_before_local_majority() {
    refute("w-ts-before-local-majority");
}
#[test]
fn r_data_lower_ts() {
    refute("r-data-lower-ts");
}
#[test]
fn w_ts_keeps_old_value() {
    refute("w-ts-keeps-old-value");
}
#[test]
fn abd_read_skips_write_back() {
    refute("abd-read-skips-write-back");
}
#[test]
fn read_skips_write_back() {
    refute("read-skips-write-back");
}
#[test]
fn skip_write_back_c1_only() {
    refute("skip-write-back-c1-only");
}
#[test]
fn write_back_phase1_ts() {
    refute("write-back-phase1-ts");
}
#[test]
fn w_remote_stores_lower() {
    refute("w-remote-stores-lower");
}
#[test]
fn or_ts_accepts_equal() {
    refute("or-ts-accepts-equal");
}
#[test]
fn clock_goes_backwards() {
    refute("clock-goes-backwards");
}
#[test]
fn parallel_write_back_ignores_c2() {
    refute("parallel-write-back-ignores-c2");
}
#[test]
fn parallel_write_back_no_wait() {
    refute("parallel-write-back-no-wait");
}
#[test]
fn fewer_replicas_no_fallback() {
    refute("fewer-replicas-no-fallback");
}
#[test]
fn exec_applies_to_other_ts() {
    refute("exec-applies-to-other-ts");
}
#[test]
fn exec_no_fallback() {
    refute("exec-no-fallback");
}
#[test]
fn delegation_no_fallback() {
    refute("delegation-no-fallback");
}
#[test]
fn delegation_fallback_new_timestamp() {
    refute("delegation-fallback-new-timestamp");
}

/// The mutants' own configurations without the mutation hold, so that each
/// refutation is the mutation's doing and not the setup's: every `always`
/// property holds (`sometimes` ones are not looked for without the
/// reduction here). Configurations of record among them, such as `crash`,
/// are proven by `check --all`; `lossy-crash` is left out (see below).
#[test]
fn controls_hold() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let of_record = |name: &str| {
        vivace_proofs::config::ModelConfig::OF_RECORD
            .iter()
            .any(|r| name == *r || name.starts_with(&format!("{r}+")))
    };
    let mut checked = 0;
    for cfg in mutants::controls() {
        // Three-server configurations (`small` and those built from it);
        // `lossy-crash` (base with two losses and a crash) is too large for
        // a test.
        if of_record(&cfg.name) || cfg.servers.len() > 3 {
            continue;
        }
        let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
        let only_safety = RunOptions {
            threads: 1,
            progress_every: None,
            witness: false,
            ..RunOptions::default()
        };
        let r = check(cfg, only_safety);
        assert!(r.exhaustive, "{name}: search finished");
        for (p, v) in &r.properties {
            assert!(v != "violated", "{name}: {p} {v}");
        }
        assert_eq!(r.properties["linearizable"], "holds", "{name}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} controls checked");
}
