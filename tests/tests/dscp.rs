//! DSCP marks on the wire: every node reads the TOS byte of each datagram
//! it receives (IP_RECVTOS / IPV6_RECVTCLASS); every priority-class message
//! must carry 0xb8 and every normal-class message the normal mark (0), for
//! each algorithm.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;
use vivace_impl::cluster::{prefix_of, LocalCluster, LocalSpec};
use vivace_impl::net::CounterSnapshot;
use vivace_impl::wire;
use vivace_impl::workload::{run_mixed, MixedConfig};
use vivace_spec::{Algorithm, Class};

fn expected(a: Algorithm) -> &'static [&'static str] {
    match a {
        Algorithm::Abd => &["QUERY", "ACK-QUERY", "STORE", "ACK-STORE"],
        Algorithm::VivaceRw => &[
            "R-TS",
            "ACK-R-TS",
            "R-DATA",
            "ACK-R-DATA",
            "W-TS",
            "ACK-W-TS",
            "W-LOCAL",
            "ACK-W-LOCAL",
            "W-REMOTE",
            "ACK-W-REMOTE",
        ],
        Algorithm::LanRmw => &["OR", "ACK-OR", "OW", "ACK-OW"],
        Algorithm::VivaceRmw => &[
            "OR-TS",
            "ACK-OR-TS",
            "OR-DATA",
            "ACK-OR-DATA",
            "W-LOCAL",
            "ACK-W-LOCAL",
            "OW-TS",
            "ACK-OW-TS",
            "W-REMOTE",
            "ACK-W-REMOTE",
        ],
    }
}

fn run(a: Algorithm, ipv6: bool) -> Option<CounterSnapshot> {
    run_with(a, ipv6, false)
}

fn run_with(a: Algorithm, ipv6: bool, dual: bool) -> Option<CounterSnapshot> {
    let mut spec = LocalSpec::figure5(2);
    spec.containers = vec![(prefix_of(a).to_string(), a)];
    spec.options.inspect_tos = true;
    spec.ipv6 = ipv6;
    spec.dual_stack_servers = dual;
    let mut cluster = match LocalCluster::start(&spec) {
        Ok(c) => c,
        Err(e) if ipv6 || dual => {
            eprintln!("skipping the IPv6 run: cannot bind on ::1 ({e})");
            return None;
        }
        Err(e) => panic!("cluster starts: {e}"),
    };
    let cfg = MixedConfig {
        clients: 2,
        ops_per_client: 40,
        keys: 2,
        rmw_keys: 8,
        algorithms: vec![a],
        timeout: Duration::from_secs(5),
        ..MixedConfig::default()
    };
    let r = run_mixed(&mut cluster, &cfg, Vec::new()).expect("clients start");
    let mut c = cluster.total_server_counters();
    c.add(&r.client_counters);
    Some(c)
}

fn check(a: Algorithm, c: &CounterSnapshot) {
    let class: BTreeMap<&str, Class> = wire::examples(1, 1)
        .iter()
        .map(|m| (m.name(), m.class()))
        .collect();
    println!("{}: TOS seen per message: {:?}", a.name(), c.tos_by_message);
    assert_eq!(
        c.tos_mismatch,
        [0, 0],
        "{}: a datagram carried the wrong mark",
        a.name()
    );
    for (name, seen) in &c.tos_by_message {
        let want = match class[name.as_str()] {
            Class::Priority => 0xb8u8,
            Class::Normal => 0,
        };
        assert!(
            seen.keys().all(|&t| t == want),
            "{}: {name} arrived with TOS {seen:?}, expected {want:#x}",
            a.name()
        );
    }
    for name in expected(a) {
        assert!(
            c.tos_by_message.contains_key(*name),
            "{}: no {name} was observed",
            a.name()
        );
    }
    assert!(c.tos_checked[1] > 0);
    if a.uses_local_set() {
        assert!(
            c.tos_checked[0] > 0,
            "{}: priority messages were seen",
            a.name()
        );
    } else {
        assert_eq!(
            c.tos_checked[0],
            0,
            "{}: sends nothing prioritized",
            a.name()
        );
    }
}

#[test]
fn marks_per_class_ipv4() {
    for a in Algorithm::ALL {
        let c = run(a, false).expect("IPv4 loopback");
        check(a, &c);
    }
}

#[test]
fn marks_per_class_ipv6() {
    for a in [Algorithm::VivaceRw, Algorithm::VivaceRmw] {
        if let Some(c) = run(a, true) {
            check(a, &c);
        }
    }
}

/// Servers on dual-stack IPv6 sockets, clients on IPv4: the servers send to
/// IPv4-mapped addresses, where only `IP_TOS` marks the datagrams.
#[test]
fn marks_per_class_dual_stack_servers() {
    for a in [Algorithm::VivaceRw, Algorithm::VivaceRmw] {
        if let Some(c) = run_with(a, false, true) {
            check(a, &c);
        }
    }
}
