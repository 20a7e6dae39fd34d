//! Configurations of every algorithm, checked to the end with one thread
//! (so the count of states is deterministic) and pinned: a change to spec
//! or to the model that changes the state space shows up here. The larger
//! configurations of record are in `proofs/records/` (`check --all`).

use vivace_proofs::config::ModelConfig;
use vivace_proofs::properties::*;
use vivace_proofs::run::{check, Report, RunOptions, Search};
use vivace_spec::Algorithm;

fn one_thread() -> RunOptions {
    RunOptions {
        search: Search::Dfs,
        threads: 1,
        stop_at_violation: false,
        progress_every: None,
        coverage: false,
    }
}

/// Checks `cfg` to the end: every `always` property holds, every
/// `sometimes` one is reached, the premises of garbage collection hold, and
/// the count of states is the pinned one.
fn proves(cfg: ModelConfig, pinned: usize) -> Report {
    let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
    let r = check(cfg, one_thread());
    assert!(r.exhaustive, "{name}: search not exhaustive");
    for (p, v) in &r.properties {
        assert!(v == "holds" || v == "reached", "{name}: {p} {v}");
    }
    assert_eq!(r.premises, "holds", "{name}: {:?}", r.breaches);
    assert!(r.proves(), "{name}");
    assert_eq!(r.unique_states, pinned, "{name}: state count changed");
    r
}

fn named(a: Algorithm, name: &str) -> ModelConfig {
    ModelConfig::named(a, name).unwrap_or_else(|| panic!("{} has {name}", a.name()))
}

fn crash(mut cfg: ModelConfig) -> ModelConfig {
    cfg.name = format!("{}-crash", cfg.name);
    cfg.max_crashes = 1;
    cfg
}

/// Sections 3.2 and 3.3: ABD, Algorithm 1 and Algorithm 2 with a write and
/// a concurrent read (RMW: two concurrent appends) on three servers.
#[test]
fn tiny() {
    for (a, pinned) in [
        (Algorithm::Abd, PINNED_TINY[0]),
        (Algorithm::VivaceRw, PINNED_TINY[1]),
        (Algorithm::LanRmw, PINNED_TINY[2]),
    ] {
        proves(ModelConfig::tiny(a), pinned);
    }
}

/// Algorithm 3 (Section 3.3), two concurrent appends on three servers (also
/// `base`'s workload). The split path is taken: an ordering write and an
/// OR-DATA wait for their value, and the OR-DATA is answered when it comes.
#[test]
fn vivace_rmw_tiny() {
    let r = proves(ModelConfig::tiny(Algorithm::VivaceRmw), PINNED_TINY[3]);
    for p in [
        ORDERING_WRITE_WAITS,
        OR_DATA_WAITS,
        WAITING_OR_DATA_ANSWERED,
    ] {
        assert_eq!(r.properties[p], "reached", "{p}");
    }
}

/// `base` of record for ABD, Algorithm 1 and Algorithm 2. Algorithm 1's
/// timestamp overtakes its value, a read waits for the value and is
/// answered when it arrives; in both RW algorithms a read follows a read
/// of a write still in progress, so the first read's write-back is what
/// the second one observes.
#[test]
fn of_record_base() {
    for (a, pinned) in [
        (Algorithm::Abd, PINNED_BASE[0]),
        (Algorithm::VivaceRw, PINNED_BASE[1]),
        (Algorithm::LanRmw, PINNED_BASE[2]),
    ] {
        let r = proves(ModelConfig::base(a), pinned);
        let mut expected = vec![];
        if !a.is_rmw() {
            expected.push(WRITE_BACK_OBSERVED);
        }
        if a == Algorithm::VivaceRw {
            expected.extend([TS_WITHOUT_VALUE, READ_WAITS, WAITING_READ_ANSWERED]);
        }
        for p in expected {
            assert_eq!(r.properties[p], "reached", "{}: {p}", a.name());
        }
    }
}

/// `vivace_rw/cross-site` of record: the reader in the other site reads
/// twice; a read can need a value that sits only at the writer's site's
/// local replica (Figure 3).
#[test]
fn of_record_cross_site() {
    let r = proves(
        ModelConfig::cross_site(Algorithm::VivaceRw),
        PINNED_CROSS_SITE,
    );
    assert_eq!(r.properties[DATA_REMOTE], "reached");
}

/// `abd/crash`, `abd/lossy`, `lan_rmw/crash` and `lan_rmw/lossy` of record.
#[test]
fn of_record_faults() {
    for (a, name, pinned) in [
        (Algorithm::Abd, "crash", PINNED_FAULTS[0]),
        (Algorithm::Abd, "lossy", PINNED_FAULTS[1]),
        (Algorithm::LanRmw, "crash", PINNED_FAULTS[2]),
        (Algorithm::LanRmw, "lossy", PINNED_FAULTS[3]),
    ] {
        proves(named(a, name), pinned);
    }
}

