//! The `load` experiment (Section 4.2's claim that prioritizing only the
//! small messages leaves more headroom): open-loop writes of large values
//! from site A at an offered data rate swept from 10% to 150% of the WAN
//! link, for Algorithms 1 and 3 (split messages), and for ABD and
//! Algorithm 2 with every message in the priority class (the obvious
//! alternative). Latency counts from the time an operation was due, so a
//! system that falls behind shows it. For Vivace it also records the
//! background propagation backlog (`local_buf` of the local replicas) and
//! how long the remote replicas take to catch up once the load stops.

use super::experiments::{summarize, Summary};
use super::{interrupted, sleep, Lab, LabError};
use crate::cluster::{prefix_of, LocalSpec};
use crate::pool::ClientPool;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use vivace_spec::{Algorithm, Bytes, Command, Op};

/// One step of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct LoadPoint {
    /// `vivace_rw`, `vivace_rmw`, `abd (all priority)`, `lan_rmw (all priority)`.
    pub system: String,
    /// Offered value bytes per second, as a fraction of the link rate.
    pub offered: f64,
    /// Operations per second offered.
    pub ops_per_s: f64,
    /// Value size, bytes.
    pub value_size: usize,
    /// Operations that completed.
    pub completed: usize,
    /// Operations that failed or never started before the step ended.
    pub failed: usize,
    /// Median latency from the due time, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// Bytes sent across the WAN per completed operation: priority class.
    pub wan_priority_per_op: f64,
    /// The same, normal class.
    pub wan_normal_per_op: f64,
    /// Largest propagation backlog seen (values not yet at a majority of
    /// replicas, summed over the local replicas).
    pub backlog_max_entries: u64,
    /// Its bytes.
    pub backlog_max_bytes: u64,
    /// Seconds from the end of the load until the backlog was empty
    /// (`None`: not within 30 s).
    pub drain_s: Option<f64>,
}

/// The systems of the sweep: algorithm, every message prioritized.
pub const SYSTEMS: [(Algorithm, bool); 4] = [
    (Algorithm::VivaceRw, false),
    (Algorithm::VivaceRmw, false),
    (Algorithm::Abd, true),
    (Algorithm::LanRmw, true),
];

impl LoadPoint {
    /// A step's point from its latency summary; WAN bytes not counted
    /// (NaN), no backlog.
    fn of(summary: &Summary, offered: f64, ops_per_s: f64, value_size: usize) -> LoadPoint {
        LoadPoint {
            system: summary.system.clone(),
            offered,
            ops_per_s,
            value_size,
            completed: summary.count,
            failed: summary.failed,
            p50_ms: summary.p50_ms,
            p90_ms: summary.p90_ms,
            p99_ms: summary.p99_ms,
            max_ms: summary.max_ms,
            wan_priority_per_op: f64::NAN,
            wan_normal_per_op: f64::NAN,
            backlog_max_entries: 0,
            backlog_max_bytes: 0,
            drain_s: None,
        }
    }

    /// The name of a system of the sweep.
    pub fn system_name(a: Algorithm, all_priority: bool) -> String {
        if all_priority {
            format!("{} (all priority)", a.name())
        } else {
            a.name().to_string()
        }
    }
}

/// Operations per second that offer `offered` of the link in values of
/// `value_size` bytes.
fn rate(lab: &Lab, offered: f64, value_size: usize) -> f64 {
    let link = f64::from(lab.wan.rate_mbit) * 1e6 / 8.0;
    offered * link / value_size as f64
}

fn value(client: usize, n: u64, size: usize) -> Bytes {
    let mut v = format!("{client}-{n}-").into_bytes();
    v.resize(size, b'd');
    Bytes::from(v)
}

