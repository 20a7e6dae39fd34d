//! Per algorithm: a Figure-5 cluster (5 servers), 4 concurrent clients,
//! 1000 mixed operations; the recorded history must be linearizable.

mod common;

use common::{assert_linearizable, outcomes};
use std::time::Duration;
use vivace_impl::cluster::{prefix_of, LocalCluster, LocalSpec};
use vivace_impl::workload::{run_mixed, MixedConfig};
use vivace_spec::Algorithm;

fn one(a: Algorithm) {
    one_with(a, true)
}

fn one_with(a: Algorithm, writeback_skip: bool) {
    let mut spec = LocalSpec::figure5(4);
    spec.writeback_skip = writeback_skip;
    one_spec(a, spec)
}

fn one_spec(a: Algorithm, mut spec: LocalSpec) {
    spec.containers = vec![(prefix_of(a).to_string(), a)];
    let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
    let cfg = MixedConfig {
        clients: 4,
        ops_per_client: 250,
        keys: 4,
        rmw_keys: 16,
        algorithms: vec![a],
        timeout: Duration::from_secs(10),
        seed: 42,
        ..MixedConfig::default()
    };
    let run = run_mixed(&mut cluster, &cfg, Vec::new()).expect("clients start");
    let (ok, aborted, errors) = outcomes(&run.samples);
    assert_eq!(run.samples.len(), 1000);
    assert_eq!(
        run.recorder.len(),
        2000,
        "an invocation and a completion each"
    );
    println!(
        "{}: {ok} ok, {aborted} aborted, in {:.3} s",
        a.name(),
        run.seconds
    );
    assert_eq!(errors, 0, "{}: no operation may time out", a.name());
    if !a.is_rmw() {
        assert_eq!(aborted, 0);
    }
    assert!(ok >= 500, "{}: only {ok} of 1000 completed", a.name());
    assert_linearizable(&run, a.name());
}

#[test]
fn abd_is_linearizable() {
    one(Algorithm::Abd);
}

#[test]
fn vivace_rw_is_linearizable() {
    one(Algorithm::VivaceRw);
}

#[test]
fn lan_rmw_is_linearizable() {
    one(Algorithm::LanRmw);
}

#[test]
fn vivace_rmw_is_linearizable() {
    one(Algorithm::VivaceRmw);
}

/// The clock-free write (timestamps from a majority, no clock): ABD's
/// original write, and Algorithm 1's with R-TS (clock modes).
#[test]
fn clock_free_writes_are_linearizable() {
    for (alg, prefix, name) in [
        (Algorithm::Abd, "abd/", "abd-query-majority"),
        (Algorithm::VivaceRw, "rw/", "vivace-rw-query-majority"),
    ] {
        let mut spec = LocalSpec::figure5(4);
        spec.containers = vec![(prefix.into(), alg)];
        spec.timestamps = vivace_spec::TimestampMode::QueryMajority;
        let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
        let cfg = MixedConfig {
            ops_per_client: 100,
            keys: 2,
            rmw_keys: 8,
            algorithms: vec![alg],
            ..MixedConfig::default()
        };
        let run = run_mixed(&mut cluster, &cfg, Vec::new()).expect("clients start");
        assert_eq!(outcomes(&run.samples).2, 0, "{name}: no operation fails");
        assert_linearizable(&run, name);
    }
}

/// The pseudocode exactly: reads always write back (Section 3.4.1 off).
#[test]
fn rw_algorithms_without_writeback_skipping() {
    one_with(Algorithm::Abd, false);
    one_with(Algorithm::VivaceRw, false);
}

/// Section 3.4.1's read optimizations on real sockets, each alone and
/// together: the parallel write-back and reading data from fewer replicas.
#[test]
fn read_optimizations_are_linearizable() {
    for (parallel, fewer) in [(true, false), (false, true), (true, true)] {
        let mut spec = LocalSpec::figure5(4);
        spec.writeback_skip = true;
        spec.parallel_writeback = parallel;
        spec.fewer_replicas = fewer;
        one_spec(Algorithm::VivaceRw, spec);
    }
}

/// Reading data from fewer replicas on real sockets: with every replica
/// up to date, a read sends one R-DATA instead of three (4 priority
/// datagrams instead of 6, the write-back skipped by C1 and C2), and the
/// value read is the one written.
#[test]
fn fewer_replicas_sends_one_r_data() {
    let mut per_read = Vec::new();
    for fewer in [false, true] {
        let mut spec = LocalSpec::figure5(1);
        spec.containers = vec![("rw/".into(), Algorithm::VivaceRw)];
        spec.fewer_replicas = fewer;
        let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
        let mut c = cluster.client(0).expect("client");
        c.write("rw/k", "v").expect("write");
        // Let the propagation reach every replica, so that the replica
        // picked has the value at once.
        std::thread::sleep(Duration::from_millis(200));
        let before = c.counters().sent_priority;
        for _ in 0..10 {
            assert_eq!(c.read("rw/k").expect("read").as_slice(), b"v");
        }
        per_read.push((c.counters().sent_priority - before) as f64 / 10.0);
    }
    assert_eq!(
        per_read,
        [6.0, 4.0],
        "priority datagrams per read, off and on"
    );
}