/// Section 3.1: a local set tolerates the crash of a minority of its
/// members; a local set of one tolerates none. With the only local replica
/// crashed, a timestamp can be left whose value no live node has (the
/// window of vulnerability of Section 4.3), and the checker must say so.
#[test]
fn a_local_set_of_one_does_not_survive_its_crash() {
    for a in [Algorithm::VivaceRw, Algorithm::VivaceRmw] {
        let opts = RunOptions {
            stop_at_violation: true,
            search: Search::Bfs,
            ..one_thread()
        };
        let r = check(crash(ModelConfig::tiny(a)), opts);
        assert_eq!(r.properties[DURABLE], "violated", "{}", a.name());
        assert!(r
            .counterexample
            .as_ref()
            .is_some_and(|c| c.iter().any(|s| s.contains("crashes"))));
    }
}

/// A lossy network with retransmission: idempotent handlers (Algorithm
/// 2's `lossy` of record is `tiny`'s, above).
#[test]
fn lossy_tiny() {
    for (i, a) in [Algorithm::Abd, Algorithm::VivaceRw]
        .into_iter()
        .enumerate()
    {
        proves(ModelConfig::tiny_lossy(a), PINNED_LOSSY[i]);
    }
}

/// `duplicates` of record: a timer that fires early, while the request or
/// its reply is still in flight, so a request and its duplicate are in
/// flight together and handled in any order (ABD here; the others, at 1.5
/// to 3 million states, in `check --all`).
#[test]
fn duplicates() {
    proves(named(Algorithm::Abd, "duplicates"), PINNED_DUPLICATES);
}

/// `ties` of record: two clients take equal clock times, so the node id
/// orders their timestamps (RW), or the timestamps are equal outright and
/// OR-TS's strict `>` must let one through (RMW).
#[test]
fn ties() {
    for (a, pinned) in [
        (Algorithm::Abd, PINNED_TIES[0]),
        (Algorithm::VivaceRw, PINNED_TIES[1]),
        (Algorithm::LanRmw, PINNED_TIES[2]),
    ] {
        proves(named(a, "ties"), pinned);
    }
}

const PINNED_TINY: [usize; 4] = [1493, 14997, 12029, 1534835];
const PINNED_BASE: [usize; 3] = [4721, 239687, 12029];
const PINNED_CROSS_SITE: usize = 239687;
const PINNED_FAULTS: [usize; 4] = [4533, 27695, 19506, 74944];
const PINNED_LOSSY: [usize; 2] = [8588, 151090];
const PINNED_DUPLICATES: usize = 127501;
const PINNED_TIES: [usize; 3] = [4607, 521299, 15423];

/// Every row of `check --json` says which optimizations were on and how
/// timestamps were taken.
#[test]
fn reports_name_the_optimizations_and_the_clock() {
    let mut cfg = ModelConfig::tiny(Algorithm::Abd);
    cfg.options.writeback_skip = true;
    let row = serde_json::to_value(check(cfg, one_thread())).expect("a report is JSON");
    assert_eq!(row["optimizations"], serde_json::json!(["writeback_skip"]));
    assert_eq!(row["clock"], "synchronized");
    assert_eq!(row["premises"], "holds");
    let row = serde_json::to_value(check(ModelConfig::stateright_default(), one_thread()))
        .expect("a report is JSON");
    assert_eq!(row["optimizations"], serde_json::json!([]));
    assert_eq!(row["clock"], "clock_free");
    assert_eq!(
        ModelConfig::skew(Algorithm::VivaceRw).clock_name(),
        "skewed"
    );
}

/// Clocks skewed by 3 ticks: Algorithm 1 with the paper's timestamps is
/// refuted (the mutant `clock-goes-backwards`), while the commit wait holds
/// under the same skew (the clock-free write, at 1.9 million states, is in
/// `check --all`).
#[test]
fn skewed_clocks_hold_with_commit_wait() {
    let free = named(Algorithm::VivaceRw, "skew-clock-free");
    assert_eq!(free.clock_name(), "clock_free");
    let wait = named(Algorithm::VivaceRw, "skew-commit-wait");
    assert_eq!(wait.clock_name(), "commit_wait");
    proves(wait, PINNED_SKEW);
    let paper = check(ModelConfig::skew(Algorithm::VivaceRw), one_thread());
    assert_eq!(paper.properties[LINEARIZABLE], "violated");
}

const PINNED_SKEW: usize = 1991568;

