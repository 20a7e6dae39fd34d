//! `vivace`: run a server, talk to a cluster, run the demo or the benchmark.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use vivace_impl::client::Client;
use vivace_impl::config::{ClusterConfig, Role};
use vivace_impl::curves::{run_curves, CurveSpec};
use vivace_impl::runtime::RuntimeError;
use vivace_impl::runtime::{serve, RuntimeOptions};
use vivace_impl::workload::{
    bench, bench_clients, demo_with, BenchConfig, BenchResult, DemoSummary, MixedConfig,
};
use vivace_impl::{history::Recorder, wire};
use vivace_spec::{Algorithm, Command};

/// `println!` that ignores a closed stdout (e.g. piped into `head`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Vivace: a geo-replicated linearizable key-value store over UDP with
/// prioritized messages.
#[derive(Parser, Debug)]
#[command(name = "vivace", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs one server of a cluster until killed.
    Serve {
        /// Cluster configuration (TOML).
        #[arg(long)]
        config: PathBuf,
        /// The node to run.
        #[arg(long)]
        node: String,
        /// Print the counters every this many seconds (0: never).
        #[arg(long, default_value_t = 0)]
        stats: u64,
        /// Send every message in its own datagram (no batches).
        #[arg(long)]
        unbatched: bool,
    },
    /// Section 4.3: lists the keys whose replicas hold a timestamp without
    /// its value (lost with a destroyed site). Exit 0 if every server
    /// answered, 2 if some did not (they are listed).
    Audit {
        #[command(flatten)]
        c: ClientArgs,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Writes a value (RW object).
    Put {
        #[command(flatten)]
        c: ClientArgs,
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// Reads a value (RW object).
    Get {
        #[command(flatten)]
        c: ClientArgs,
        /// Key.
        key: String,
    },
    /// Executes a command on an RMW object: increment | append S | cas FROM TO | get.
    Exec {
        #[command(flatten)]
        c: ClientArgs,
        /// Key.
        key: String,
        /// Command and its arguments.
        #[arg(num_args = 1..=3, required = true)]
        command: Vec<String>,
    },
    /// Starts a Figure-5 cluster in this process, runs a mixed concurrent
    /// workload on all four algorithms, and checks its history.
    Demo {
        /// Print one JSON summary object.
        #[arg(long)]
        json: bool,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Operations per client.
        #[arg(long, default_value_t = 250)]
        ops: usize,
        /// Write the history (JSON lines) here.
        #[arg(long)]
        history: Option<PathBuf>,
        /// Emulate a WAN between sites A and B: one-way delays in ms of
        /// normal and of priority datagrams (the paper's D and d), e.g. `50,5`.
        #[arg(long, value_delimiter = ',')]
        wan_ms: Vec<u64>,
    },
    /// Closed-loop benchmark: on an in-process Figure-5 cluster (`--local`)
    /// or against a running cluster (`--config FILE`, with its clients).
    Bench {
        /// Run the cluster in this process.
        #[arg(long, required_unless_present = "config", conflicts_with = "config")]
        local: bool,
        /// Run against the cluster of this file, from its `[[clients]]`
        /// (one per concurrent client); its servers must be running.
        #[arg(long)]
        config: Option<PathBuf>,
        /// With --config: the key prefix of the container to use (default:
        /// the first container of the algorithm).
        #[arg(long)]
        prefix: Option<String>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Threads driving the clients (each drives its share of the
        /// clients through one poller).
        #[arg(long, default_value_t = 1)]
        client_threads: usize,
        /// Run once per client count (e.g. `1,2,4,8`) and print throughput
        /// and latency against clients; overrides --clients.
        #[arg(long, value_delimiter = ',')]
        sweep: Vec<usize>,
        /// abd | vivace_rw | lan_rmw | vivace_rmw.
        #[arg(long, default_value = "vivace_rw")]
        algorithm: String,
        /// Percentage of reads (RW algorithms).
        #[arg(long, default_value_t = 50)]
        read_percent: u64,
        /// Value size in bytes.
        #[arg(long, default_value_t = 1024)]
        value_size: usize,
        /// Number of keys.
        #[arg(long, default_value_t = 100)]
        keys: usize,
        /// Send every message in its own datagram (no batches), on every
        /// node of the benchmark.
        #[arg(long)]
        unbatched: bool,
        /// Seconds to run (each run of a sweep).
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// With --local: the three curves of the Zzyzx paper for all four
        /// algorithms (throughput vs clients over --sweep, latency vs
        /// throughput, throughput vs --contention keys at
        /// --contention-clients), written to this directory as SVG plots,
        /// `curves.json` and `curves.md`.
        #[arg(long, requires = "local")]
        curves: Option<PathBuf>,
        /// Key counts of the contention sweep of --curves.
        #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256,1024")]
        contention: Vec<usize>,
        /// Clients of the contention sweep of --curves.
        #[arg(long, default_value_t = 16)]
        contention_clients: usize,
        /// Write the JSON result here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the JSON result on stdout instead of the summary lines.
        #[arg(long)]
        json: bool,
    },
    /// The WAN lab (root): sites as network namespaces, a delay relay and a
    /// priority band between them; runs one experiment and tears it down.
    Lab {
        #[command(subcommand)]
        experiment: LabCmd,
    },
    /// The directory service (Section 3.1): container metadata in
    /// directory objects `dir/<prefix>` (needs a `[directory]` section).
    Dir {
        #[command(subcommand)]
        cmd: DirCmd,
    },
    /// Section 3.1: changes a container's replica set (and local sets)
    /// through the directory service: SEAL the old epoch, COPY the newest
    /// values from a sealed majority, INSTALL them at the new replica set,
    /// then PUBLISH the new metadata.
    Reconfig {
        #[command(flatten)]
        c: ClientArgs,
        /// The container's prefix.
        #[arg(long)]
        prefix: String,
        /// The new replica set, e.g. `n2,n3,n4`.
        #[arg(long, value_delimiter = ',', required = true)]
        replicas: Vec<String>,
        /// A new local set, `SITE=n1,n4,n5` (repeat for each site; sites
        /// not named keep theirs).
        #[arg(long = "local-set")]
        local_sets: Vec<String>,
        /// Deadline of each step (seal, copy, install), in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        step_timeout_ms: u64,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Prints the encoded size of every message type.
    Sizes {
        /// Key length.
        #[arg(long, default_value_t = 16)]
        key: usize,
        /// Value length.
        #[arg(long, default_value_t = 1024)]
        value: usize,
    },
}

#[derive(Subcommand, Debug)]
enum DirCmd {
    /// Writes each container's metadata from the configuration, as epoch
    /// 1, into the directory (containers the directory already has are
    /// left alone).
    Init {
        #[command(flatten)]
        c: ClientArgs,
        /// One JSON object per container on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Prints the metadata the directory holds, of every container or one.
    Show {
        #[command(flatten)]
        c: ClientArgs,
        /// Only this container.
        #[arg(long)]
        prefix: Option<String>,
        /// One JSON object per container on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ClientArgs {
    /// Cluster configuration (TOML).
    #[arg(long)]
    config: PathBuf,
    /// The client identity to use (default: the first client of the file).
    #[arg(long)]
    client: Option<String>,
    /// Deadline in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// Append the operation to this history file (JSON lines).
    #[arg(long)]
    history: Option<PathBuf>,
}

fn client_name(a: &ClientArgs) -> Result<(ClusterConfig, String), String> {
    let cfg = ClusterConfig::load(&a.config).map_err(|e| e.to_string())?;
    let name = match &a.client {
        Some(n) => n.clone(),
        None => cfg
            .nodes
            .iter()
            .find(|n| n.role == Role::Client)
            .map(|n| n.name.clone())
            .ok_or_else(|| format!("{}: no [[clients]]", a.config.display()))?,
    };
    Ok((cfg, name))
}

fn client(a: &ClientArgs) -> Result<Client, String> {
    let (cfg, name) = client_name(a)?;
    let mut c =
        Client::connect(&cfg, &name, &RuntimeOptions::default()).map_err(|e| e.to_string())?;
    c.set_timeout(Duration::from_millis(a.timeout_ms));
    Ok(c)
}

fn with_history<T>(
    a: &ClientArgs,
    f: impl FnOnce(&mut Client) -> Result<T, String>,
) -> Result<T, String> {
    let mut c = client(a)?;
    let rec = Recorder::without_ids();
    if a.history.is_some() {
        c.record(rec.clone());
    }
    let r = f(&mut c);
    if let Some(path) = &a.history {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(rec.to_jsonl().as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    r
}

fn print_demo(s: &DemoSummary) {
    outln!(
        "{} operations in {:.2} s; history checked in {:.2} s",
        s.operations,
        s.seconds,
        s.check_seconds
    );
    outln!(
        "{:<11} {:<8} {:>5} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "algorithm",
        "op",
        "ok",
        "aborted",
        "errors",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms"
    );
    let ms = |us: u64| us as f64 / 1000.0;
    for o in &s.latency {
        outln!(
            "{:<11} {:<8} {:>5} {:>7} {:>6} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            o.algorithm,
            o.op,
            o.ok,
            o.aborted,
            o.errors,
            ms(o.latency.p50_us),
            ms(o.latency.p90_us),
            ms(o.latency.p99_us),
            ms(o.latency.max_us)
        );
    }
    let t = &s.traffic;
    outln!(
        "priority class: {} datagrams, {} bytes ({:.1} bytes/datagram)",
        t.priority.datagrams,
        t.priority.bytes,
        t.priority.bytes as f64 / t.priority.datagrams.max(1) as f64
    );
    outln!(
        "normal class:   {} datagrams, {} bytes ({:.1} bytes/datagram)",
        t.normal.datagrams,
        t.normal.bytes,
        t.normal.bytes as f64 / t.normal.datagrams.max(1) as f64
    );
    outln!(
        "received datagrams dropped: {}; sends refused: {}",
        t.dropped,
        t.send_failed
    );
    if let Some(f) = &s.history_file {
        outln!("history: {f} (check again with: vivace-check {f})");
    }
    outln!("verdict: {}", s.verdict);
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.cmd {
        Cmd::Serve {
            config,
            node,
            stats,
            unbatched,
        } => {
            let cfg = ClusterConfig::load(&config).map_err(|e| e.to_string())?;
            let stop = AtomicBool::new(false);
            let n = cfg.node(&node).ok_or(format!("no node {node:?}"))?;
            eprintln!(
                "vivace: serving {node} (id {}) on {} (priority) and {} (normal)",
                n.id, n.priority, n.normal
            );
            let every = if stats == 0 { 3600 * 24 * 365 } else { stats };
            serve(
                &cfg,
                &node,
                &RuntimeOptions {
                    unbatched,
                    ..RuntimeOptions::default()
                },
                &stop,
                Duration::from_secs(every),
                |c| eprintln!("{}", serde_json::to_string(c).unwrap_or_default()),
            )
            .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Put { c, key, value } => {
            with_history(&c, |cl| cl.write(key, value).map_err(|e| e.to_string()))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit { c, json } => {
            let (cfg, name) = client_name(&c)?;
            let r = vivace_impl::audit::audit(&cfg, &name, Duration::from_millis(c.timeout_ms))
                .map_err(|e| e.to_string())?;
            if json {
                outln!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
            } else {
                for (key, (ts, at)) in &r.lost {
                    outln!(
                        "lost {key} (timestamp {}.{}) missing at {}",
                        ts.time,
                        ts.node,
                        at.join(", ")
                    );
                }
                outln!(
                    "{} keys lost; answered: {}; silent: {}",
                    r.lost.len(),
                    r.answered.join(", "),
                    if r.silent.is_empty() {
                        "none".to_string()
                    } else {
                        r.silent.join(", ")
                    }
                );
            }
            Ok(if r.silent.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Cmd::Get { c, key } => {
            let v = with_history(&c, |cl| cl.read(key).map_err(|e| e.to_string()))?;
            outln!("{}", String::from_utf8_lossy(v.as_slice()));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Exec { c, key, command } => {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let cmd = match args.as_slice() {
                ["increment"] => Command::Increment,
                ["get"] => Command::Get,
                ["append", s] => Command::Append((*s).into()),
                ["cas", from, to] => Command::Cas {
                    from: (*from).into(),
                    to: (*to).into(),
                },
                _ => {
                    return Err(format!(
                        "unknown command {args:?}: increment | append S | cas FROM TO | get"
                    ))
                }
            };
            let v = with_history(&c, |cl| cl.execute(key, cmd).map_err(|e| e.to_string()))?;
            outln!("{}", String::from_utf8_lossy(v.as_slice()));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo {
            json,
            clients,
            ops,
            history,
            wan_ms,
        } => {
            let cfg = MixedConfig {
                clients,
                ops_per_client: ops,
                ..MixedConfig::default()
            };
            let mut opts = RuntimeOptions::default();
            if !wan_ms.is_empty() && wan_ms.len() != 2 {
                return Err("--wan-ms takes two delays: NORMAL,PRIORITY".into());
            }
            if let [normal, priority] = wan_ms[..] {
                opts.wan = Some(vivace_impl::net::WanDelay {
                    normal: Duration::from_millis(normal),
                    priority: Duration::from_millis(priority),
                });
            }
            let mut s = demo_with(&cfg, opts).map_err(|e| e.to_string())?;
            let p = history.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("vivace-demo-{}.jsonl", std::process::id()))
            });
            std::fs::write(&p, &s.history).map_err(|e| format!("{}: {e}", p.display()))?;
            s.history_file = Some(p.display().to_string());
            if json {
                outln!("{}", serde_json::to_string(&s).map_err(|e| e.to_string())?);
            } else {
                print_demo(&s);
            }
            Ok(if s.verdict == vivace_impl::Verdict::Linearizable {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Bench {
            local: _,
            config,
            prefix,
            clients,
            client_threads,
            sweep,
            algorithm,
            read_percent,
            value_size,
            keys,
            unbatched,
            duration,
            curves,
            contention,
            contention_clients,
            out,
            json,
        } => {
            let a = Algorithm::from_name(&algorithm)
                .ok_or(format!("unknown algorithm {algorithm:?}"))?;
            let base = BenchConfig {
                clients,
                client_threads,
                algorithm: a.name(),
                read_percent,
                value_size,
                keys,
                unbatched,
                duration_s: duration,
            };
            if let Some(dir) = curves {
                return run_curves_cmd(&dir, base, sweep, contention, contention_clients, json);
            }
            let counts = if sweep.is_empty() {
                vec![clients]
            } else {
                sweep
            };
            let mut results = Vec::new();
            for clients in counts {
                let cfg = BenchConfig {
                    clients,
                    ..base.clone()
                };
                let r = match &config {
                    None => bench(&cfg, a),
                    Some(file) => bench_remote(file, prefix.as_deref(), &cfg, a)?,
                }
                .map_err(|e| e.to_string())?;
                if !json {
                    print_bench(&r);
                }
                results.push(r);
            }
            let j = if results.len() == 1 {
                serde_json::to_string_pretty(&results[0])
            } else {
                serde_json::to_string_pretty(&results)
            }
            .map_err(|e| e.to_string())?;
            if let Some(p) = out {
                std::fs::write(&p, &j).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            if json {
                outln!("{j}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Lab { experiment } => run_lab(experiment),
        Cmd::Dir { cmd } => run_dir(cmd),
        Cmd::Reconfig {
            c,
            prefix,
            replicas,
            local_sets,
            step_timeout_ms,
            json,
        } => {
            let cfg = with_directory(&c)?;
            let mut sets = Vec::new();
            for s in &local_sets {
                let (site, names) = s
                    .split_once('=')
                    .ok_or(format!("--local-set {s:?}: expected SITE=n1,n2,..."))?;
                sets.push((
                    site.to_string(),
                    names.split(',').map(str::to_string).collect(),
                ));
            }
            let req = vivace_impl::directory::ReconfigRequest {
                prefix,
                replicas,
                local_sets: (!sets.is_empty()).then_some(sets),
                step_timeout: Duration::from_millis(step_timeout_ms),
            };
            let mut cl = client(&c)?;
            let r =
                vivace_impl::directory::reconfig(&cfg, &mut cl, &req).map_err(|e| e.to_string())?;
            if json {
                outln!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
            } else {
                outln!(
                    "{}: epoch {} -> {}, replicas {} -> {}",
                    r.prefix,
                    r.from_epoch,
                    r.to_epoch,
                    r.from.replicas.join(","),
                    r.to.replicas.join(",")
                );
                outln!(
                    "  {} keys; {} bytes copied, {} bytes installed ({} INSTALL pages); {} retransmissions",
                    r.keys,
                    r.copied_bytes,
                    r.installed_bytes,
                    r.install_pages,
                    r.retransmissions
                );
                outln!(
                    "  seal {:.1} ms, copy {:.1} ms, install {:.1} ms, publish {:.1} ms: {:.1} ms in all",
                    r.seal_ms,
                    r.copy_ms,
                    r.install_ms,
                    r.publish_ms,
                    r.total_ms
                );
                outln!(
                    "  sealed: {}; serving epoch {}: {}",
                    r.sealed.join(","),
                    r.to_epoch,
                    r.installed.join(",")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sizes { key, value } => {
            outln!("{:<18} {:<8} {:>6}", "message", "class", "bytes");
            for m in wire::examples(key, value) {
                let n = wire::encode(&m).map_err(|e| e.to_string())?.len();
                let name = match &m {
                    vivace_spec::Msg::InEpoch { .. } => format!("{} in epoch", m.name()),
                    _ => m.name().to_string(),
                };
                outln!("{:<18} {:<8} {:>6}", name, format!("{:?}", m.class()), n);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Refuses a configuration without a `[directory]` before binding anything.
fn with_directory(c: &ClientArgs) -> Result<ClusterConfig, String> {
    let (cfg, _) = client_name(c)?;
    if cfg.directory.is_none() {
        return Err(format!(
            "{}: {}",
            c.config.display(),
            vivace_impl::directory::DirError::NotConfigured
        ));
    }
    Ok(cfg)
}

/// `vivace dir init | show`.
fn run_dir(cmd: DirCmd) -> Result<ExitCode, String> {
    use vivace_impl::directory;
    match cmd {
        DirCmd::Init { c, json } => {
            let cfg = with_directory(&c)?;
            let mut cl = client(&c)?;
            for o in directory::init(&cfg, &mut cl).map_err(|e| e.to_string())? {
                if json {
                    outln!("{}", serde_json::to_string(&o).map_err(|e| e.to_string())?);
                } else if o.written {
                    outln!("{}: wrote epoch {}", o.prefix, o.epoch);
                } else {
                    outln!(
                        "{}: already in the directory (epoch {}), left alone",
                        o.prefix,
                        o.epoch
                    );
                }
            }
        }
        DirCmd::Show { c, prefix, json } => {
            let cfg = with_directory(&c)?;
            let mut cl = client(&c)?;
            let entries =
                directory::show(&cfg, &mut cl, prefix.as_deref()).map_err(|e| e.to_string())?;
            for e in entries {
                if json {
                    outln!("{}", serde_json::to_string(&e).map_err(|e| e.to_string())?);
                    continue;
                }
                match &e.metadata {
                    None => outln!("{}: not in the directory (run `vivace dir init`)", e.prefix),
                    Some(m) => {
                        let local: Vec<String> = m
                            .local_sets
                            .iter()
                            .map(|(s, v)| format!("{s}={}", v.join(",")))
                            .collect();
                        outln!(
                            "{}: epoch {} {} replicas {} local sets {}",
                            e.prefix,
                            m.epoch,
                            m.algorithm,
                            m.replicas.join(","),
                            if local.is_empty() {
                                "none".to_string()
                            } else {
                                local.join(" ")
                            }
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of every lab experiment.
#[derive(clap::Args, Debug, Clone)]
struct LabArgs {
    /// Seconds: of the whole run (fig4, default 30) or of each series
    /// (fig6 and fig7, default 20).
    #[arg(long)]
    seconds: Option<u64>,
    /// Directory for the CSV, SVG and markdown files.
    #[arg(long, default_value = "impl/figures/lab")]
    out: PathBuf,
    /// One-way delay of the WAN, ms.
    #[arg(long, default_value_t = 50)]
    delay_ms: u64,
    /// Rate of each WAN direction, Mbit/s.
    #[arg(long, default_value_t = 100)]
    rate_mbit: u32,
    /// No priority band for DSCP EF (one FIFO for everything).
    #[arg(long)]
    no_priority_band: bool,
    /// Packets the priority band may queue (default 100, docs/lab.md's;
    /// `load` sizes it for bulk traffic unless this is given).
    #[arg(long)]
    priority_queue: Option<u32>,
    /// Congestion flows from site A to site B.
    #[arg(long, default_value_t = 2)]
    flows: u16,
    /// Mbit/s of each congestion flow.
    #[arg(long, default_value_t = 60)]
    flood_mbit: u32,
    /// Section 3.4.1 write-back skipping: on or off (default: as the
    /// paper, off for fig6 and fig7, on for fig8).
    #[arg(long)]
    writeback_skip: Option<bool>,
    /// fig8: requests of each type.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// load: only these systems (`vivace_rw`, `vivace_rmw`, `abd`,
    /// `lan_rmw`, `etcd`), comma-separated; default all.
    #[arg(long, value_delimiter = ',')]
    systems: Vec<String>,
    /// load: only these offered rates, percent of the link,
    /// comma-separated; default 10,25,50,75,100,150.
    #[arg(long, value_delimiter = ',')]
    steps: Vec<f64>,
    /// One summary object per line on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum LabCmd {
    /// Figure 4: RTT of EF and normal probes, congestion in the middle.
    Fig4(LabArgs),
    /// Figure 6: latency of each algorithm's operations, no congestion.
    Fig6(LabArgs),
    /// Figure 7: the same under continuous congestion.
    Fig7(LabArgs),
    /// Figure 8: a Twitter-like application under congestion, prior and
    /// new algorithms.
    Fig8(LabArgs),
    /// etcd 3.4 (Debian's etcd-server) with the same workload, without and
    /// with congestion, and with its peer traffic prioritized.
    Etcd(LabArgs),
    /// Offered data rate swept from 10% to 150% of the link: Algorithms 1
    /// and 3, and ABD and Algorithm 2 with every message prioritized.
    Load(LabArgs),
    /// The optimizations of Section 3.4 on and off: the read
    /// optimizations, executing commands at replicas, and the clock modes;
    /// latency, phases and WAN bytes per operation.
    Opts(LabArgs),
    /// Every experiment in turn: fig4, fig6, fig7, etcd, load, fig8, opts
    /// (about 45 minutes with the default lengths).
    All(LabArgs),
    /// Removes namespaces left by a lab that was killed.
    Clean,
}

fn run_lab(cmd: LabCmd) -> Result<ExitCode, String> {
    use vivace_impl::lab;
    let (a, which): (LabArgs, &[&str]) = match cmd {
        LabCmd::Clean => {
            let gone = lab::clean().map_err(|e| e.to_string())?;
            outln!("removed {} namespaces {:?}", gone.len(), gone);
            return Ok(ExitCode::SUCCESS);
        }
        LabCmd::Fig4(a) => (a, &["fig4"]),
        LabCmd::Fig6(a) => (a, &["fig6"]),
        LabCmd::Fig7(a) => (a, &["fig7"]),
        LabCmd::Fig8(a) => (a, &["fig8"]),
        LabCmd::Etcd(a) => (a, &["etcd"]),
        LabCmd::Load(a) => (a, &["load"]),
        LabCmd::Opts(a) => (a, &["opts"]),
        LabCmd::All(a) => (a, &["fig4", "fig6", "fig7", "etcd", "load", "fig8", "opts"]),
    };
    for e in which {
        run_experiment(&a, e)?;
        if lab::interrupted() {
            return Err("interrupted; the lab was torn down".into());
        }
    }
    if !a.json {
        outln!("wrote {}", a.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn run_experiment(a: &LabArgs, which: &str) -> Result<(), String> {
    use vivace_impl::lab::{experiments, WanConfig};
    let o = experiments::ExpOptions {
        seconds: a.seconds.unwrap_or(match which {
            "fig4" => 30,
            "load" | "opts" => 10,
            _ => 20,
        }),
        out_dir: a.out.clone(),
        wan: WanConfig {
            delay: Duration::from_millis(a.delay_ms),
            rate_mbit: a.rate_mbit,
            priority_band: !a.no_priority_band,
            priority_queue: a
                .priority_queue
                .unwrap_or(if which == "load" { 1000 } else { 100 }),
        },
        flood_mbit: a.flood_mbit,
        flows: a.flows,
        writeback_skip: a.writeback_skip,
        requests: a.requests,
        systems: a.systems.clone(),
        steps: a.steps.iter().map(|p| p / 100.0).collect(),
    };
    let rows = match which {
        "fig4" => experiments::fig4(&o),
        "fig6" => experiments::fig67(&o, false),
        "fig7" => experiments::fig67(&o, true),
        "fig8" => experiments::fig8(&o),
        "load" => experiments::load(&o).map(|(rows, _)| rows),
        "opts" => experiments::opts(&o),
        _ => experiments::etcd(&o),
    }
    .map_err(|e| e.to_string())?;
    for r in &rows {
        if a.json {
            outln!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
        } else {
            outln!(
                "{:<10} {:<8} congested={:<5} n={:<5} failed={:<3} p50 {:>8.1} ms  p90 {:>8.1}  p99 {:>8.1}  max {:>8.1}",
                r.system, r.op, r.congested, r.count, r.failed, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
            );
        }
    }
    Ok(())
}

/// One result as two summary lines.
fn print_bench(r: &BenchResult) {
    let c = &r.config;
    outln!(
        "{} {} clients, {}, {} keys: {:.0} ops/s; latency p50 {:.3} ms p90 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}; abort rate {:.3}; errors {}",
        c.algorithm,
        c.clients,
        if c.algorithm.ends_with("rmw") {
            "increments and CAS".to_string()
        } else {
            format!("{}% reads, {} B values", c.read_percent, c.value_size)
        },
        c.keys,
        r.throughput_ops_s,
        r.latency.p50_us as f64 / 1e3,
        r.latency.p90_us as f64 / 1e3,
        r.latency.p99_us as f64 / 1e3,
        r.latency.p999_us as f64 / 1e3,
        r.latency.max_us as f64 / 1e3,
        r.abort_rate,
        r.errors
    );
    outln!(
        "  {}: priority {} datagrams {} bytes; normal {} datagrams {} bytes",
        r.traffic_scope,
        r.traffic.priority.datagrams,
        r.traffic.priority.bytes,
        r.traffic.normal.datagrams,
        r.traffic.normal.bytes
    );
}

/// The benchmark against a running cluster: the first `clients` of the
/// configuration's `[[clients]]`, on the container of `prefix` (or the
/// first of the algorithm).
fn bench_remote(
    file: &std::path::Path,
    prefix: Option<&str>,
    cfg: &BenchConfig,
    a: Algorithm,
) -> Result<Result<BenchResult, RuntimeError>, String> {
    let cc = ClusterConfig::load(file).map_err(|e| e.to_string())?;
    let container = cc
        .containers
        .iter()
        .find(|c| prefix.map_or(c.algorithm == a, |p| c.prefix == p))
        .ok_or_else(|| match prefix {
            Some(p) => format!("{}: no container with prefix {p:?}", file.display()),
            None => format!("{}: no container of algorithm {}", file.display(), a.name()),
        })?;
    if container.algorithm != a {
        return Err(format!(
            "{}: container {:?} runs {}, not {}",
            file.display(),
            container.prefix,
            container.algorithm.name(),
            a.name()
        ));
    }
    let names: Vec<String> = cc
        .nodes
        .iter()
        .filter(|n| n.role == Role::Client)
        .map(|n| n.name.clone())
        .collect();
    if names.len() < cfg.clients {
        return Err(format!(
            "{}: {} clients asked for, the configuration has {} [[clients]]",
            file.display(),
            cfg.clients,
            names.len()
        ));
    }
    let mut clients = Vec::new();
    for n in &names[..cfg.clients] {
        clients
            .push(Client::connect(&cc, n, &RuntimeOptions::default()).map_err(|e| e.to_string())?);
    }
    Ok(bench_clients(cfg, a, &container.prefix, clients))
}

/// `bench --local --curves DIR`.
fn run_curves_cmd(
    dir: &std::path::Path,
    base: BenchConfig,
    sweep: Vec<usize>,
    keys: Vec<usize>,
    contention_clients: usize,
    json: bool,
) -> Result<ExitCode, String> {
    let spec = CurveSpec {
        algorithms: Algorithm::ALL.to_vec(),
        clients: if sweep.is_empty() {
            vec![1, 2, 4, 8, 16, 32, 64]
        } else {
            sweep
        },
        keys,
        contention_clients,
        base: base.clone(),
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let curves = run_curves(&spec, |p| {
        if json {
            if let Ok(j) = serde_json::to_string(p) {
                outln!("{j}");
            }
        } else {
            print_bench(&p.result);
        }
    })
    .map_err(|e| e.to_string())?;
    let what = format!(
        "{} B values, {}% reads, {} s per point",
        base.value_size, base.read_percent, base.duration_s
    );
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    for (name, plot) in curves.plots(&what) {
        write(name, &plot.to_svg())?;
    }
    write(
        "curves.json",
        &serde_json::to_string_pretty(&curves).map_err(|e| e.to_string())?,
    )?;
    write("curves.md", &curves.markdown())?;
    if !json {
        outln!("wrote {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vivace: {e}");
            ExitCode::from(2)
        }
    }
}