/// Runs one step: a fresh Figure-5 cluster over the lab's two sites, then
/// `ops_per_s` writes (RW) or compare-and-swaps installing a new value
/// (RMW) of `value_size` bytes for `secs`, each client of a pool on its own
/// key. Returns the step and its summary line.
#[allow(clippy::too_many_arguments)]
pub fn step(
    lab: &Lab,
    a: Algorithm,
    all_priority: bool,
    offered: f64,
    value_size: usize,
    secs: u64,
    clients: usize,
) -> Result<(LoadPoint, Summary), LabError> {
    let ops_per_s = rate(lab, offered, value_size);
    let mut spec = LocalSpec::figure5(clients);
    spec.containers = vec![(prefix_of(a).to_string(), a)];
    spec.options.all_priority = all_priority;
    let err = |e: String| LabError::Unavailable(format!("load: {e}"));
    let mut cluster = lab.start_cluster(spec)?;
    let mut pool_clients = Vec::new();
    for i in 0..clients {
        let mut c = cluster.client(i).map_err(|e| err(e.to_string()))?;
        c.set_timeout(Duration::from_secs(20));
        pool_clients.push(c);
    }
    let mut pool = ClientPool::new(pool_clients).map_err(|e| err(e.to_string()))?;
    let wan0 = cluster.total_server_counters();
    let mut free: Vec<usize> = (0..clients).rev().collect();
    let mut due: VecDeque<Instant> = VecDeque::new();
    let mut started: Vec<Option<Instant>> = vec![None; clients];
    let mut last: Vec<Bytes> = vec![Bytes::default(); clients];
    let mut n = 0u64;
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut lat = Vec::new();
    let mut failed = 0usize;
    let (mut backlog_entries, mut backlog_bytes) = (0u64, 0u64);
    let mut sampled = start;
    let local = ["n1", "n4", "n5"];
    let mut k = 0u64;
    loop {
        let now = Instant::now();
        // Operations that became due.
        loop {
            let t = start + Duration::from_secs_f64(k as f64 / ops_per_s);
            if t > now || t >= end {
                break;
            }
            due.push_back(t);
            k += 1;
        }
        while let (Some(&t), Some(c)) = (due.front(), free.last().copied()) {
            n += 1;
            let v = value(c, n, value_size);
            let op = if a.is_rmw() {
                Op::Execute(Command::Cas {
                    from: last[c].clone(),
                    to: v.clone(),
                })
            } else {
                Op::Write(v.clone())
            };
            let key = Bytes::from(format!("{}load/{c}", prefix_of(a)));
            if let Err(e) = pool.start(c, key, op) {
                if std::env::var_os("VIVACE_LAB_DEBUG").is_some() {
                    eprintln!("load: start: {e}");
                }
                failed += 1;
            } else {
                free.pop();
                started[c] = Some(t);
                last[c] = v;
            }
            due.pop_front();
        }
        if now >= end && free.len() == clients {
            break;
        }
        if now >= end + Duration::from_secs(30) || interrupted() {
            break;
        }
        let next_due = start + Duration::from_secs_f64(k as f64 / ops_per_s);
        let wait = if now >= end {
            Duration::from_millis(5)
        } else {
            next_due
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(5))
        };
        for f in pool.wait(wait).map_err(|e| err(e.to_string()))? {
            let t = started[f.client].take().expect("a started operation");
            match f.result {
                Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                Err(e) => {
                    if std::env::var_os("VIVACE_LAB_DEBUG").is_some() {
                        let c = pool.clients()[f.client].counters();
                        eprintln!(
                            "load: client {} due at {:?} after {:?}: {e}; sent p/n {} {} received p/n {} {} send_failed {} dropped {}",
                            f.client, t - start, t.elapsed(), c.sent_priority, c.sent_normal, c.received_priority,
                            c.received_normal, c.send_failed, c.dropped_received()
                        );
                    }
                    failed += 1
                }
            }
            free.push(f.client);
        }
        if sampled.elapsed() >= Duration::from_millis(100) {
            let (e, b) = local.iter().fold((0, 0), |(e, b), n| {
                cluster
                    .server_counters(n)
                    .map_or((e, b), |c| (e + c.backlog_entries, b + c.backlog_bytes))
            });
            backlog_entries = backlog_entries.max(e);
            backlog_bytes = backlog_bytes.max(b);
            sampled = Instant::now();
        }
    }
    failed += due.len() + (clients - free.len());
    // The load stopped: how long until every value reached a majority?
    let stopped = Instant::now();
    let mut drain_s = None;
    while stopped.elapsed() < Duration::from_secs(30) && !interrupted() {
        sleep(Duration::from_millis(20));
        let left: u64 = local
            .iter()
            .filter_map(|n| cluster.server_counters(n))
            .map(|c| c.backlog_entries)
            .sum();
        if left == 0 {
            drain_s = Some(stopped.elapsed().as_secs_f64());
            break;
        }
    }
    let mut wan = cluster.total_server_counters();
    wan.add(&pool.clients().iter().fold(
        Default::default(),
        |mut t: crate::net::CounterSnapshot, c| {
            t.add(&c.counters());
            t
        },
    ));
    let ops = lat.len().max(1) as f64;
    let system = LoadPoint::system_name(a, all_priority);
    let op = format!(
        "{} at {:.0}% of the link",
        if a.is_rmw() { "execute" } else { "write" },
        offered * 100.0
    );
    let summary = summarize("load", &system, &op, false, &lat, failed);
    let point = LoadPoint {
        wan_priority_per_op: (wan.wan_bytes_priority - wan0.wan_bytes_priority) as f64 / ops,
        wan_normal_per_op: (wan.wan_bytes_normal - wan0.wan_bytes_normal) as f64 / ops,
        backlog_max_entries: backlog_entries,
        backlog_max_bytes: backlog_bytes,
        drain_s,
        ..LoadPoint::of(&summary, offered, ops_per_s, value_size)
    };
    Ok((point, summary))
}

