//! Workloads over an in-process cluster: the demo (all four algorithms,
//! history checked for linearizability) and the closed-loop benchmark.

use crate::client::{Client, ClientError};
use crate::cluster::{prefix_of, LocalCluster, LocalSpec};
use crate::history::{Recorder, Verdict};
use crate::net::{CounterSnapshot, Rng};
use crate::pool::ClientPool;
use crate::runtime::RuntimeError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vivace_spec::{Algorithm, Bytes, Command, Op, Ret};

/// One finished operation of a workload.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Algorithm of the object.
    pub algorithm: Algorithm,
    /// `read`, `write` or `execute`.
    pub op: &'static str,
    /// Latency.
    pub latency: Duration,
    /// `ok`, `aborted` or `error`.
    pub outcome: &'static str,
}

/// Latency percentiles, in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    /// Operations measured.
    pub count: usize,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Maximum.
    pub max_us: u64,
}

impl Percentiles {
    /// Percentiles of `lat` (any order).
    pub fn of(lat: &[Duration]) -> Percentiles {
        if lat.is_empty() {
            return Percentiles::default();
        }
        let mut v: Vec<u64> = lat.iter().map(|d| d.as_micros() as u64).collect();
        v.sort_unstable();
        let at = |q: f64| v[(((v.len() as f64) * q).ceil() as usize).clamp(1, v.len()) - 1];
        Percentiles {
            count: v.len(),
            p50_us: at(0.5),
            p90_us: at(0.9),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: *v.last().expect("non-empty"),
        }
    }
}

/// Datagrams and bytes of one class.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClassTraffic {
    /// Datagrams sent.
    pub datagrams: u64,
    /// UDP payload bytes sent.
    pub bytes: u64,
}

/// Traffic of a run, per class, over every node.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Traffic {
    /// Priority class (DSCP EF).
    pub priority: ClassTraffic,
    /// Normal class.
    pub normal: ClassTraffic,
    /// Received datagrams dropped (strangers, bad version, malformed).
    pub dropped: u64,
    /// Datagrams the sockets refused to send.
    pub send_failed: u64,
}

impl Traffic {
    /// From summed counters.
    pub fn from(c: &CounterSnapshot) -> Traffic {
        Traffic {
            priority: ClassTraffic {
                datagrams: c.sent_priority,
                bytes: c.sent_bytes_priority,
            },
            normal: ClassTraffic {
                datagrams: c.sent_normal,
                bytes: c.sent_bytes_normal,
            },
            dropped: c.dropped_received(),
            send_failed: c.send_failed + c.send_too_large,
        }
    }
}

/// Latencies of one algorithm and operation.
#[derive(Clone, Debug, Serialize)]
pub struct OpStats {
    /// Algorithm name.
    pub algorithm: &'static str,
    /// Operation.
    pub op: &'static str,
    /// Completed with a result.
    pub ok: usize,
    /// Aborted (RMW ⊥).
    pub aborted: usize,
    /// Other errors (timeouts, no quorum).
    pub errors: usize,
    /// Latency of the completed ones.
    pub latency: Percentiles,
}

/// Groups samples by algorithm and operation.
pub fn op_stats(samples: &[Sample]) -> Vec<OpStats> {
    let mut groups: BTreeMap<(Algorithm, &'static str), Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        groups.entry((s.algorithm, s.op)).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|((a, op), v)| {
            let lat: Vec<Duration> = v
                .iter()
                .filter(|s| s.outcome == "ok")
                .map(|s| s.latency)
                .collect();
            OpStats {
                algorithm: a.name(),
                op,
                ok: lat.len(),
                aborted: v.iter().filter(|s| s.outcome == "aborted").count(),
                errors: v.iter().filter(|s| s.outcome == "error").count(),
                latency: Percentiles::of(&lat),
            }
        })
        .collect()
}

/// Draws one random operation of a mixed workload: its name, key and
/// operation (RW: reads and writes of unique values; RMW: 70% increments,
/// 30% compare-and-swaps between small numbers).
fn next_op(
    rng: &mut Rng,
    algorithm: Algorithm,
    prefix: &str,
    keys: usize,
    read_percent: u64,
    value: &mut dyn FnMut() -> Bytes,
) -> (&'static str, Bytes, Op) {
    let key = Bytes::from(format!("{prefix}k{}", rng.next_u64() % keys as u64));
    if algorithm.is_rmw() {
        let cmd = if rng.next_u64() % 100 < 70 {
            Command::Increment
        } else {
            let from = (rng.next_u64() % 6).to_string();
            let to = (rng.next_u64() % 6).to_string();
            Command::Cas {
                from: from.into(),
                to: to.into(),
            }
        };
        ("execute", key, Op::Execute(cmd))
    } else if rng.next_u64() % 100 < read_percent {
        ("read", key, Op::Read)
    } else {
        ("write", key, Op::Write(value()))
    }
}

