//! The directory service (Section 3.1) on loopback: clients read container
//! metadata from the directory and cache it; the administrator moves a
//! container's replica set while clients run a mixed workload (they get
//! STALE, re-read the directory and resume; the history is linearizable);
//! the replica that left refuses the old epoch, and once it is killed
//! operations still complete; bad input (an INSTALL of an older epoch, a
//! nested wrapper, a bad `[directory]` section) is refused.

mod common;

use common::{assert_linearizable, outcomes};
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::config::ClusterConfig;
use vivace_impl::directory::ReconfigReport;
use vivace_impl::wire;
use vivace_impl::workload::{op_stats, run_mixed, Hook, MixedConfig};
use vivace_spec::{Algorithm, Command, Id, Msg};

fn spec(clients: usize) -> LocalSpec {
    let mut s = LocalSpec::figure5(clients);
    s.directory = true;
    s.containers = vec![
        ("rw/".into(), Algorithm::VivaceRw),
        ("rmw/".into(), Algorithm::VivaceRmw),
    ];
    s
}

fn ids(v: &[usize]) -> Vec<Id> {
    v.iter().map(|&i| Id::from(i)).collect()
}

fn print_report(r: &ReconfigReport) {
    println!(
        "reconfig {}: epoch {} -> {}, {} -> {}: {} keys, {} bytes copied, {} bytes installed ({} pages), {} retransmissions; seal {:.2} ms, copy {:.2} ms, install {:.2} ms, publish {:.2} ms, total {:.2} ms",
        r.prefix,
        r.from_epoch,
        r.to_epoch,
        r.from.replicas.join(","),
        r.to.replicas.join(","),
        r.keys,
        r.copied_bytes,
        r.installed_bytes,
        r.install_pages,
        r.retransmissions,
        r.seal_ms,
        r.copy_ms,
        r.install_ms,
        r.publish_ms,
        r.total_ms
    );
}

/// Sends `msg` from `sock` to `to` and returns the first message that
/// comes back within two seconds.
fn ask(sock: &UdpSocket, to: std::net::SocketAddr, msg: &Msg, reply_on: &UdpSocket) -> Msg {
    reply_on.set_nonblocking(false).unwrap();
    reply_on
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    sock.send_to(&wire::encode(msg).unwrap(), to).unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, _) = reply_on.recv_from(&mut buf).expect("an answer");
    wire::decode(&buf[..n]).expect("a valid message")
}

/// Test 1: the metadata comes from the directory, not from the file, and
/// each client reads it once per container, not once per operation.
#[test]
fn clients_read_metadata_from_the_directory_and_cache_it() {
    let mut s = spec(1);
    s.options.inspect_tos = true; // per-message counts at the servers
    let mut cluster = LocalCluster::start(&s).expect("cluster starts");
    // Before any client runs, rw/ moves to n2, n3, n4: the file still says
    // n1, n2, n3.
    let r = cluster
        .reconfig("rw/", &["n2", "n3", "n4"], &[])
        .expect("reconfig");
    print_report(&r);
    assert_eq!((r.from_epoch, r.to_epoch), (1, 2));
    let file = &cluster.config.containers[0];
    assert_eq!(
        (file.prefix.as_str(), &file.replicas[..]),
        ("rw/", &[1, 2, 3][..])
    );
    let before_n4 = cluster.server_counters("n4").unwrap();
    let mut c = cluster.client(0).unwrap();
    for i in 0..20 {
        c.write(format!("rw/k{}", i % 3), format!("v{i}")).unwrap();
        assert_eq!(
            c.read(format!("rw/k{}", i % 3)).unwrap(),
            vivace_spec::Bytes::from(format!("v{i}"))
        );
    }
    for _ in 0..10 {
        c.execute("rmw/counter", Command::Increment).unwrap();
    }
    let d = c.directory_stats();
    println!("client directory counts: {d:?}");
    assert_eq!(
        d.reads, 2,
        "one directory read per container for 50 operations"
    );
    assert_eq!(d.stale, 0, "the first read found epoch 2");
    let rw = c.cached("rw/").expect("rw/ cached");
    assert_eq!((rw.epoch, rw.replicas.clone()), (2, ids(&[2, 3, 4])));
    let rmw = c.cached("rmw/").expect("rmw/ cached");
    assert_eq!((rmw.epoch, rmw.replicas.clone()), (1, ids(&[1, 2, 3])));
    // n4 is a replica of rw/ only by the directory: it got the reads' R-TS.
    let rts = |c: &vivace_impl::net::CounterSnapshot| {
        c.tos_by_message
            .get("R-TS")
            .map_or(0, |m| m.values().sum::<u64>())
    };
    let after_n4 = cluster.server_counters("n4").unwrap();
    assert!(
        rts(&after_n4) >= rts(&before_n4) + 20,
        "n4 served the reads ({} R-TS)",
        rts(&after_n4) - rts(&before_n4)
    );
}

