//! The paper's Figure 3 on loopback: with an emulated WAN between sites A
//! and B (normal datagrams delayed by D, priority ones by d, the runtime's
//! WAN shim), the common-case latencies follow the message-delay formulas:
//! ABD write 2D, Algorithm 1 write 2δ + 2d, Algorithm 2 execute 4D,
//! Algorithm 3 execute 4δ + 4d (δ ≈ 0 on loopback); reads with write-back
//! skipping: ABD 2D, Algorithm 1 2d + 2δ. The history stays linearizable.

mod common;

use common::assert_linearizable;
use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::net::WanDelay;
use vivace_impl::workload::{op_stats, run_mixed, MixedConfig};

#[test]
fn figure3_latencies() {
    let d_normal = 40u64; // D, ms
    let d_prio = 5u64; // d, ms
    let mut spec = LocalSpec::figure5(2);
    spec.options.wan = Some(WanDelay {
        normal: Duration::from_millis(d_normal),
        priority: Duration::from_millis(d_prio),
    });
    let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
    let cfg = MixedConfig {
        clients: 2,
        ops_per_client: 40,
        timeout: Duration::from_secs(10),
        ..MixedConfig::default()
    };
    let run = run_mixed(&mut cluster, &cfg, Vec::new()).expect("clients start");
    let stats = op_stats(&run.samples);
    let p50 = |a: &str, op: &str| -> u64 {
        let s = stats
            .iter()
            .find(|s| s.algorithm == a && s.op == op)
            .unwrap_or_else(|| panic!("no {a} {op}"));
        println!("{a} {op}: {:?}", s.latency);
        s.latency.p50_us / 1000
    };
    let (abd_w, abd_r) = (p50("abd", "write"), p50("abd", "read"));
    let (rw_w, rw_r) = (p50("vivace_rw", "write"), p50("vivace_rw", "read"));
    let (lan, rmw) = (p50("lan_rmw", "execute"), p50("vivace_rmw", "execute"));
    // Lower bounds: the formulas with δ = 0.
    assert!(
        abd_w >= 2 * d_normal && abd_r >= 2 * d_normal,
        "ABD {abd_w} {abd_r}"
    );
    assert!(lan >= 4 * d_normal, "Algorithm 2 {lan}");
    assert!(
        rw_w >= 2 * d_prio && rw_r >= 2 * d_prio,
        "Algorithm 1 {rw_w} {rw_r}"
    );
    assert!(rmw >= 4 * d_prio, "Algorithm 3 {rmw}");
    // Vivace does not wait for D in the common case.
    assert!(
        rw_w * 2 < abd_w,
        "write: Algorithm 1 {rw_w} ms vs ABD {abd_w} ms"
    );
    assert!(
        rw_r * 2 < abd_r,
        "read: Algorithm 1 {rw_r} ms vs ABD {abd_r} ms"
    );
    assert!(
        rmw * 2 < lan,
        "execute: Algorithm 3 {rmw} ms vs Algorithm 2 {lan} ms"
    );
    assert_linearizable(&run, "wan");
}
