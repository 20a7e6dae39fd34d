//! 10% loss and 10% duplication of every datagram (the runtime's test-only
//! fault shim, on every node): operations still complete through
//! retransmission, and the history is linearizable.

mod common;

use common::{assert_linearizable, outcomes};
use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::net::Faults;
use vivace_impl::workload::{run_mixed, MixedConfig};

#[test]
fn loss_and_duplication() {
    let mut spec = LocalSpec::figure5(4);
    spec.options.faults = Some(Faults {
        loss: 0.10,
        duplicate: 0.10,
        seed: 99,
    });
    let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
    let cfg = MixedConfig {
        ops_per_client: 60,
        keys: 2,
        rmw_keys: 8,
        timeout: Duration::from_secs(20),
        seed: 3,
        ..MixedConfig::default()
    };
    let run = run_mixed(&mut cluster, &cfg, Vec::new()).expect("clients start");
    let (ok, _aborted, errors) = outcomes(&run.samples);
    assert_eq!(errors, 0, "retransmission completes every operation");
    assert!(ok >= 120, "only {ok} of 240 completed");
    let mut c = cluster.total_server_counters();
    c.add(&run.client_counters);
    assert!(
        c.shim_dropped > 0 && c.shim_duplicated > 0,
        "the shim acted: {c:?}"
    );
    assert_linearizable(&run, "faults");
}
