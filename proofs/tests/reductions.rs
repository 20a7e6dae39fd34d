//! The two reductions, garbage collection and symmetry, must keep every
//! reachable history (docs/proofs.md, "Reductions"). Each is switched off
//! in turn on configurations with at least 50 distinct histories and the
//! sets compared; each must also remove states, or it is not worth its
//! argument. The premises of garbage collection are checked by the search
//! itself on every run; a test below shows the auditor fails a search whose
//! handler breaks one.

use std::collections::BTreeSet;
use vivace_proofs::config::{ClientSpec, ModelConfig, A};
use vivace_proofs::run::{check, histories, RunOptions, Search};
use vivace_spec::{Algorithm, Bytes, Op};

fn write(v: &str) -> Op {
    Op::Write(Bytes::from(v))
}

/// `tiny`'s three servers with this workload.
fn on_three(algorithm: Algorithm, name: &str, ops: [Vec<Op>; 2]) -> ModelConfig {
    let mut cfg = ModelConfig::tiny(algorithm);
    cfg.name = name.into();
    cfg.clients = ops
        .into_iter()
        .map(|ops| ClientSpec { site: A, ops })
        .collect();
    cfg
}

type Off = fn(&mut ModelConfig);
const GARBAGE: (&str, Off) = ("garbage collection", |c| c.collect_dead_messages = false);
const SYMMETRY: (&str, Off) = ("symmetry", |c| c.symmetry = false);

/// The reachable histories with every reduction, then with `off` switched
/// off: equal, and at least `at_least` of them.
fn keeps_the_histories(cfg: ModelConfig, (what, off): (&str, Off), at_least: usize) {
    let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
    let started = std::time::Instant::now();
    let reduced = histories(cfg.clone(), 2);
    assert!(
        reduced.len() >= at_least,
        "{name}: {} histories, too few to tell reductions apart",
        reduced.len()
    );
    let mut without = cfg;
    off(&mut without);
    let full: BTreeSet<String> = histories(without, 2);
    let only_full: Vec<_> = full.difference(&reduced).take(3).collect();
    let only_reduced: Vec<_> = reduced.difference(&full).take(3).collect();
    assert!(
        only_full.is_empty() && only_reduced.is_empty(),
        "{name}: {what} changes the reachable histories: only without it {only_full:?}, \
         only with it {only_reduced:?}"
    );
    eprintln!(
        "{name}: {what} keeps {} histories, {:.1} s",
        reduced.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Two writes and two reads on three servers: 50 histories for ABD and
/// Algorithm 1.
fn two_writes_two_reads(a: Algorithm, switch: Option<&str>) -> ModelConfig {
    let mut cfg = on_three(
        a,
        "ww|rr",
        [vec![write("a"), write("b")], vec![Op::Read, Op::Read]],
    );
    if let Some(sw) = switch {
        cfg.name = format!("ww|rr+{sw}");
        let o = &mut cfg.options;
        match sw {
            "writeback_skip" => o.writeback_skip = true,
            "parallel_writeback" => o.parallel_writeback = true,
            "fewer_replicas" => o.fewer_replicas = true,
            "delegation" => o.delegation = true,
            _ => unreachable!("{sw}"),
        }
    }
    cfg
}

/// Symmetry keeps ABD's 50 histories, with and without write-back skipping.
#[test]
fn symmetry_keeps_the_histories_of_abd() {
    for sw in [None, Some("writeback_skip")] {
        keeps_the_histories(two_writes_two_reads(Algorithm::Abd, sw), SYMMETRY, 50);
    }
}

/// Symmetry keeps Algorithm 1's 50 histories, with each of Section 3.4's
/// switches that leaves a symmetry (`fewer_replicas` leaves none: see
/// `tests/symmetry.rs`).
#[test]
#[ignore = "long: cargo test --release -p vivace-proofs --test reductions -- --ignored"]
fn symmetry_keeps_the_histories_of_algorithm_1_with_each_switch() {
    for sw in [
        None,
        Some("writeback_skip"),
        Some("parallel_writeback"),
        Some("delegation"),
    ] {
        keeps_the_histories(two_writes_two_reads(Algorithm::VivaceRw, sw), SYMMETRY, 50);
    }
}

/// Symmetry keeps the histories of the RMW algorithms: Algorithm 2 with two
/// appends per client (305 histories); Algorithm 3 with one each, its only
/// two-client workload that can be searched (14 histories, see
/// docs/proofs.md), with and without executing at replicas.
#[test]
#[ignore = "long: cargo test --release -p vivace-proofs --test reductions -- --ignored"]
fn symmetry_keeps_the_histories_of_the_rmw_algorithms() {
    keeps_the_histories(ModelConfig::small(Algorithm::LanRmw), SYMMETRY, 50);
    keeps_the_histories(ModelConfig::tiny(Algorithm::VivaceRmw), SYMMETRY, 10);
    let exec = ModelConfig::named(Algorithm::VivaceRmw, "tiny+execute_at_replicas").expect("named");
    keeps_the_histories(exec, SYMMETRY, 2);
}

/// Garbage collection keeps the histories where the search without it
/// finishes in a test: `tiny` of ABD, Algorithm 1 and Algorithm 2 (without
/// it, Algorithm 3's `tiny` passes 33 million states). Its premises are
/// checked on every run instead (docs/proofs.md).
#[test]
fn garbage_collection_keeps_the_histories_of_tiny() {
    for a in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw] {
        keeps_the_histories(ModelConfig::tiny(a), GARBAGE, 2);
    }
}

/// The garbage-collection premises fail, and say which, when a handler
/// breaks them: with W-REMOTE storing a lower timestamp's value, a parked
/// R-DATA that was garbage stops being garbage (premise R).
#[test]
fn the_auditor_catches_a_handler_that_breaks_a_premise() {
    let mut cfg = ModelConfig::named(Algorithm::VivaceRw, "ties").expect("named");
    cfg.mutation = vivace_spec::Mutation::WRemoteStoresLower;
    let r = check(
        cfg,
        RunOptions {
            search: Search::Dfs,
            threads: 2,
            progress_every: None,
            ..Default::default()
        },
    );
    assert!(r.exhaustive);
    assert_eq!(r.premises, "violated");
    assert!(!r.proves(), "a search with a failed premise proves nothing");
    let breaches = r.breaches.expect("breaches listed");
    assert!(
        breaches.iter().any(|b| b.starts_with("premise R")),
        "{breaches:?}"
    );
}

/// The reductions together still let the checker find the bug of R-DATA
/// answering ⊥ while it waits for a value (`r-data-serves-bottom`) with a
/// writer and a reader that reads twice on three servers.
#[test]
fn reductions_do_not_hide_a_bug() {
    let mut cfg = on_three(
        Algorithm::VivaceRw,
        "w|rr",
        [vec![write("a")], vec![Op::Read, Op::Read]],
    );
    cfg.mutation = vivace_spec::Mutation::RDataServesBottom;
    assert!(cfg.symmetry && cfg.collect_dead_messages);
    let r = check(
        cfg,
        RunOptions {
            threads: 1,
            progress_every: None,
            ..Default::default()
        },
    );
    assert_eq!(r.properties["linearizable"], "violated");
}
