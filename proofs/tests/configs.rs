//! Small configurations of every algorithm, checked exhaustively with one
//! thread (so the count of states is deterministic) and pinned: a change to
//! spec or to the model that changes the state space shows up here.

use vivace_proofs::config::{ModelConfig, Network};
use vivace_proofs::run::{check, Report, RunOptions, Search};
use vivace_spec::Algorithm;

fn one_thread() -> RunOptions {
    RunOptions {
        search: Search::Dfs,
        threads: 1,
        stop_at_violation: false,
        progress_every: None,
        witness: true,
    }
}

fn proves(cfg: ModelConfig, pinned: usize) -> Report {
    let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
    let r = check(cfg, one_thread());
    assert!(r.exhaustive, "{name}: search not exhaustive");
    for (p, v) in &r.properties {
        assert!(v == "holds" || v == "reached", "{name}: {p} {v}");
    }
    assert_eq!(r.unique_states, pinned, "{name}: state count changed");
    r
}

fn crash(mut cfg: ModelConfig) -> ModelConfig {
    cfg.name = format!("{}-crash", cfg.name);
    cfg.max_crashes = 1;
    cfg
}

fn lossy(mut cfg: ModelConfig) -> ModelConfig {
    cfg.name = format!("{}-lossy", cfg.name);
    cfg.network = Network::Lossy {
        drops: 1,
        spurious: 0,
    };
    cfg.options.retransmit = true;
    cfg
}

/// Section 3.2: ABD, a write and a concurrent read over three replicas.
#[test]
fn abd_tiny() {
    proves(ModelConfig::tiny(Algorithm::Abd), PINNED[0]);
}

/// Algorithm 1 (Section 3.2).
#[test]
fn vivace_rw_tiny() {
    proves(ModelConfig::tiny(Algorithm::VivaceRw), PINNED[1]);
}

/// Algorithm 2 (Section 3.3): two concurrent executes.
#[test]
fn lan_rmw_tiny() {
    proves(ModelConfig::tiny(Algorithm::LanRmw), PINNED[2]);
}

/// Algorithm 3 (Section 3.3).
#[test]
fn vivace_rmw_tiny() {
    proves(ModelConfig::tiny(Algorithm::VivaceRmw), PINNED[3]);
}

/// Section 3.1: progress despite the crash of any one server.
#[test]
fn crash_tiny() {
    for (i, a) in [Algorithm::Abd, Algorithm::LanRmw].into_iter().enumerate() {
        proves(crash(ModelConfig::tiny(a)), PINNED_CRASH[i]);
    }
}

/// Section 3.1: a local set tolerates the crash of a minority of its
/// members; a local set of one tolerates none. With the only local replica
/// crashed, a timestamp can be left whose value no live node has (the
/// window of vulnerability of Section 4.3), and the checker must say so.
#[test]
fn a_local_set_of_one_does_not_survive_its_crash() {
    for a in [Algorithm::VivaceRw, Algorithm::VivaceRmw] {
        let r = check(crash(ModelConfig::tiny(a)), one_thread());
        assert_eq!(r.properties["durable"], "violated", "{}", a.name());
        assert_eq!(r.properties["linearizable"], "holds", "{}", a.name());
        assert!(r
            .counterexample
            .as_ref()
            .is_some_and(|c| c.iter().any(|s| s.contains("crashes"))));
    }
}

/// A lossy network with retransmission: idempotent handlers.
#[test]
fn lossy_tiny() {
    for (i, a) in Algorithm::ALL.into_iter().enumerate() {
        proves(lossy(ModelConfig::tiny(a)), PINNED_LOSSY[i]);
    }
}

/// A timer that fires early, while the request or its reply is still in
/// flight: a duplicate request, handled in any order with the original
/// (the `lossy` configurations of record leave early firing out).
fn early_timer_tiny(a: Algorithm, pinned: usize) {
    let mut cfg = lossy(ModelConfig::tiny(a));
    cfg.name = "tiny-lossy-early-timer".into();
    cfg.network = Network::Lossy {
        drops: 1,
        spurious: 1,
    };
    proves(cfg, pinned);
}

#[test]
fn early_timer_abd() {
    early_timer_tiny(Algorithm::Abd, PINNED_EARLY[0]);
}

#[test]
fn early_timer_vivace_rw() {
    early_timer_tiny(Algorithm::VivaceRw, PINNED_EARLY[1]);
}

#[test]
fn early_timer_lan_rmw() {
    early_timer_tiny(Algorithm::LanRmw, PINNED_EARLY[2]);
}

