//! The `opts` experiment: what each read optimization of Section
//! 3.4.1 changes on the lab's network. For each set of switches, a fresh
//! Figure-5 cluster (Algorithm 1, 1 KiB values) and one reader in site A:
//! - **quiet**: reads of a key nobody writes (C1 and C2 hold): latency,
//!   phases per read, WAN bytes per read by class;
//! - **contended**: reads of a key a second client in site A overwrites
//!   back to back (C1 often fails): latency and phases per read;
//! each without and with the congestion of Figure 7. Then Algorithm 3's
//! execute with and without executing commands at replicas (Section
//! 3.4.2), and Algorithm 1's write under each clock mode.

use super::experiments::{summarize, ExpOptions, Summary};
use super::traffic::Flood;
use super::{interrupted, sleep, Lab, LabError};
use crate::client::Client;
use crate::cluster::{LocalCluster, LocalSpec};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vivace_spec::{Algorithm, Bytes, Command, TimestampMode};

/// One set of switches, named as in `check --json`'s `optimizations`.
#[derive(Clone, Copy, Debug)]
pub struct Switches {
    /// Section 3.4.1 write-back skipping (C1 and C2).
    pub writeback_skip: bool,
    /// Section 3.4.1 parallel write-back.
    pub parallel_writeback: bool,
    /// Section 3.4.1 reading data from fewer replicas.
    pub fewer_replicas: bool,
}

impl Switches {
    /// Every switch off: the pseudocode.
    pub const NONE: Switches = Switches {
        writeback_skip: false,
        parallel_writeback: false,
        fewer_replicas: false,
    };