/// Section 3.4.1, write-back skipping (C1 and C2) switched on in `base`:
/// holds, and a read does skip its write-back (the mutant
/// `skip-write-back-c1-only` shows C2 is needed).
#[test]
fn writeback_skip_holds_and_is_taken() {
    for (alg, pinned) in [
        (Algorithm::Abd, PINNED_SKIP[0]),
        (Algorithm::VivaceRw, PINNED_SKIP[1]),
    ] {
        let cfg = named(alg, "base+writeback_skip");
        assert_eq!(cfg.optimizations(), ["writeback_skip"]);
        let r = proves(cfg, pinned);
        assert_eq!(r.properties[WRITE_BACK_SKIPPED], "reached");
    }
}

const PINNED_SKIP: [usize; 2] = [4483, 218762];

/// Section 3.4.1, the parallel write-back and reading data from fewer
/// replicas in `tiny`: they hold, and the optimized paths are taken (the
/// mutants `parallel-write-back-*` and `fewer-replicas-no-fallback` show
/// what each needs; `base` with each is in `check --ci`).
#[test]
fn read_optimizations_hold_and_are_taken() {
    for (name, pinned) in [
        ("tiny+parallel_writeback", PINNED_READ_OPT[0]),
        ("tiny+fewer_replicas", PINNED_READ_OPT[1]),
    ] {
        let cfg = named(Algorithm::VivaceRw, name);
        let r = proves(cfg.clone(), pinned);
        if cfg.options.parallel_writeback {
            assert_eq!(r.properties[PARALLEL_WRITE_BACK], "reached", "{name}");
        }
        if cfg.options.fewer_replicas {
            assert_eq!(r.properties[DATA_FROM_ONE], "reached", "{name}");
        }
    }
    let both = named(
        Algorithm::VivaceRw,
        "base+parallel_writeback+fewer_replicas",
    );
    assert_eq!(
        both.optimizations(),
        ["parallel_writeback", "fewer_replicas"]
    );
    assert!(ModelConfig::named(Algorithm::VivaceRmw, "base+fewer_replicas").is_none());
}

const PINNED_READ_OPT: [usize; 2] = [50731, 34171];

/// Section 3.4.2, executing commands at replicas, in `tiny`: it holds, the
/// optimized path is taken, and an EXEC waits for the value of `mts` (the
/// mutants `exec-*` show what it needs).
#[test]
fn execute_at_replicas_holds_and_is_taken() {
    let cfg = named(Algorithm::VivaceRmw, "tiny+execute_at_replicas");
    assert_eq!(cfg.optimizations(), ["execute_at_replicas"]);
    let r = proves(cfg, PINNED_EXEC);
    for p in [EXECUTED_AT_REPLICAS, RMW_ABORTS, EXEC_WAITS] {
        assert_eq!(r.properties[p], "reached", "{p}");
    }
    assert!(ModelConfig::named(Algorithm::VivaceRw, "base+execute_at_replicas").is_none());
}

const PINNED_EXEC: usize = 268501;

/// Section 3.4.2, delegating to a replica: one client's write in `tiny`,
/// with the client's takeover at any moment its delegate is at work. The
/// configurations of record with faults let the takeover wait for a quiet
/// delegate (`ModelConfig::shrink_delegation`); `takeover-crash` and
/// `takeover-lossy` in `check --all` check the takeover at any moment under
/// faults, on three servers.
#[test]
fn delegation_holds_and_is_taken() {
    let cfg = ModelConfig::one_write_delegation();
    assert_eq!(cfg.optimizations(), ["delegation"]);
    assert!(!cfg.takeover_waits_for_delegate);
    // One client: nothing runs concurrently with its write, so only the
    // properties that can hold or be reached are asked for.
    let r = check(cfg, one_thread());
    assert!(r.exhaustive && r.premises == "holds");
    assert_eq!(r.unique_states, PINNED_DELEGATION, "state count changed");
    for p in [LINEARIZABLE, PROGRESS, DURABLE] {
        assert_eq!(r.properties[p], "holds", "{p}");
    }
    for p in [DELEGATED, TAKEN_OVER] {
        assert_eq!(r.properties[p], "reached", "{p}");
    }
    assert!(ModelConfig::named(Algorithm::Abd, "base+delegation").is_none());
    let crash = named(Algorithm::VivaceRw, "crash+delegation");
    assert!(crash.takeover_waits_for_delegate, "of record with faults");
    let base = named(Algorithm::VivaceRw, "base+delegation");
    assert!(!base.takeover_waits_for_delegate, "takeover at any moment");
    let any = named(Algorithm::VivaceRmw, "takeover-crash");
    assert!(any.options.delegation && any.max_crashes == 1 && !any.takeover_waits_for_delegate);
}

const PINNED_DELEGATION: usize = 1362;
