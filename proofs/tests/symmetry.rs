//! The symmetry reduction renames interchangeable servers; it is sound only
//! if every such renaming is an automorphism of the state graph, tie-breaks
//! by id included. Checked here on the reachable states, without the
//! reduction, of configurations with each optimization switch.

use vivace_proofs::config::ModelConfig;
use vivace_proofs::symmetry::check_automorphisms;
use vivace_spec::Algorithm;

fn holds(cfg: ModelConfig) {
    let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
    let groups = cfg.symmetric_groups();
    assert!(!groups.is_empty(), "{name}: no symmetry to check");
    let n = check_automorphisms(&cfg, &groups).unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!("{name}: {groups:?} are automorphisms on {n} states");
}

/// Algorithm 3 with one client (two concurrent executes have millions of
/// states without the reduction, and this check keeps every state).
fn one_client(mut cfg: ModelConfig) -> ModelConfig {
    cfg.clients.truncate(1);
    cfg
}

#[test]
fn renaming_interchangeable_servers_is_an_automorphism() {
    for a in [Algorithm::Abd, Algorithm::VivaceRw, Algorithm::LanRmw] {
        holds(ModelConfig::tiny(a));
    }
    holds(one_client(ModelConfig::small(Algorithm::VivaceRmw)));
    for name in ["tiny+writeback_skip", "tiny+parallel_writeback"] {
        holds(ModelConfig::named(Algorithm::VivaceRw, name).expect("named"));
    }
    holds(one_client(
        ModelConfig::named(Algorithm::VivaceRw, "small+delegation").expect("named"),
    ));
    for name in ["small+execute_at_replicas", "small+delegation"] {
        holds(one_client(
            ModelConfig::named(Algorithm::VivaceRmw, name).expect("named"),
        ));
    }
}

/// Reading from fewer replicas asks the lowest id among the replicas that
/// reported `mts`: swapping the two replicas of site B is not an
/// automorphism, and the check says so. So `symmetric_groups` keeps them
/// apart with that switch on.
#[test]
fn a_tie_break_by_id_is_not_a_symmetry() {
    let cfg = ModelConfig::named(Algorithm::VivaceRw, "tiny+fewer_replicas").expect("named");
    let err = check_automorphisms(&cfg, &[vec![1, 2]]).expect_err("not a symmetry");
    assert!(err.contains("swapping 1 and 2"), "{err}");
    assert!(cfg.symmetric_groups().iter().all(|g| !g.contains(&1)));
}
