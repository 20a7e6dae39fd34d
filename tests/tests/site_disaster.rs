//! Section 4.3, a site disaster on loopback: values written while the WAN
//! holds normal-class traffic (3 s one way; timestamps cross in 1 ms) are
//! acknowledged but not yet at site B when every server of site A is
//! destroyed. `vivace audit` must list exactly those keys, missing at both
//! replicas of site B, and report the dead servers as silent; a read of a
//! lost key must fail with `ValueLost` within its deadline, and a read of a
//! key propagated before the disaster must still return its value.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use vivace_impl::audit::audit;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::net::WanDelay;
use vivace_impl::ClientError;
use vivace_spec::Algorithm;

#[test]
fn audit_lists_exactly_the_writes_lost_with_site_a() {
    let mut spec = LocalSpec::figure5(2);
    spec.containers = vec![("rw/".into(), Algorithm::VivaceRw)];
    spec.options.wan = Some(WanDelay {
        normal: Duration::from_secs(3),
        priority: Duration::from_millis(1),
    });
    let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
    let mut c = cluster.client(0).expect("client");
    c.set_timeout(Duration::from_secs(2));
    // Propagated: written, then 4 s for the values to cross.
    for i in 0..5 {
        c.write(format!("rw/k{i}"), format!("old{i}"))
            .expect("write");
    }
    std::thread::sleep(Duration::from_secs(4));
    // Acknowledged, not propagated: k3 and k4 are overwritten.
    let mut lost = BTreeSet::new();
    for i in 3..8 {
        c.write(format!("rw/k{i}"), format!("new{i}"))
            .expect("write");
        lost.insert(format!("rw/k{i}"));
    }
    // The disaster: every server of site A, well within the 3 s.
    for n in ["n1", "n4", "n5"] {
        assert!(cluster.kill(n), "{n} was running");
    }
    // The audit, from client c1's addresses (site B's answers are normal
    // class: they take the WAN's 3 s too).
    drop(cluster.take_sockets(1));
    let t0 = Instant::now();
    let r = audit(&cluster.config, "c1", Duration::from_secs(4)).expect("audit runs");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "one round: every server at once"
    );
    assert_eq!(
        r.lost.keys().cloned().collect::<BTreeSet<_>>(),
        lost,
        "exactly the lost writes"
    );
    for (key, (_, at)) in &r.lost {
        assert_eq!(
            at,
            &["n2", "n3"],
            "{key}: missing at both replicas of site B"
        );
    }
    assert_eq!(r.answered, ["n2", "n3"]);
    assert_eq!(r.silent, ["n1", "n4", "n5"]);
    // A lost key: a clear error within the deadline, not a hang.
    let t = Instant::now();
    match c.read("rw/k5") {
        Err(ClientError::ValueLost(Some(_))) => {}
        other => panic!("read of a lost key: {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(3), "bounded wait");
    // A key propagated before the disaster is still there (its value comes
    // back across the slow WAN: 3 s).
    c.set_timeout(Duration::from_secs(8));
    assert_eq!(c.read("rw/k0").expect("read").as_slice(), b"old0");
}
