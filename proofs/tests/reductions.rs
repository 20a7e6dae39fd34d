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
            witness: true,
        },
    )
}

fn compare(full: ModelConfig, off: fn(&mut ModelConfig), what: &str) {
    compare_verdicts(full, off, what, true)
}

fn compare_verdicts(full: ModelConfig, off: fn(&mut ModelConfig), what: &str, must_shrink: bool) {
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
        !must_shrink || a.unique_states < b.unique_states,
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

#[test]
fn crash_split_keeps_every_verdict() {
    for a in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw] {
        let mut cfg = ModelConfig::tiny(a);
        cfg.name = "tiny-crash".into();
        cfg.max_crashes = 1;
        // The split searches the executions without a crash once per
        // class, so on models this small it can visit more states in all;
        // what it buys is the partial-order reduction before the crash.
        compare_verdicts(cfg, |c| c.split_crashes = false, "crash split", false);
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

/// Every history of client operations (invocations, their real-time order,
/// results) reachable in `cfg`: what the linearizability property judges.
fn histories(cfg: ModelConfig) -> std::collections::BTreeSet<String> {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    for part in vivace_proofs::run::crash_split(&cfg) {
        search_histories(part, seen.clone());
    }
    let out = seen.lock().unwrap().clone();
    out
}

fn search_histories(
    cfg: ModelConfig,
    sink: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
) {
    use stateright::{Checker, Model};
    let symmetric = cfg.symmetry;
    let mut model = vivace_proofs::model::VivaceModel::new(cfg);
    model.history_log = Some(sink);
    let mut b = model.checker().threads(1);
    if symmetric {
        b = b.symmetry();
    }
    let c = b.spawn_dfs().join();
    assert!(c.is_done());
}

/// A stronger test than equal verdicts: each reduction keeps exactly the
/// set of reachable histories. Dead messages are no-ops, the partial-order
/// reduction only postpones steps that change no history, and symmetry
/// renames servers, which histories do not name.
#[test]
fn every_reduction_keeps_the_reachable_histories() {
    let mut cases = Vec::new();
    for a in Algorithm::ALL {
        let mut tiny = ModelConfig::tiny(a);
        if a == Algorithm::VivaceRmw {
            // Two concurrent executes are too many states to search
            // without each reduction in turn here: one client, two executes.
            tiny.name = "one-client".into();
            tiny.clients.truncate(1);
            tiny.clients[0].ops = ModelConfig::small(a).clients[0].ops.clone();
        }
        let (crash, lossy) = with_faults(&tiny);
        cases.push(tiny.clone());
        cases.push(crash.clone());
        cases.push(lossy.clone());
        if a == Algorithm::VivaceRmw {
            // Section 3.4.2: EXEC, its parked waits, `exec_buf` and the
            // fallback to OR-DATA under every reduction.
            for mut c in [tiny, crash, lossy] {
                c.name = format!("{}+execute_at_replicas", c.name);
                c.options.execute_at_replicas = true;
                cases.push(c);
            }
        }
    }
    keep_the_reachable_histories(cases);
}

/// Section 3.4.2, delegating to a replica: a delegate's coordinators under
/// every reduction (their dead replies and requests, their replies in the
/// partial-order reduction, the delegate as a role of the symmetry): one
/// client, one write (one execute), with the takeover at any moment and,
/// where faults can happen, also once the delegate is quiet.
#[test]
fn every_reduction_keeps_the_reachable_histories_with_delegation() {
    let mut cases = Vec::new();
    for a in [Algorithm::VivaceRw, Algorithm::VivaceRmw] {
        let mut one = ModelConfig::tiny(a);
        // One operation: with two (a write, then a read) the searches
        // without each reduction take 232 s for Algorithm 1 alone.
        one.name = "one-op+delegation".into();
        one.clients.truncate(1);
        one.options.delegation = true;
        let (crash, lossy) = with_faults(&one);
        cases.push(one);
        for c in [crash, lossy] {
            let mut quiet = c.clone();
            quiet.name = format!("{}-quiet-delegate", c.name);
            quiet.takeover_waits_for_delegate = true;
            cases.push(c);
            cases.push(quiet);
        }
    }
    keep_the_reachable_histories(cases);
}

/// `cfg` where any one server may crash, and `cfg` on a lossy network
/// with retransmission (one loss).
fn with_faults(cfg: &ModelConfig) -> (ModelConfig, ModelConfig) {
    let mut crash = cfg.clone();
    crash.name = format!("{}-crash", cfg.name);
    crash.max_crashes = 1;
    let mut lossy = cfg.clone();
    lossy.name = format!("{}-lossy", cfg.name);
    lossy.network = vivace_proofs::config::Network::Lossy {
        drops: 1,
        spurious: 0,
    };
    lossy.options.retransmit = true;
    (crash, lossy)
}

fn keep_the_reachable_histories(cases: Vec<ModelConfig>) {
    for cfg in cases {
        let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
        let started = std::time::Instant::now();
        let reduced = histories(cfg.clone());
        type Off = fn(&mut ModelConfig);
        let offs: [(&str, Off); 4] = [
            ("dead-message collection", |c| {
                c.collect_dead_messages = false
            }),
            ("partial-order reduction", |c| c.partial_order = false),
            ("symmetry", |c| c.symmetry = false),
            ("crash split", |c| c.split_crashes = false),
        ];
        for (what, off) in offs {
            if what == "crash split" && cfg.max_crashes == 0 {
                continue;
            }
            // Without the collection, Algorithm 3's late requests make even
            // one client's two executes minutes of search, so the rule for
            // OR-TS, OR-DATA and OW-TS is not compared here (the others are,
            // through the other algorithms). A gap, noted in the README.
            if what == "dead-message collection" && cfg.algorithm == Algorithm::VivaceRmw {
                continue;
            }
            let mut without = cfg.clone();
            off(&mut without);
            let full = histories(without);
            assert!(full.len() > 1, "{name}");
            assert_eq!(
                reduced.len(),
                full.len(),
                "{name}: {what} changes the reachable histories"
            );
            assert_eq!(
                reduced, full,
                "{name}: {what} changes the reachable histories"
            );
        }
        eprintln!(
            "{name}: {} histories, {:.1} s",
            reduced.len(),
            started.elapsed().as_secs_f64()
        );
    }
}
