//! Crash one replica (n2) and one local replica (n4) of the Figure-5
//! cluster in the middle of a run on all four algorithms: every operation
//! still completes and the history is linearizable.

mod common;

use common::{assert_linearizable, outcomes};
use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::workload::{run_mixed, Hook, MixedConfig};

#[test]
fn crash_a_replica_and_a_local_replica_mid_run() {
    let mut cluster = LocalCluster::start(&LocalSpec::figure5(4)).expect("cluster starts");
    let cfg = MixedConfig {
        ops_per_client: 250,
        keys: 3,
        rmw_keys: 16,
        timeout: Duration::from_secs(10),
        seed: 7,
        ..MixedConfig::default()
    };
    let hooks: Vec<Hook> = vec![
        (
            300,
            Box::new(|c: &mut LocalCluster| assert!(c.kill("n2"), "n2 was running")),
        ),
        (
            500,
            Box::new(|c: &mut LocalCluster| assert!(c.kill("n4"), "n4 was running")),
        ),
    ];
    let run = run_mixed(&mut cluster, &cfg, hooks).expect("clients start");
    for s in vivace_impl::workload::op_stats(&run.samples) {
        println!(
            "{} {}: ok {} aborted {} errors {} latency {:?}",
            s.algorithm, s.op, s.ok, s.aborted, s.errors, s.latency
        );
    }
    let (ok, _aborted, errors) = outcomes(&run.samples);
    assert_eq!(run.samples.len(), 1000);
    assert_eq!(errors, 0, "every operation completes despite the crashes");
    assert!(ok >= 500, "only {ok} completed");
    assert!(cluster.server_counters("n2").is_none(), "n2 is dead");
    assert_linearizable(&run, "crash");
}

#[test]
fn no_quorum_is_reported() {
    use vivace_impl::ClientError;
    let mut cluster = LocalCluster::start(&LocalSpec::figure5(1)).expect("cluster starts");
    let mut c = cluster.client(0).expect("client");
    c.set_timeout(Duration::from_millis(600));
    c.write("abd/x", "1").expect("write with every replica up");
    assert!(cluster.kill("n2") && cluster.kill("n3"));
    match c.write("abd/x", "2") {
        Err(ClientError::NoQuorum { got, needed, .. }) => {
            assert_eq!((got, needed), (1, 2));
        }
        other => panic!("expected NoQuorum, got {other:?}"),
    }
}

/// With a clock uncertainty, each clock reading waits it out (commit-wait)
/// before the write proceeds; the result stays linearizable.
#[test]
fn commit_wait() {
    let mut spec = LocalSpec::figure5(2);
    spec.clock_uncertainty = Duration::from_millis(20);
    let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
    let cfg = MixedConfig {
        clients: 2,
        ops_per_client: 20,
        algorithms: vec![vivace_spec::Algorithm::VivaceRw],
        read_percent: 0,
        ..MixedConfig::default()
    };
    let run = run_mixed(&mut cluster, &cfg, Vec::new()).expect("clients start");
    for s in &run.samples {
        assert_eq!(s.outcome, "ok");
        assert!(s.latency >= Duration::from_millis(20), "{:?}", s.latency);
    }
    assert_linearizable(&run, "commit-wait");
}

/// Section 3.4.2: the delegate (n1, the replica in the clients' site) is
/// killed mid-run; every client takes its operation over from it after its
/// delegation timeout, with the timestamp it gave n1, and the history is
/// linearizable (n1 is one replica of three and one local replica of three,
/// a minority of each).
#[test]
fn crash_the_delegate_mid_run() {
    let mut spec = LocalSpec::figure5(4);
    spec.delegation = true;
    spec.containers = vec![
        ("rw/".into(), vivace_spec::Algorithm::VivaceRw),
        ("rmw/".into(), vivace_spec::Algorithm::VivaceRmw),
    ];
    let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
    let cfg = MixedConfig {
        ops_per_client: 60,
        keys: 3,
        rmw_keys: 8,
        algorithms: vec![
            vivace_spec::Algorithm::VivaceRw,
            vivace_spec::Algorithm::VivaceRmw,
        ],
        timeout: Duration::from_secs(10),
        seed: 11,
        ..MixedConfig::default()
    };
    let hooks: Vec<Hook> = vec![(
        100,
        Box::new(|c: &mut LocalCluster| assert!(c.kill("n1"), "n1 was running")),
    )];
    let run = run_mixed(&mut cluster, &cfg, hooks).expect("clients start");
    let (ok, _aborted, errors) = outcomes(&run.samples);
    assert_eq!(run.samples.len(), 240);
    assert_eq!(errors, 0, "every operation completes without its delegate");
    assert!(ok >= 120, "only {ok} completed");
    assert_linearizable(&run, "crash-delegate");
}