/// ABD at `small`: two clients, each a write then a read.
#[test]
fn abd_small() {
    proves(ModelConfig::small(Algorithm::Abd), PINNED_SMALL_ABD);
}

/// Configurations of record that are quick enough for every test run
/// (README, "Status and figures").
#[test]
fn of_record_base() {
    for (i, a) in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw]
        .into_iter()
        .enumerate()
    {
        proves(ModelConfig::base(a), PINNED_BASE[i]);
    }
}

/// `abd/crash` and `abd/lossy` of record.
#[test]
fn of_record_faults() {
    proves(ModelConfig::crash(Algorithm::Abd), PINNED_FAULTS[0]);
    proves(ModelConfig::lossy(Algorithm::Abd), PINNED_FAULTS[1]);
}

/// `vivace_rw/cross-site` of record: a read can need a value that sits
/// only at the other site's local replica (Figure 3).
#[test]
fn of_record_cross_site() {
    proves(
        ModelConfig::cross_site(Algorithm::VivaceRw),
        PINNED_CROSS_SITE,
    );
}

const PINNED: [usize; 4] = [854, 1534, 7103, 42049];
const PINNED_CRASH: [usize; 2] = [4305, 34068];
const PINNED_LOSSY: [usize; 4] = [5113, 17295, 46572, 470238];
const PINNED_EARLY: [usize; 3] = [47329, 895772, 634566];
const PINNED_SMALL_ABD: usize = 60702;
const PINNED_BASE: [usize; 3] = [60702, 134904, 1098249];
const PINNED_FAULTS: [usize; 2] = [405382, 313036];
const PINNED_CROSS_SITE: usize = 132132;

/// Every row of `check --json` says which optimizations were on and how
/// timestamps were taken (issue 6, machine-readable results).
#[test]
fn reports_name_the_optimizations_and_the_clock() {
    let mut cfg = ModelConfig::tiny(Algorithm::Abd);
    cfg.options.writeback_skip = true;
    let row = serde_json::to_value(check(cfg, one_thread())).expect("a report is JSON");
    assert_eq!(row["optimizations"], serde_json::json!(["writeback_skip"]));
    assert_eq!(row["clock"], "synchronized");
    let row = serde_json::to_value(check(ModelConfig::stateright_default(), one_thread()))
        .expect("a report is JSON");
    assert_eq!(row["optimizations"], serde_json::json!([]));
    assert_eq!(row["clock"], "clock_free");
    let lagging = vivace_proofs::mutants::all()
        .into_iter()
        .find(|m| m.name == "clock-goes-backwards")
        .expect("mutant exists");
    assert_eq!((lagging.config)().clock_name(), "skewed");
}

/// Clocks skewed by 2 ticks (issue 6): Algorithm 1 with the paper's
/// timestamps is refuted (the mutant `clock-goes-backwards`), while the
/// clock-free write and the commit wait hold under the same skew.
#[test]
fn skewed_clocks_hold_clock_free_and_with_commit_wait() {
    let free = ModelConfig::named(Algorithm::VivaceRw, "skew-clock-free").expect("named");
    assert_eq!(free.clock_name(), "clock_free");
    proves(free, 39535);
    let wait = ModelConfig::named(Algorithm::VivaceRw, "skew-commit-wait").expect("named");
    assert_eq!(wait.clock_name(), "commit_wait");
    proves(wait, 21189);
    let paper = check(ModelConfig::skew(Algorithm::VivaceRw), one_thread());
    assert_eq!(paper.properties["linearizable"], "violated");
}

/// Section 3.4.1, write-back skipping (C1 and C2) switched on in `base`:
/// holds, and a read does skip its write-back (the mutant
/// `skip-write-back-c1-only` shows C2 is needed).
#[test]
fn writeback_skip_holds_and_is_taken() {
    for (alg, pinned) in [(Algorithm::Abd, 62846), (Algorithm::VivaceRw, 138308)] {
        let cfg = ModelConfig::named(alg, "base+writeback_skip").expect("named");
        assert_eq!(cfg.optimizations(), ["writeback_skip"]);
        let r = proves(cfg, pinned);
        assert_eq!(r.properties["a read skips its write-back"], "reached");
    }
}