/// The sample of an operation that ended with `result`.
fn sample_of(
    algorithm: Algorithm,
    op: &'static str,
    latency: Duration,
    result: &Result<Ret, ClientError>,
) -> Sample {
    Sample {
        algorithm,
        op,
        latency,
        outcome: match result {
            Ok(_) => "ok",
            Err(ClientError::Aborted { .. }) => "aborted",
            Err(_) => "error",
        },
    }
}

/// Runs one random operation of a mixed workload on `client`.
fn mixed_op(
    client: &mut Client,
    rng: &mut Rng,
    algorithm: Algorithm,
    keys: usize,
    read_percent: u64,
    value: &mut dyn FnMut() -> Bytes,
) -> Sample {
    let (op, key, operation) = next_op(
        rng,
        algorithm,
        prefix_of(algorithm),
        keys,
        read_percent,
        value,
    );
    let start = Instant::now();
    let r = client.run(key, operation);
    sample_of(algorithm, op, start.elapsed(), &r)
}

/// A unique value of `size` bytes (at least the unique prefix).
fn unique_value(client: usize, n: u64, size: usize) -> Bytes {
    let mut s = format!("c{client}-{n}-");
    while s.len() < size {
        s.push('x');
    }
    Bytes::from(s)
}

/// A mixed concurrent workload: each client runs `ops_per_client`
/// operations, each on a random algorithm of `algorithms` and a random key
/// of its container (RW: reads and writes of unique values; RMW: increments
/// and compare-and-swaps), recording the history.
#[derive(Clone, Debug)]
pub struct MixedConfig {
    /// Concurrent clients (client actors `0..clients` of the cluster).
    pub clients: usize,
    /// Operations per client.
    pub ops_per_client: usize,
    /// Keys per RW container.
    pub keys: usize,
    /// Keys per RMW container. RMW operations that abort in their write
    /// phase have an unknown outcome, and each multiplies the checker's work
    /// on its key: RMW load is spread over more keys.
    pub rmw_keys: usize,
    /// Size of written values.
    pub value_size: usize,
    /// Percentage of reads among RW operations.
    pub read_percent: u64,
    /// Algorithms (containers of [`LocalSpec::figure5`]) to use.
    pub algorithms: Vec<Algorithm>,
    /// Deadline of each operation.
    pub timeout: Duration,
    /// Seed of the workload.
    pub seed: u64,
}

impl Default for MixedConfig {
    fn default() -> Self {
        MixedConfig {
            clients: 4,
            ops_per_client: 250,
            keys: 4,
            rmw_keys: 16,
            value_size: 100,
            read_percent: 50,
            algorithms: Algorithm::ALL.to_vec(),
            timeout: Duration::from_secs(5),
            seed: 1,
        }
    }
}

/// What a mixed run produced.
pub struct MixedRun {
    /// Every operation.
    pub samples: Vec<Sample>,
    /// The recorded history.
    pub recorder: Recorder,
    /// Counters of the clients.
    pub client_counters: CounterSnapshot,
    /// What the directory service (Section 3.1) made the clients do, summed.
    pub directory: vivace_spec::client::DirectoryStats,
    /// Wall time.
    pub seconds: f64,
}

/// Something to do to the cluster once this many operations completed.
pub type Hook = (usize, Box<dyn FnOnce(&mut LocalCluster)>);