/// Section 3.4.2, executing commands at replicas, on real sockets.
#[test]
fn execute_at_replicas_is_linearizable() {
    let mut spec = LocalSpec::figure5(4);
    spec.execute_at_replicas = true;
    one_spec(Algorithm::VivaceRmw, spec);
}

/// Executing commands at replicas moves the command, not the value: with
/// a 4 KiB value and a 1-byte append, the client sends no normal-class
/// byte (no W-LOCAL of the value) and no value crosses the WAN (no
/// ACK-OR-DATA from site B, no W-REMOTE); without it, the client sends
/// the value to its three local replicas and W-REMOTE carries it to the two
/// replicas in site B. The results are the same either way.
#[test]
fn execute_at_replicas_sends_the_command_not_the_value() {
    use vivace_spec::{Bytes, Command};
    let big = "x".repeat(4096);
    let mut results = Vec::new();
    let mut per_exec = Vec::new();
    for at_replicas in [false, true] {
        let mut spec = LocalSpec::figure5(1);
        spec.containers = vec![("rmw/".into(), Algorithm::VivaceRmw)];
        spec.execute_at_replicas = at_replicas;
        let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
        let mut c = cluster.client(0).expect("client");
        c.execute("rmw/k", Command::Append(Bytes::from(big.as_str())))
            .expect("first execute");
        std::thread::sleep(Duration::from_millis(300));
        let (client0, wan0) = (
            c.counters().sent_bytes_normal,
            cluster.total_server_counters().wan_bytes_normal,
        );
        let mut last = Bytes::from("");
        for _ in 0..10 {
            last = c
                .execute("rmw/k", Command::Append(Bytes::from("y")))
                .expect("execute");
        }
        std::thread::sleep(Duration::from_millis(300));
        let client = (c.counters().sent_bytes_normal - client0) / 10;
        let wan = (cluster.total_server_counters().wan_bytes_normal - wan0) / 10;
        println!("execute_at_replicas={at_replicas}: per execute, client normal bytes {client}, WAN normal bytes {wan}");
        per_exec.push((client, wan));
        results.push(last);
    }
    assert_eq!(results[0], results[1], "same result either way");
    assert_eq!(results[1].len(), 4096 + 10);
    let ((client_off, wan_off), (client_on, wan_on)) = (per_exec[0], per_exec[1]);
    assert!(
        client_off >= 3 * 4096,
        "W-LOCAL of the value to 3 local replicas: {client_off}"
    );
    assert!(
        wan_off >= 2 * 4096,
        "W-REMOTE of the value to site B: {wan_off}"
    );
    assert_eq!(
        client_on, 0,
        "the client sends only EXEC and OW-TS (priority)"
    );
    assert_eq!(wan_on, 0, "no value crosses the WAN");
}

/// Section 3.4.2, delegating to a replica, on real sockets: Algorithms 1
/// and 3 with every operation sent to n1, which coordinates it.
#[test]
fn delegation_is_linearizable() {
    for a in [Algorithm::VivaceRw, Algorithm::VivaceRmw] {
        let mut spec = LocalSpec::figure5(4);
        spec.delegation = true;
        one_spec(a, spec);
    }
}

/// Delegation saves the client's bandwidth (Section 3.4.2): one datagram
/// out and one in per operation, all with n1, whatever the algorithm's
/// phases; without it, a client's Algorithm 1 write sends W-LOCAL to three
/// local replicas and W-TS to three replicas.
#[test]
fn delegation_sends_one_datagram_per_operation() {
    let mut per_op = Vec::new();
    for delegation in [false, true] {
        let mut spec = LocalSpec::figure5(1);
        spec.containers = vec![("rw/".into(), Algorithm::VivaceRw)];
        spec.delegation = delegation;
        let mut cluster = LocalCluster::start(&spec).expect("cluster starts");
        let mut c = cluster.client(0).expect("client");
        let before = c.counters();
        for i in 0..10 {
            c.write("rw/k", format!("v{i}")).expect("write");
            assert_eq!(
                c.read("rw/k").expect("read").as_slice(),
                format!("v{i}").as_bytes()
            );
        }
        let after = c.counters();
        let sent =
            (after.sent_priority + after.sent_normal) - (before.sent_priority + before.sent_normal);
        per_op.push(sent as f64 / 20.0);
    }
    println!("datagrams a client sends per operation, off and on: {per_op:?}");
    assert!(per_op[0] >= 4.0, "without delegation: {}", per_op[0]);
    assert_eq!(per_op[1], 1.0, "one DELEGATE per operation");
}