/// Test 2: while four clients run a mixed workload on an Algorithm 1 and
/// an Algorithm 3 container, the administrator moves rw/ and then rmw/
/// from n1, n2, n3 to n2, n3, n4. Clients get STALE, re-read the directory
/// and resume; n1 then refuses epoch-1 requests and is killed; every
/// operation completes and the history is linearizable.
#[test]
fn reconfigure_under_a_mixed_workload() {
    let mut cluster = LocalCluster::start(&spec(5)).expect("cluster starts");
    // Client 4's sockets: raw probes from a cluster address.
    let probe = cluster.take_sockets(4).expect("sockets of c4");
    let n1 = cluster.config.node("n1").unwrap().clone();
    let reports: Arc<Mutex<Vec<ReconfigReport>>> = Arc::default();
    let (r1, r2) = (reports.clone(), reports.clone());
    let hooks: Vec<Hook> = vec![
        (
            100,
            Box::new(move |c: &mut LocalCluster| {
                let r = c
                    .reconfig("rw/", &["n2", "n3", "n4"], &[])
                    .expect("rw/ moves");
                r1.lock().unwrap().push(r);
            }),
        ),
        (
            220,
            Box::new(move |c: &mut LocalCluster| {
                let r = c
                    .reconfig("rmw/", &["n2", "n3", "n4"], &[])
                    .expect("rmw/ moves");
                r2.lock().unwrap().push(r);
            }),
        ),
        (
            340,
            Box::new(move |c: &mut LocalCluster| {
                // The replica that left refuses requests of the old epoch.
                for key in ["rw/k0", "rmw/k0"] {
                    let rts = Msg::InEpoch {
                        epoch: 1,
                        replicas: None,
                        msg: Box::new(Msg::RTs {
                            req: 77,
                            key: key.into(),
                        }),
                    };
                    let a = ask(&probe.priority, n1.priority, &rts, &probe.priority);
                    assert_eq!(
                        a,
                        Msg::Stale {
                            req: 77,
                            epoch: 1,
                            sealed: true
                        },
                        "n1 for {key}"
                    );
                }
                assert!(c.kill("n1"), "n1 was running");
            }),
        ),
    ];
    let cfg = MixedConfig {
        clients: 4,
        ops_per_client: 150,
        keys: 3,
        rmw_keys: 8,
        algorithms: vec![Algorithm::VivaceRw, Algorithm::VivaceRmw],
        timeout: Duration::from_secs(10),
        seed: 17,
        ..MixedConfig::default()
    };
    let run = run_mixed(&mut cluster, &cfg, hooks).expect("clients start");
    for s in op_stats(&run.samples) {
        println!(
            "{} {}: ok {} aborted {} errors {} latency p50 {} us p99 {} us max {} us",
            s.algorithm,
            s.op,
            s.ok,
            s.aborted,
            s.errors,
            s.latency.p50_us,
            s.latency.p99_us,
            s.latency.max_us
        );
    }
    let reports = reports.lock().unwrap();
    for r in reports.iter() {
        print_report(r);
    }
    let d = run.directory;
    println!(
        "clients: {} directory reads, {} operations interrupted by STALE ({} reads started over, {} writes redone with their timestamp, {} executes aborted)",
        d.reads, d.stale, d.restarted, d.redone, d.aborted
    );
    let (ok, aborted, errors) = outcomes(&run.samples);
    println!(
        "{ok} ok, {aborted} aborted, {errors} errors in {:.2} s",
        run.seconds
    );
    assert_eq!(reports.len(), 2, "both moves happened");
    assert!(reports.iter().all(|r| r.to_epoch == 2));
    assert_eq!(run.samples.len(), 600);
    assert_eq!(errors, 0, "every operation completes");
    assert!(d.stale >= 4, "the clients were told their epoch is stale");
    assert!(
        d.reads >= d.stale + 4,
        "a first read per client and container, then one or more per STALE"
    );
    assert!(cluster.server_counters("n1").is_none(), "n1 is dead");
    assert_linearizable(&run, "directory-reconfig");
    // A client that starts now reads epoch 2 at once and works without n1.
    let admin = cluster.admin().expect("the administrator client");
    admin.write("rw/late", "after").unwrap();
    assert_eq!(
        admin.read("rw/late").unwrap(),
        vivace_spec::Bytes::from("after")
    );
    assert_eq!(admin.cached("rw/").map(|c| c.epoch), Some(2));
    assert_eq!(admin.directory_stats().stale, 0);
}