    /// `none`, or the switches on joined by `+`.
    pub fn name(&self) -> String {
        let on: Vec<&str> = [
            (self.writeback_skip, "writeback_skip"),
            (self.parallel_writeback, "parallel_writeback"),
            (self.fewer_replicas, "fewer_replicas"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        if on.is_empty() {
            "none".into()
        } else {
            on.join("+")
        }
    }
}

/// The sets measured: the pseudocode, then each optimization added.
pub const SETS: [Switches; 5] = [
    Switches::NONE,
    Switches {
        writeback_skip: true,
        parallel_writeback: false,
        fewer_replicas: false,
    },
    Switches {
        writeback_skip: true,
        parallel_writeback: true,
        fewer_replicas: false,
    },
    Switches {
        writeback_skip: true,
        parallel_writeback: false,
        fewer_replicas: true,
    },
    Switches {
        writeback_skip: true,
        parallel_writeback: true,
        fewer_replicas: true,
    },
];

/// One row: a set of switches, a workload, congested or not.
#[derive(Clone, Debug, Serialize)]
pub struct OptRow {
    /// The switches (`none`, `writeback_skip+fewer_replicas`, ...).
    pub optimizations: String,
    /// `quiet` or `contended`.
    pub workload: &'static str,
    /// Whether the WAN was congested.
    pub congested: bool,
    /// Latency summary of the reads.
    pub summary: Summary,
    /// Phases per read (mean).
    pub phases_per_read: f64,
    /// Priority-class bytes on the WAN per read (quiet rows only: in the
    /// contended rows the writer's traffic is mixed in).
    pub wan_priority_per_read: Option<f64>,
    /// Normal-class bytes on the WAN per read (quiet rows only).
    pub wan_normal_per_read: Option<f64>,
    /// Bytes the client sent per operation, both classes (the delegation
    /// rows: what delegating saves the client).
    pub client_bytes_per_op: Option<f64>,
}

impl OptRow {
    /// A row from its reads: latencies, failures, phases started, and
    /// (quiet rows) the WAN bytes by class over the reads.
    fn new(
        set: Switches,
        workload: &'static str,
        congested: bool,
        lat: &[f64],
        failed: usize,
        phases: u64,
        wan: Option<(u64, u64)>,
    ) -> OptRow {
        let n = (lat.len() + failed).max(1) as f64;
        let op = format!("read ({workload} key)");
        OptRow {
            optimizations: set.name(),
            workload,
            congested,
            summary: summarize("opts", &set.name(), &op, congested, lat, failed),
            phases_per_read: phases as f64 / n,
            wan_priority_per_read: wan.map(|w| w.0 as f64 / n),
            wan_normal_per_read: wan.map(|w| w.1 as f64 / n),
            client_bytes_per_op: None,
        }
    }
}

fn value(n: u64) -> Bytes {
    let mut v = format!("{n:08}-").into_bytes();
    v.resize(1024, b'v');
    Bytes::from(v)
}

fn wan(cluster: &LocalCluster, client: &Client) -> (u64, u64) {
    let mut c = cluster.total_server_counters();
    c.add(&client.counters());
    (c.wan_bytes_priority, c.wan_bytes_normal)
}

/// Reads of `key` one at a time for `secs`: latencies (ms), failures and
/// phases started.
fn reads(client: &mut Client, key: &str, secs: u64) -> (Vec<f64>, usize, u64) {
    let (mut lat, mut failed) = (Vec::new(), 0);
    let phases0 = client.phases();
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end && !interrupted() {
        let t = Instant::now();
        match client.read(key) {
            Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
            Err(_) => failed += 1,
        }
    }
    (lat, failed, client.phases() - phases0)
}

/// The clock modes (`check --json`'s `clock`): timestamps from
/// synchronized clocks (the paper), from a majority (no clock), or from a
/// clock whose readings wait out an uncertainty (commit wait).
pub const CLOCKS: [(&str, TimestampMode, Duration); 3] = [
    ("synchronized", TimestampMode::Clock, Duration::ZERO),
    ("clock_free", TimestampMode::QueryMajority, Duration::ZERO),
    (
        "commit_wait 10 ms",
        TimestampMode::Clock,
        Duration::from_millis(10),
    ),
];

/// Write latency of Algorithm 1 under each of [`CLOCKS`], without and
/// with congestion, `o.seconds` per row.
pub fn clocks(lab: &Lab, o: &ExpOptions) -> Result<Vec<OptRow>, LabError> {
    let err = |e: String| LabError::Unavailable(format!("opts: {e}"));
    let mut rows = Vec::new();
    for (name, timestamps, uncertainty) in CLOCKS {
        let mut spec = LocalSpec::figure5(1);
        spec.containers = vec![("rw/".into(), Algorithm::VivaceRw)];
        spec.timestamps = timestamps;
        spec.clock_uncertainty = uncertainty;
        let mut cluster = lab.start_cluster(spec)?;
        let mut c = cluster.client(0).map_err(|e| err(e.to_string()))?;
        c.set_timeout(Duration::from_secs(10));
        for congested in [false, true] {
            let flood = congestion(lab, o, congested)?;
            let (mut lat, mut failed, mut n) = (Vec::new(), 0, 0);
            let phases0 = c.phases();
            let end = Instant::now() + Duration::from_secs(o.seconds);
            while Instant::now() < end && !interrupted() {
                let t = Instant::now();
                n += 1;
                match c.write("rw/w", value(n)) {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                    Err(_) => failed += 1,
                }
            }
            let phases = c.phases() - phases0;
            let mut row = OptRow::new(
                Switches::NONE,
                "write",
                congested,
                &lat,
                failed,
                phases,
                None,
            );
            row.optimizations = name.to_string();
            row.summary.system = name.to_string();
            row.summary.op = "write".into();
            rows.push(row);
            if let Some(f) = flood {
                f.stop();
            }
        }
        drop(cluster);
    }
    Ok(rows)
}

/// Section 3.4.2: Algorithm 3's execute with the command executed at the
/// replicas, off and on, without and with congestion, `o.seconds` per row.
/// A 16 KiB value, and a 1-byte append (the command travels, not the
/// value): latency, phases and WAN bytes per execute, one client alone on
/// its key.
pub fn executes(lab: &Lab, o: &ExpOptions) -> Result<Vec<OptRow>, LabError> {
    let err = |e: String| LabError::Unavailable(format!("opts: {e}"));
    let mut rows = Vec::new();
    for at_replicas in [false, true] {
        if interrupted() {
            break;
        }
        let mut spec = LocalSpec::figure5(1);
        spec.containers = vec![("rmw/".into(), Algorithm::VivaceRmw)];
        spec.execute_at_replicas = at_replicas;
        let mut cluster = lab.start_cluster(spec)?;
        let mut c = cluster.client(0).map_err(|e| err(e.to_string()))?;
        c.set_timeout(Duration::from_secs(10));
        let big = Bytes::from(vec![b'v'; 16 * 1024]);
        c.execute("rmw/k", Command::Append(big))
            .map_err(|e| err(e.to_string()))?;
        sleep(Duration::from_millis(500));
        for congested in [false, true] {
            let flood = congestion(lab, o, congested)?;
            let (mut lat, mut failed) = (Vec::new(), 0);
            let phases0 = c.phases();
            let w0 = wan(&cluster, &c);
            let end = Instant::now() + Duration::from_secs(o.seconds);
            while Instant::now() < end && !interrupted() {
                let t = Instant::now();
                match c.execute("rmw/k", Command::Append(Bytes::from("y"))) {
                    Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                    Err(_) => failed += 1,
                }
            }
            // The background propagation of the last values (without
            // the optimization) counts too.
            sleep(Duration::from_secs(1));
            let w1 = wan(&cluster, &c);
            let set = if at_replicas {
                "execute_at_replicas"
            } else {
                "none"
            };
            let mut row = OptRow::new(
                Switches::NONE,
                "execute",
                congested,
                &lat,
                failed,
                c.phases() - phases0,
                Some((w1.0 - w0.0, w1.1 - w0.1)),
            );
            row.optimizations = set.to_string();
            row.summary.system = set.to_string();
            row.summary.op = "execute (16 KiB value, 1-byte append)".into();
            rows.push(row);
            if let Some(f) = flood {
                f.stop();
            }
        }
        drop(cluster);
    }
    Ok(rows)
}

/// Section 3.4.2, delegating to a replica, off and on: Algorithm 1's read
/// (of a key nobody writes) and write, and Algorithm 3's execute (a 1-byte
/// append to a 1 KiB value), one client in site A alone on its keys,
/// without and with congestion, `o.seconds` per row. Latency, the
/// client's phases, WAN bytes and the bytes the client sends per
/// operation.
pub fn delegations(lab: &Lab, o: &ExpOptions) -> Result<Vec<OptRow>, LabError> {
    let err = |e: String| LabError::Unavailable(format!("opts: {e}"));
    let mut rows = Vec::new();
    for delegation in [false, true] {
        if interrupted() {
            break;
        }
        let mut spec = LocalSpec::figure5(1);
        spec.containers = vec![
            ("rw/".into(), Algorithm::VivaceRw),
            ("rmw/".into(), Algorithm::VivaceRmw),
        ];
        spec.delegation = delegation;
        let mut cluster = lab.start_cluster(spec)?;
        let mut c = cluster.client(0).map_err(|e| err(e.to_string()))?;
        c.set_timeout(Duration::from_secs(10));
        c.write("rw/r", value(0)).map_err(|e| err(e.to_string()))?;
        c.execute("rmw/x", Command::Append(value(0)))
            .map_err(|e| err(e.to_string()))?;
        sleep(Duration::from_millis(500));
        let set = if delegation { "delegation" } else { "none" };
        for congested in [false, true] {
            let flood = congestion(lab, o, congested)?;
            for (workload, label) in [
                ("read", "read (quiet key)"),
                ("write", "write"),
                ("execute", "execute (1 KiB value, 1-byte append)"),
            ] {
                let (mut lat, mut failed, mut n) = (Vec::new(), 0, 0u64);
                let phases0 = c.phases();
                let (w0, sent0) = (wan(&cluster, &c), c.counters());
                let end = Instant::now() + Duration::from_secs(o.seconds);
                while Instant::now() < end && !interrupted() {
                    let t = Instant::now();
                    n += 1;
                    let r = match workload {
                        "read" => c.read("rw/r").map(|_| ()),
                        "write" => c.write("rw/w", value(n)),
                        _ => c
                            .execute("rmw/x", Command::Append(Bytes::from("y")))
                            .map(|_| ()),
                    };
                    match r {
                        Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                        Err(_) => failed += 1,
                    }
                }
                // The background propagation of the last values counts too.
                sleep(Duration::from_secs(1));
                let (w1, sent1) = (wan(&cluster, &c), c.counters());
                let mut row = OptRow::new(
                    Switches::NONE,
                    workload,
                    congested,
                    &lat,
                    failed,
                    c.phases() - phases0,
                    Some((w1.0 - w0.0, w1.1 - w0.1)),
                );
                let sent = (sent1.sent_bytes_priority + sent1.sent_bytes_normal)
                    - (sent0.sent_bytes_priority + sent0.sent_bytes_normal);
                row.client_bytes_per_op = Some(sent as f64 / (lat.len() + failed).max(1) as f64);
                row.optimizations = set.to_string();
                row.summary.system = set.to_string();
                row.summary.op = label.into();
                rows.push(row);
            }
            if let Some(f) = flood {
                f.stop();
            }
        }
        drop(cluster);
    }
    Ok(rows)
}

/// The congestion flows for a row that wants them.
fn congestion(lab: &Lab, o: &ExpOptions, congested: bool) -> Result<Option<Flood>, LabError> {
    if !congested {
        return Ok(None);
    }
    let f = Flood::start(
        lab,
        o.flows,
        o.flood_mbit,
        Duration::from_secs(2 * o.seconds + 30),
    )?;
    sleep(Duration::from_secs(2));
    Ok(Some(f))
}

/// Runs every set of [`SETS`], `o.seconds` per row.
pub fn run(lab: &Lab, o: &ExpOptions) -> Result<Vec<OptRow>, LabError> {
    let err = |e: String| LabError::Unavailable(format!("opts: {e}"));
    let mut rows = Vec::new();
    for set in SETS {
        if interrupted() {
            break;
        }
        let mut spec = LocalSpec::figure5(2);
        spec.containers = vec![("rw/".into(), Algorithm::VivaceRw)];
        spec.writeback_skip = set.writeback_skip;
        spec.parallel_writeback = set.parallel_writeback;
        spec.fewer_replicas = set.fewer_replicas;
        let mut cluster = lab.start_cluster(spec)?;
        let mut reader = cluster.client(0).map_err(|e| err(e.to_string()))?;
        let mut writer = cluster.client(1).map_err(|e| err(e.to_string()))?;
        reader.set_timeout(Duration::from_secs(10));
        writer.set_timeout(Duration::from_secs(10));
        for key in ["rw/quiet", "rw/hot"] {
            writer
                .write(key, value(0))
                .map_err(|e| err(e.to_string()))?;
        }
        sleep(Duration::from_millis(500));
        for congested in [false, true] {
            let flood = congestion(lab, o, congested)?;
            // Quiet: nobody writes the key.
            let w0 = wan(&cluster, &reader);
            let (lat, failed, phases) = reads(&mut reader, "rw/quiet", o.seconds);
            let w1 = wan(&cluster, &reader);
            let wan_delta = Some((w1.0 - w0.0, w1.1 - w0.1));
            rows.push(OptRow::new(
                set, "quiet", congested, &lat, failed, phases, wan_delta,
            ));
            // Contended: the writer overwrites the key back to back.
            let stop = Arc::new(AtomicBool::new(false));
            let writing = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut n = 1;
                    while !stop.load(Ordering::Relaxed) {
                        let _ = writer.write("rw/hot", value(n));
                        n += 1;
                    }
                    writer
                })
            };
            let (lat, failed, phases) = reads(&mut reader, "rw/hot", o.seconds);
            stop.store(true, Ordering::Relaxed);
            writer = writing
                .join()
                .map_err(|_| err("the writer panicked".into()))?;
            rows.push(OptRow::new(
                set,
                "contended",
                congested,
                &lat,
                failed,
                phases,
                None,
            ));
            if let Some(f) = flood {
                f.stop();
            }
        }
    }
    Ok(rows)
}
