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
    let r = check(crash(ModelConfig::tiny(Algorithm::VivaceRw)), one_thread());
    assert_eq!(r.properties["durable"], "violated");
    assert_eq!(r.properties["linearizable"], "holds");
    assert!(r
        .counterexample
        .as_ref()
        .is_some_and(|c| c.iter().any(|s| s.contains("crashes"))));
}

/// A lossy network with retransmission: idempotent handlers.
#[test]
fn lossy_tiny() {
    for (i, a) in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw]
        .into_iter()
        .enumerate()
    {
        proves(lossy(ModelConfig::tiny(a)), PINNED_LOSSY[i]);
    }
}

/// ABD at `small`: two clients, each a write then a read.
#[test]
fn abd_small() {
    proves(ModelConfig::small(Algorithm::Abd), PINNED_SMALL_ABD);
}

const PINNED: [usize; 4] = [1870, 20438, 30980, 2628307];
const PINNED_CRASH: [usize; 2] = [5864, 90283];
const PINNED_LOSSY: [usize; 3] = [16460, 1918522, 291833];
const PINNED_SMALL_ABD: usize = 924596;