/// Runs a [`MixedConfig`] workload; each hook runs (in order) once its
/// number of operations completed, while the clients keep going.
pub fn run_mixed(
    cluster: &mut LocalCluster,
    cfg: &MixedConfig,
    hooks: Vec<Hook>,
) -> Result<MixedRun, ClientError> {
    let recorder = Recorder::new();
    let progress = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut threads = Vec::new();
    for i in 0..cfg.clients {
        let mut c = cluster.client(i)?;
        c.record(recorder.clone());
        c.set_timeout(cfg.timeout);
        let cfg = cfg.clone();
        let progress = progress.clone();
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::new(cfg.seed.wrapping_mul(1000) + i as u64);
            let mut n = 0u64;
            let mut samples = Vec::new();
            for _ in 0..cfg.ops_per_client {
                let a = cfg.algorithms[(rng.next_u64() % cfg.algorithms.len() as u64) as usize];
                let mut value = || {
                    n += 1;
                    unique_value(i, n, cfg.value_size)
                };
                let keys = if a.is_rmw() { cfg.rmw_keys } else { cfg.keys };
                samples.push(mixed_op(
                    &mut c,
                    &mut rng,
                    a,
                    keys,
                    cfg.read_percent,
                    &mut value,
                ));
                progress.fetch_add(1, Ordering::Relaxed);
            }
            (samples, c.counters(), c.directory_stats())
        }));
    }
    for (at, hook) in hooks {
        while progress.load(Ordering::Relaxed) < at && !threads.iter().all(|t| t.is_finished()) {
            std::thread::sleep(Duration::from_millis(1));
        }
        hook(cluster);
    }
    let mut samples = Vec::new();
    let mut client_counters = CounterSnapshot::default();
    let mut directory = vivace_spec::client::DirectoryStats::default();
    for t in threads {
        let (s, c, d) = t.join().expect("client thread");
        samples.extend(s);
        client_counters.add(&c);
        directory.add(&d);
    }
    Ok(MixedRun {
        samples,
        recorder,
        client_counters,
        directory,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// What the demo measured.
#[derive(Clone, Debug, Serialize)]
pub struct DemoSummary {
    /// The checker's verdict on the recorded history.
    pub verdict: Verdict,
    /// Operations run.
    pub operations: usize,
    /// Wall time of the workload.
    pub seconds: f64,
    /// Time the checker took.
    pub check_seconds: f64,
    /// Latency per algorithm and operation.
    pub latency: Vec<OpStats>,
    /// Datagrams and bytes per class (servers and clients).
    pub traffic: Traffic,
    /// The history, in the checker's JSON-lines format.
    #[serde(skip)]
    pub history: String,
    /// Where the history was written (set by the caller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_file: Option<String>,
}

/// Starts a Figure-5 cluster with one container per algorithm, runs the
/// mixed workload, and checks the history.
pub fn demo(cfg: &MixedConfig) -> Result<DemoSummary, ClientError> {
    demo_with(cfg, crate::runtime::RuntimeOptions::default())
}

/// [`demo`] with runtime options for every node (e.g. an emulated WAN).
pub fn demo_with(
    cfg: &MixedConfig,
    options: crate::runtime::RuntimeOptions,
) -> Result<DemoSummary, ClientError> {
    let mut spec = LocalSpec::figure5(cfg.clients);
    spec.options = options;
    let mut cluster = LocalCluster::start(&spec)?;
    let run = run_mixed(&mut cluster, cfg, Vec::new())?;
    let mut counters = run.client_counters.clone();
    counters.add(&cluster.total_server_counters());
    drop(cluster);
    let history = run.recorder.to_jsonl();
    let t = Instant::now();
    let verdict = crate::history::check_jsonl(&history, Duration::from_secs(30));
    Ok(DemoSummary {
        verdict,
        operations: run.samples.len(),
        seconds: run.seconds,
        check_seconds: t.elapsed().as_secs_f64(),
        latency: op_stats(&run.samples),
        traffic: Traffic::from(&counters),
        history,
        history_file: None,
    })
}

/// Benchmark parameters.
#[derive(Clone, Debug, Serialize)]
pub struct BenchConfig {
    /// Concurrent closed-loop clients.
    pub clients: usize,
    /// Threads that drive the clients (each a [`ClientPool`]).
    pub client_threads: usize,
    /// Algorithm of the container.
    pub algorithm: &'static str,
    /// Percentage of reads (RW algorithms; RMW runs executes).
    pub read_percent: u64,
    /// Size of written values.
    pub value_size: usize,
    /// Number of keys.
    pub keys: usize,
    /// Every message in its own datagram (no batches).
    pub unbatched: bool,
    /// Measured duration.
    pub duration_s: f64,
}

/// What the benchmark measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Parameters.
    pub config: BenchConfig,
    /// Completed operations per second.
    pub throughput_ops_s: f64,
    /// Operations completed.
    pub completed: usize,
    /// Operations finished in any way (completed, aborted, failed).
    pub finished: usize,
    /// Latency of every completed operation.
    pub latency: Percentiles,
    /// Latency per operation.
    pub per_op: Vec<OpStats>,
    /// Aborted RMW operations / RMW operations.
    pub abort_rate: f64,
    /// Operations that failed otherwise.
    pub errors: usize,
    /// Datagrams and bytes per class, of the nodes [`BenchResult::traffic_scope`] names.
    pub traffic: Traffic,
    /// Whose datagrams [`BenchResult::traffic`] counts: `servers and
    /// clients` in process, `clients` against a cluster elsewhere.
    pub traffic_scope: &'static str,
    /// The clients' counters.
    #[serde(skip)]
    pub client_counters: CounterSnapshot,
}

/// Closed loop on an in-process Figure-5 cluster (see [`bench_clients`]).
pub fn bench(cfg: &BenchConfig, algorithm: Algorithm) -> Result<BenchResult, RuntimeError> {
    let mut spec = LocalSpec::figure5(cfg.clients);
    spec.containers = vec![(prefix_of(algorithm).to_string(), algorithm)];
    spec.options.unbatched = cfg.unbatched;
    let mut cluster = LocalCluster::start(&spec)?;
    let clients = (0..cfg.clients)
        .map(|i| cluster.client(i).map_err(runtime_error))
        .collect::<Result<Vec<_>, _>>()?;
    let mut r = bench_clients(cfg, algorithm, prefix_of(algorithm), clients)?;
    let mut counters = r.client_counters.clone();
    counters.add(&cluster.total_server_counters());
    r.traffic = Traffic::from(&counters);
    r.traffic_scope = "servers and clients";
    Ok(r)
}

/// Closed loop for the duration over the given clients (of any cluster,
/// in this process or not), on keys `{prefix}k0 .. k{keys-1}`: the clients
/// are spread over `client_threads` threads that each drive their share in
/// one [`ClientPool`]; each client starts its next operation as soon as
/// the previous one finished. Traffic counts the clients' datagrams only.
pub fn bench_clients(
    cfg: &BenchConfig,
    algorithm: Algorithm,
    prefix: &str,
    clients: Vec<Client>,
) -> Result<BenchResult, RuntimeError> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads_n = cfg.client_threads.clamp(1, clients.len().max(1));
    let mut shares: Vec<Vec<Client>> = (0..threads_n).map(|_| Vec::new()).collect();
    for (i, mut c) in clients.into_iter().enumerate() {
        c.set_timeout(Duration::from_secs(2));
        shares[i % threads_n].push(c);
    }
    let mut threads = Vec::new();
    for (t, share) in shares.into_iter().enumerate() {
        let mut pool = ClientPool::new(share).map_err(runtime_error)?;
        let cfg = cfg.clone();
        let stop = stop.clone();
        let prefix = prefix.to_string();
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::new(7 + t as u64);
            let mut n = 0u64;
            let mut samples = Vec::new();
            let mut started: Vec<(&'static str, Instant)> = Vec::with_capacity(pool.len());
            let mut next = |pool: &mut ClientPool, i: usize, rng: &mut Rng| {
                let mut value = || {
                    n += 1;
                    unique_value(t * 1_000 + i, n, cfg.value_size)
                };
                let (op, key, operation) = next_op(
                    rng,
                    algorithm,
                    &prefix,
                    cfg.keys,
                    cfg.read_percent,
                    &mut value,
                );
                let at = Instant::now();
                pool.start(i, key, operation).map(|()| (op, at))
            };
            for i in 0..pool.len() {
                let s = next(&mut pool, i, &mut rng).map_err(|e| e.to_string())?;
                started.push(s);
            }
            while !stop.load(Ordering::Relaxed) {
                for f in pool
                    .wait(Duration::from_millis(50))
                    .map_err(|e| e.to_string())?
                {
                    let (op, at) = started[f.client];
                    samples.push(sample_of(algorithm, op, at.elapsed(), &f.result));
                    if !stop.load(Ordering::Relaxed) {
                        started[f.client] =
                            next(&mut pool, f.client, &mut rng).map_err(|e| e.to_string())?;
                    }
                }
            }
            let mut counters = CounterSnapshot::default();
            for c in pool.clients() {
                counters.add(&c.counters());
            }
            Ok::<_, String>((samples, counters))
        }));
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(cfg.duration_s));
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    let mut counters = CounterSnapshot::default();
    for t in threads {
        let (s, c) = t
            .join()
            .expect("client thread")
            .map_err(RuntimeError::NotRunnable)?;
        samples.extend(s);
        counters.add(&c);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ok: Vec<Duration> = samples
        .iter()
        .filter(|s| s.outcome == "ok")
        .map(|s| s.latency)
        .collect();
    let rmw = samples.iter().filter(|s| s.op == "execute").count();
    let aborted = samples.iter().filter(|s| s.outcome == "aborted").count();
    Ok(BenchResult {
        config: cfg.clone(),
        throughput_ops_s: ok.len() as f64 / elapsed,
        completed: ok.len(),
        finished: samples.len(),
        latency: Percentiles::of(&ok),
        per_op: op_stats(&samples),
        abort_rate: if rmw == 0 {
            0.0
        } else {
            aborted as f64 / rmw as f64
        },
        errors: samples.iter().filter(|s| s.outcome == "error").count(),
        traffic: Traffic::from(&counters),
        traffic_scope: "clients",
        client_counters: counters,
    })
}

fn runtime_error(e: ClientError) -> RuntimeError {
    match e {
        ClientError::Runtime(r) => r,
        other => RuntimeError::NotRunnable(other.to_string()),
    }
}