/// The same open-loop schedule against etcd (three members, leader m1 in
/// site A, its peer traffic prioritized by the caller): `workers` threads
/// in site A, each with its own keep-alive connection to m1's gateway,
/// take the next due put in turn; latency counts from the due time, so a
/// cluster that falls behind shows it as for Vivace. etcd has no
/// propagation backlog and its WAN bytes are not counted (both reported
/// as not applicable).
pub fn etcd_step(
    lab: &Lab,
    offered: f64,
    value_size: usize,
    secs: u64,
    workers: usize,
) -> Result<(LoadPoint, Summary), LabError> {
    use super::etcd::{Etcd, EtcdClient};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    let ops_per_s = rate(lab, offered, value_size);
    let etcd = Etcd::start(lab)?;
    let mut conns = Vec::new();
    for _ in 0..workers {
        conns.push(etcd.client(lab)?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let results = Arc::new(Mutex::new((Vec::new(), 0usize)));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let give_up = end + Duration::from_secs(30);
    let ns = lab.ns_a.clone();
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(w, mut c)| {
            let (next, results, ns) = (next.clone(), results.clone(), ns.clone());
            std::thread::spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let due = start + Duration::from_secs_f64(k as f64 / ops_per_s);
                    if due >= end || interrupted() {
                        break;
                    }
                    if let Some(d) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(d);
                    }
                    let ok = Instant::now() < give_up
                        && c.put(
                            format!("load/{w}").as_bytes(),
                            value(w, k, value_size).as_slice(),
                        )
                        .is_ok();
                    let mut r = results.lock().expect("no worker panics holding it");
                    if ok {
                        r.0.push(due.elapsed().as_secs_f64() * 1e3);
                    } else {
                        r.1 += 1;
                        drop(r);
                        // A broken connection: open a new one, or stop.
                        match EtcdClient::connect_from(&ns, 0) {
                            Ok(n) => c = n,
                            Err(_) => break,
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    drop(etcd);
    let (lat, failed) = std::mem::take(&mut *results.lock().expect("workers joined"));
    // Puts that were due but never issued (every worker stopped early).
    let due_total = (secs as f64 * ops_per_s).ceil() as usize;
    let failed = failed.max(due_total.saturating_sub(lat.len()));
    let system = "etcd (peers prioritized)".to_string();
    let op = format!("put at {:.0}% of the link", offered * 100.0);
    let summary = summarize("load", &system, &op, false, &lat, failed);
    let point = LoadPoint::of(&summary, offered, ops_per_s, value_size);
    Ok((point, summary))
}