/// Section 3.4.1, the parallel write-back and reading data from fewer
/// replicas, each alone and together, in `small` and `base`: they hold, and
/// the optimized paths are taken (the mutants `parallel-write-back-*` and
/// `fewer-replicas-no-fallback` show what each needs).
#[test]
fn read_optimizations_hold_and_are_taken() {
    for (name, pinned) in [
        ("small+parallel_writeback", PINNED_READ_OPT[0]),
        ("small+fewer_replicas", PINNED_READ_OPT[1]),
        (
            "small+parallel_writeback+fewer_replicas",
            PINNED_READ_OPT[2],
        ),
        ("base+fewer_replicas", PINNED_READ_OPT[3]),
    ] {
        let cfg = ModelConfig::named(Algorithm::VivaceRw, name).expect("named");
        let r = proves(cfg.clone(), pinned);
        if cfg.options.parallel_writeback {
            assert_eq!(
                r.properties["a read completes in two phases with a parallel write-back"],
                "reached",
                "{name}"
            );
        }
        if cfg.options.fewer_replicas {
            assert_eq!(
                r.properties["a read takes its data from the one replica it asked"],
                "reached"
            );
            // Checked where it can be reached (see `properties::for_config`).
            let fallback = r
                .properties
                .get("a read's data phase falls back to every replica");
            assert_eq!(fallback.is_some(), cfg.name.starts_with("small"), "{name}");
            assert!(fallback.is_none_or(|v| v == "reached"), "{name}");
        }
    }
    let both = ModelConfig::named(
        Algorithm::VivaceRw,
        "base+parallel_writeback+fewer_replicas",
    );
    assert_eq!(
        both.expect("named").optimizations(),
        ["parallel_writeback", "fewer_replicas"]
    );
    assert!(ModelConfig::named(Algorithm::VivaceRmw, "base+fewer_replicas").is_none());
}

/// Section 3.4.2, executing commands at replicas, in `tiny` and `small`:
/// it holds, and the optimized path is taken (the mutants `exec-*` show
/// what it needs).
#[test]
fn execute_at_replicas_holds_and_is_taken() {
    for (name, pinned) in [("tiny+execute_at_replicas", 104513)] {
        let cfg = ModelConfig::named(Algorithm::VivaceRmw, name).expect("named");
        assert_eq!(cfg.optimizations(), ["execute_at_replicas"]);
        let r = proves(cfg, pinned);
        assert_eq!(
            r.properties["an execute's command runs at the replicas"], "reached",
            "{name}"
        );
        assert_eq!(r.properties["an RMW aborts"], "reached", "{name}");
    }
    assert!(ModelConfig::named(Algorithm::VivaceRw, "base+execute_at_replicas").is_none());
}

const PINNED_READ_OPT: [usize; 4] = [911468, 96227, 478978, 98886];

/// Section 3.4.2, delegating to a replica, in `tiny` (Algorithm 1; the
/// `vivace_rmw` one is the control of `delegation-fallback-new-timestamp`
/// in `tests/mutants.rs`), with the client's takeover at any moment its
/// delegate is at work. The configurations of record with faults let the
/// takeover wait for a quiet delegate (`ModelConfig::shrink_delegation`);
/// `takeover-crash` and `takeover-lossy` in `check --all` check the
/// takeover at any moment under faults, on three servers.
#[test]
fn delegation_holds_and_is_taken() {
    let cfg = ModelConfig::named(Algorithm::VivaceRw, "tiny+delegation").expect("named");
    assert_eq!(cfg.optimizations(), ["delegation"]);
    assert!(!cfg.takeover_waits_for_delegate);
    let r = proves(cfg, 385091);
    for p in [
        "an operation completes through its delegate",
        "a client takes its operation over from its delegate",
    ] {
        assert_eq!(r.properties[p], "reached", "{p}");
    }
    assert!(ModelConfig::named(Algorithm::Abd, "base+delegation").is_none());
    let crash = ModelConfig::named(Algorithm::VivaceRw, "crash+delegation").expect("named");
    assert!(crash.takeover_waits_for_delegate, "of record with faults");
    assert_eq!(crash.clients[0].ops.len(), 2, "with its own workload");
    let base = ModelConfig::named(Algorithm::VivaceRw, "base+delegation").expect("named");
    assert!(!base.takeover_waits_for_delegate, "takeover at any moment");
    assert_eq!(
        base.clients[1].ops,
        [vivace_spec::Op::Read],
        "one operation each"
    );
    let any = ModelConfig::named(Algorithm::VivaceRmw, "takeover-crash").expect("named");
    assert!(any.options.delegation && any.max_crashes == 1 && !any.takeover_waits_for_delegate);
}
