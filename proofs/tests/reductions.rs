//! The reductions (symmetry, partial-order reduction, collection of dead
//! messages) must not change any verdict: each is switched off in turn on
//! small configurations and the verdicts compared; each must also remove
//! states, or it is not worth its argument.

use vivace_proofs::config::ModelConfig;
use vivace_proofs::run::{check, Report, RunOptions, Search};
use vivace_spec::Algorithm;

fn run(cfg: ModelConfig) -> Report {
    check(
        cfg,
        RunOptions {
            search: Search::Dfs,
            threads: 1,
            stop_at_violation: false,
            progress_every: None,
        },
    )
}

fn compare(full: ModelConfig, off: fn(&mut ModelConfig), what: &str) {
    let mut without = full.clone();
    off(&mut without);
    let name = format!("{}/{}", full.algorithm.name(), full.name);
    let (a, b) = (run(full), run(without));
    assert!(a.exhaustive && b.exhaustive, "{name}");
    assert_eq!(
        a.properties, b.properties,
        "{name}: verdicts differ without {what}"
    );
    assert!(
        a.unique_states < b.unique_states,
        "{name}: {what} removed no state ({} vs {})",
        a.unique_states,
        b.unique_states
    );
}

#[test]
fn symmetry_keeps_every_verdict() {
    for a in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw] {
        compare(ModelConfig::tiny(a), |c| c.symmetry = false, "symmetry");
    }
}

#[test]
fn partial_order_reduction_keeps_every_verdict() {
    for a in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw] {
        compare(
            ModelConfig::tiny(a),
            |c| c.partial_order = false,
            "partial-order reduction",
        );
    }
}

#[test]
fn collecting_dead_messages_keeps_every_verdict() {
    for a in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw] {
        compare(
            ModelConfig::tiny(a),
            |c| c.collect_dead_messages = false,
            "dead-message collection",
        );
    }
}

/// The reductions together still let the checker find a real bug: with all
/// of them on, a mutant that reads without writing back is refuted.
#[test]
fn reductions_do_not_hide_a_bug() {
    let mut cfg = vivace_proofs::mutants::all()
        .into_iter()
        .find(|m| m.name == "abd-read-skips-write-back")
        .map(|m| (m.config)())
        .expect("mutant exists");
    // Mutations switch the partial-order reduction off by themselves; the
    // symmetry and dead-message collection stay on.
    assert!(cfg.symmetry && cfg.collect_dead_messages);
    cfg.name = "writer-reader".into();
    let r = run(cfg);
    assert_eq!(r.properties["linearizable"], "violated");
}