/// The figures of a larger move: rw/ holds 2,000 keys of 1 KiB when it
/// moves from n1, n2, n3 to n2, n3, n4 while four clients run; the report
/// gives the time of each step and the bytes copied, the clients' counts
/// the operations STALE interrupted. Every bulk key reads back from the
/// new replica set once n1 is dead.
#[test]
fn reconfigure_a_loaded_container() {
    let mut cluster = LocalCluster::start(&spec(5)).expect("cluster starts");
    let mut loader = cluster.client(4).unwrap();
    let value = |i: usize| format!("{i:04}-{}", "x".repeat(1019));
    for i in 0..2000 {
        loader.write(format!("rw/bulk-{i:04}"), value(i)).unwrap();
    }
    let reports: Arc<Mutex<Vec<ReconfigReport>>> = Arc::default();
    let r1 = reports.clone();
    let hooks: Vec<Hook> = vec![(
        200,
        Box::new(move |c: &mut LocalCluster| {
            let r = c
                .reconfig("rw/", &["n2", "n3", "n4"], &[])
                .expect("rw/ moves");
            r1.lock().unwrap().push(r);
        }),
    )];
    let cfg = MixedConfig {
        clients: 4,
        ops_per_client: 150,
        keys: 3,
        rmw_keys: 8,
        algorithms: vec![Algorithm::VivaceRw, Algorithm::VivaceRmw],
        timeout: Duration::from_secs(10),
        seed: 23,
        ..MixedConfig::default()
    };
    let run = run_mixed(&mut cluster, &cfg, hooks).expect("clients start");
    let r = reports.lock().unwrap()[0].clone();
    print_report(&r);
    let d = run.directory;
    let max = run.samples.iter().map(|s| s.latency).max().unwrap();
    println!(
        "clients: {} operations interrupted by STALE ({} restarted, {} redone, {} aborted), {} directory reads; slowest operation {:.1} ms",
        d.stale,
        d.restarted,
        d.redone,
        d.aborted,
        d.reads,
        max.as_secs_f64() * 1e3
    );
    assert_eq!(outcomes(&run.samples).2, 0, "every operation completes");
    assert!(r.keys >= 2003, "{} keys", r.keys);
    assert!(
        r.copied_bytes >= 2000 * 1024,
        "{} bytes copied",
        r.copied_bytes
    );
    assert_linearizable(&run, "directory-loaded");
    assert!(cluster.kill("n1"));
    for i in (0..2000).step_by(97) {
        let v = loader.read(format!("rw/bulk-{i:04}")).unwrap();
        assert_eq!(v, vivace_spec::Bytes::from(value(i)), "rw/bulk-{i:04}");
    }
}

/// Test 4: an INSTALL of an older epoch than the installed one is refused
/// and changes nothing; a datagram of nested wrappers is dropped and
/// counted; the server keeps serving.
#[test]
fn a_stale_install_is_refused() {
    let mut cluster = LocalCluster::start(&spec(2)).expect("cluster starts");
    let mut c = cluster.client(0).unwrap();
    c.write("rw/x", "good").unwrap();
    cluster
        .reconfig("rw/", &["n2", "n3", "n4"], &[])
        .expect("rw/ moves");
    let probe = cluster.take_sockets(1).expect("sockets of c1");
    let n2 = cluster.config.node("n2").unwrap().clone();
    let install = Msg::Install {
        req: 9,
        prefix: "rw/".into(),
        epoch: 1,
        entries: vec![vivace_spec::msg::KeyState {
            key: "rw/x".into(),
            ts: vivace_spec::Ts {
                time: u64::MAX / 2,
                node: 1,
            },
            ots: vivace_spec::Ts::ZERO,
            val: "evil".into(),
        }],
        last: true,
    };
    // INSTALL is normal class; ACK-INSTALL prioritized.
    let a = ask(&probe.normal, n2.normal, &install, &probe.priority);
    assert_eq!(
        a,
        Msg::AckInstall {
            req: 9,
            ok: false,
            epoch: 2
        }
    );
    // Nested wrappers: dropped and counted as malformed.
    let before = cluster.server_counters("n2").unwrap().dropped_malformed;
    let wrap = |m: Msg| Msg::InEpoch {
        epoch: 2,
        replicas: None,
        msg: Box::new(m),
    };
    let nested = wrap(wrap(Msg::RTs {
        req: 1,
        key: "rw/x".into(),
    }));
    probe
        .priority
        .send_to(&wire::encode(&nested).unwrap(), n2.priority)
        .unwrap();
    assert!(common::eventually(Duration::from_secs(5), || {
        cluster.server_counters("n2").unwrap().dropped_malformed > before
    }));
    // Nothing changed: the value is the one written.
    assert_eq!(c.read("rw/x").unwrap(), vivace_spec::Bytes::from("good"));
    let d = c.directory_stats();
    assert_eq!((d.stale, d.redone + d.restarted), (1, 1), "{d:?}");
}

/// Test 4: a bad `[directory]` section is refused with its file and line.
#[test]
fn a_bad_directory_section_names_the_line() {
    let text = "sites = [\"A\"]\n\
        [[nodes]]\nname = \"n1\"\nid = 1\nsite = \"A\"\npriority = \"127.0.0.1:1\"\nnormal = \"127.0.0.1:2\"\n\
        [[containers]]\nprefix = \"rw/\"\nalgorithm = \"abd\"\nreplicas = [\"n1\"]\n\
        [directory]\n\
        replicas = [\"n1\", \"n7\"]\n";
    let e = ClusterConfig::parse(text, "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.toml:13:"), "{e}");
    assert!(e.contains("\"n7\" is not a server"), "{e}");
    let empty = text.replace("[\"n1\", \"n7\"]", "[]");
    let e = ClusterConfig::parse(&empty, "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bad.toml:12:") && e.contains("empty replica set"),
        "{e}"
    );
}
