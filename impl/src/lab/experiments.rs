//! The lab's experiments, each writing CSV, an SVG plot and a markdown
//! summary (the paper's figures beside ours) into one directory, and
//! returning one [`Summary`] per system, operation and phase.

use super::traffic::{probes, Flood, Probe};
use super::{interrupted, sleep, Lab, LabError, WanConfig};
use crate::client::{Client, ClientError};
use crate::cluster::{prefix_of, LocalCluster, LocalSpec};
use crate::plot::{LinePlot, Series};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vivace_spec::{Algorithm, Bytes, Command};

/// What every experiment takes.
#[derive(Clone, Debug)]
pub struct ExpOptions {
    /// Length: of the whole run (fig4) or of each series (fig6, fig7).
    pub seconds: u64,
    /// Where the CSV, SVG and markdown files go.
    pub out_dir: PathBuf,
    /// The emulated WAN.
    pub wan: WanConfig,
    /// Congestion: flows of this many Mbit/s each.
    pub flood_mbit: u32,
    /// Congestion: number of flows.
    pub flows: u16,
    /// Section 3.4.1 write-back skipping; `None`: as the paper (off for
    /// Figures 6 and 7, Section 6.3; on for Figure 8, Section 6.4).
    pub writeback_skip: Option<bool>,
    /// Figure 8: requests of each type.
    pub requests: usize,
    /// `load`: only these systems (algorithm names, `etcd`); empty: all.
    pub systems: Vec<String>,
    /// `load`: only these offered rates (fractions of the link); empty:
    /// [`LOAD_STEPS`].
    pub steps: Vec<f64>,
}

/// One line of an experiment's result (the `--json` output).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// `fig4`, `fig6`, `fig7`, ...
    pub experiment: &'static str,
    /// Algorithm name, `probe`, or `etcd`.
    pub system: String,
    /// `read`, `write`, `execute`, or the probe class.
    pub op: String,
    /// Whether the WAN was congested while these were measured.
    pub congested: bool,
    /// Operations (or probes) that completed.
    pub count: usize,
    /// Operations (or probes) that did not complete (timeouts, losses).
    pub failed: usize,
    /// Minimum latency, ms.
    pub min_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(((sorted.len() as f64) * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

pub(super) fn summarize(
    experiment: &'static str,
    system: &str,
    op: &str,
    congested: bool,
    lat: &[f64],
    failed: usize,
) -> Summary {
    let mut v = lat.to_vec();
    v.sort_by(f64::total_cmp);
    Summary {
        experiment,
        system: system.to_string(),
        op: op.to_string(),
        congested,
        count: v.len(),
        failed,
        min_ms: v.first().copied().unwrap_or(f64::NAN),
        p50_ms: quantile(&v, 0.5),
        p90_ms: quantile(&v, 0.9),
        p99_ms: quantile(&v, 0.99),
        max_ms: v.last().copied().unwrap_or(f64::NAN),
    }
}

/// An empty plot of latency CDFs (log latency axis, fraction 0 to 1).
fn cdf_plot(title: String, x_label: &str) -> LinePlot {
    LinePlot {
        title,
        x_label: x_label.into(),
        y_label: "fraction of operations".into(),
        log_x: true,
        log_y: false,
        y_range: Some((0.0, 1.0)),
        series: Vec::new(),
    }
}

/// The empirical CDF of `lat` as a line.
fn cdf(name: String, lat: &[f64]) -> Series {
    let mut sorted = lat.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len().max(1) as f64;
    Series {
        name,
        points: sorted
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, (i + 1) as f64 / n))
            .collect(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), LabError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(name), text))
        .map_err(|source| LabError::Io {
            what: format!("writing {}", dir.join(name).display()),
            source,
        })
}

fn relay_md(lab: &Lab) -> String {
    let mut s = String::from(
        "| relay | frames | refused | late p50 µs | late p99 µs | late max µs | CPU s |\n|---|---|---|---|---|---|---|\n",
    );
    for r in lab.relay_stats() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.2} |",
            r.direction,
            r.frames,
            r.dropped,
            r.late_p50_us,
            r.late_p99_us,
            r.late_max_us,
            r.cpu_seconds
        );
    }
    s
}

fn summary_md(rows: &[Summary]) -> String {
    let mut s = String::from(
        "| system | op | congested | count | failed | min ms | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.system,
            r.op,
            r.congested,
            r.count,
            r.failed,
            r.min_ms,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms
        );
    }
    s
}

/// Figure 4: round-trip times of EF-marked and of normal probes every 20 ms
/// from site A to site B for `seconds` (default 30), with congestion from
/// the first third to five sixths of the run (10 s to 25 s of 30).
pub fn fig4(o: &ExpOptions) -> Result<Vec<Summary>, LabError> {
    let lab = Lab::up(o.wan)?;
    let total = Duration::from_secs(o.seconds.max(3));
    let (t0, t1) = (o.seconds.max(3) / 3, o.seconds.max(3) * 5 / 6);
    let mut flood = None;
    let mut err = None;
    let probes = probes(&lab, total, Duration::from_millis(20), |t| {
        if t == t0 {
            match Flood::start(&lab, o.flows, o.flood_mbit, Duration::from_secs(t1 - t0)) {
                Ok(f) => flood = Some(f),
                Err(e) => err = Some(e),
            }
        }
        if t == t1 {
            if let Some(f) = flood.take() {
                f.stop();
            }
        }
    })?;
    if let Some(f) = flood.take() {
        f.stop();
    }
    if let Some(e) = err {
        return Err(e);
    }
    let mut csv = String::from("t_s,class,rtt_ms\n");
    for p in &probes {
        let _ = writeln!(
            csv,
            "{:.3},{},{}",
            p.t,
            p.class,
            p.rtt_ms.map_or(String::from("lost"), |r| format!("{r:.3}"))
        );
    }
    let phase = |p: &Probe| {
        if p.t < t0 as f64 {
            0
        } else if p.t < t1 as f64 {
            1
        } else {
            2
        }
    };
    let mut rows = Vec::new();
    for class in ["EF", "normal"] {
        for (ph, congested) in [(0, false), (1, true)] {
            let of: Vec<&Probe> = probes
                .iter()
                .filter(|p| p.class == class && phase(p) == ph)
                .collect();
            let lat: Vec<f64> = of.iter().filter_map(|p| p.rtt_ms).collect();
            rows.push(summarize(
                "fig4",
                "probe",
                class,
                congested,
                &lat,
                of.len() - lat.len(),
            ));
        }
    }
    let plot = LinePlot {
        title: format!(
            "Figure 4: RTT of EF and normal probes, congestion {t0}-{t1} s ({} ms one-way, {} Mbit/s)",
            o.wan.delay.as_millis(),
            o.wan.rate_mbit
        ),
        x_label: "time (s)".into(),
        y_label: "round-trip time (ms)".into(),
        log_x: false,
        log_y: false,
        y_range: None,
        series: ["EF", "normal"]
            .iter()
            .map(|c| Series {
                name: format!("{c} (0x{})", if *c == "EF" { "b8" } else { "00" }),
                points: probes
                    .iter()
                    .filter(|p| p.class == *c)
                    .filter_map(|p| p.rtt_ms.map(|r| (p.t, r)))
                    .collect(),
            })
            .collect(),
    };
    let md = format!(
        "# Figure 4: prioritized vs normal round trips\n\n\
         {} s, probes every 20 ms from site A to an echo in site B, {} × {} Mbit/s of UDP \
         from A to B from {t0} s to {t1} s; {} ms one-way delay, {} Mbit/s links, EF band {}.\n\n\
         {}\n\
         The paper (Figure 4, TCP probes through a DiffServ router): the prioritized \
         client's latency is unaffected by the congestion; the regular one suffers \
         drops and TCP back-off, with large delays. docs/lab.md's prototype of this lab \
         measured EF 100.8 ms median during congestion and normal 219.3 ms with 34 of \
         750 probes lost.\n\n## The emulator\n\n{}",
        o.seconds,
        o.flows,
        o.flood_mbit,
        o.wan.delay.as_millis(),
        o.wan.rate_mbit,
        if o.wan.priority_band { "on" } else { "off" },
        summary_md(&rows),
        relay_md(&lab)
    );
    write(&o.out_dir, "fig4.csv", &csv)?;
    write(&o.out_dir, "fig4.svg", &plot.to_svg())?;
    write(&o.out_dir, "fig4.md", &md)?;
    lab.down();
    Ok(rows)
}

/// The operations of Figures 6 and 7, in the paper's order.
const OPS: [(Algorithm, &str); 6] = [
    (Algorithm::Abd, "read"),
    (Algorithm::Abd, "write"),
    (Algorithm::VivaceRw, "read"),
    (Algorithm::VivaceRw, "write"),
    (Algorithm::LanRmw, "execute"),
    (Algorithm::VivaceRmw, "execute"),
];

/// The paper's Figure 6 (min, max ms; no congestion).
const PAPER_FIG6: [(f64, f64); 6] = [
    (221.0, 228.0),
    (111.0, 120.0),
    (221.0, 231.0),
    (113.0, 121.0),
    (221.0, 231.0),
    (222.0, 231.0),
];

/// A 1 KiB value, unique by `n`.
fn value(n: u64) -> Bytes {
    let mut v = format!("{n:08}-").into_bytes();
    v.resize(1024, b'v');
    Bytes::from(v)
}

/// One series: operation `op` of algorithm `a` on one 1 KiB object, one
/// at a time for `secs`. Returns the latencies (ms) and the failures.
fn series(client: &mut Client, a: Algorithm, op: &str, secs: u64) -> (Vec<f64>, usize) {
    let key = format!("{}obj", prefix_of(a));
    // The object holds 1 KiB before the series starts.
    let prepared = if a.is_rmw() {
        client
            .execute(
                key.clone(),
                Command::Cas {
                    from: Bytes::default(),
                    to: value(0),
                },
            )
            .map(|_| ())
    } else {
        client.write(key.clone(), value(0))
    };
    let mut failed = usize::from(prepared.is_err());
    let mut lat = Vec::new();
    let end = Instant::now() + Duration::from_secs(secs);
    let mut n = 1;
    while Instant::now() < end && !interrupted() {
        let t = Instant::now();
        let r: Result<(), ClientError> = match op {
            "read" => client.read(key.clone()).map(|_| ()),
            "write" => client.write(key.clone(), value(n)),
            // Appending one byte keeps the value near 1 KiB.
            _ => client
                .execute(key.clone(), Command::Append(Bytes::from("x")))
                .map(|_| ()),
        };
        n += 1;
        match r {
            Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
            Err(_) => failed += 1,
        }
    }
    (lat, failed)
}

/// Figures 6 (no congestion) and 7 (continuous congestion): the client in
/// site A runs each operation of each algorithm one at a time on a 1 KiB
/// object for `seconds` (default 20), on the Figure-5 cluster spread over
/// the two sites.
pub fn fig67(o: &ExpOptions, congested: bool) -> Result<Vec<Summary>, LabError> {
    let name = if congested { "fig7" } else { "fig6" };
    let lab = Lab::up(o.wan)?;
    let mut spec = LocalSpec::figure5(1);
    spec.writeback_skip = o.writeback_skip.unwrap_or(false);
    let mut cluster = lab.start_cluster(spec)?;
    let mut client = cluster
        .client(0)
        .map_err(|e| LabError::Unavailable(format!("client: {e}")))?;
    client.set_timeout(Duration::from_secs(10));
    let flood = if congested {
        Some(congest(&lab, o, 6 * o.seconds + 60)?)
    } else {
        None
    };
    let cpu0 = super::cpu_seconds(nix::sys::resource::UsageWho::RUSAGE_SELF);
    let wall0 = Instant::now();
    let mut rows = Vec::new();
    let mut csv = String::from("system,op,congested,latency_ms\n");
    let mut plot = cdf_plot(
        format!(
            "{}: latency CDF, 1 KiB object{} ({} ms one-way)",
            if congested { "Figure 7" } else { "Figure 6" },
            if congested { ", WAN congested" } else { "" },
            o.wan.delay.as_millis()
        ),
        "latency (ms)",
    );
    let wan_now = |cluster: &LocalCluster, client: &Client| {
        let mut c = cluster.total_server_counters();
        c.add(&client.counters());
        (c.wan_bytes_priority, c.wan_bytes_normal)
    };
    let mut wan_md = String::from(
        "\nBytes each operation put on the WAN (both directions, all nodes; background propagation included):\n\n| system | op | priority B/op | normal B/op | priority share |\n|---|---|---|---|---|\n",
    );
    for (a, op) in OPS {
        if interrupted() {
            break;
        }
        let w0 = wan_now(&cluster, &client);
        let (lat, failed) = series(&mut client, a, op, o.seconds);
        // Let the background propagation of the last operations finish.
        sleep(Duration::from_millis(500));
        let w1 = wan_now(&cluster, &client);
        let ops = (lat.len() + failed + 1) as f64;
        let (p, n) = ((w1.0 - w0.0) as f64 / ops, (w1.1 - w0.1) as f64 / ops);
        let _ = writeln!(
            wan_md,
            "| {} | {op} | {p:.0} | {n:.0} | {:.1}% |",
            a.name(),
            100.0 * p / (p + n).max(1.0)
        );
        for l in &lat {
            let _ = writeln!(csv, "{},{op},{congested},{l:.3}", a.name());
        }
        plot.series.push(cdf(format!("{} {op}", a.name()), &lat));
        rows.push(summarize(name, a.name(), op, congested, &lat, failed));
    }
    let cpu = super::cpu_seconds(nix::sys::resource::UsageWho::RUSAGE_SELF) - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    let flooded = flood.map(Flood::stop);
    let mut md = format!(
        "# {}: {} \n\nThe client in site A runs one operation at a time on a 1 KiB object, \
         {} s per row; replicas n1 (site A), n2, n3 (site B), local set n1, n4, n5 (site A); \
         {} ms one-way delay, {} Mbit/s links, EF band {}; write-back skipping {}. {}\n\n{}\n",
        if congested { "Figure 7" } else { "Figure 6" },
        if congested { "latency under continuous congestion" } else { "latency without congestion" },
        o.seconds,
        o.wan.delay.as_millis(),
        o.wan.rate_mbit,
        if o.wan.priority_band { "on" } else { "off" },
        if o.writeback_skip.unwrap_or(false) { "on" } else { "off (as the paper's Section 6.3)" },
        match flooded {
            Some((sent, got)) => format!(
                "Congestion: {} × {} Mbit/s of UDP from A to B ({sent} datagrams sent, {got} arrived).",
                o.flows, o.flood_mbit
            ),
            None => String::from("No congestion."),
        },
        summary_md(&rows)
    );
    if !congested {
        md.push_str("\nThe paper's Figure 6 (ms, EC2 Ireland and a private cluster, about 110 ms RTT):\n\n| system | op | min | max | ours min | ours max |\n|---|---|---|---|---|---|\n");
        for ((a, op), (mn, mx)) in OPS.iter().zip(PAPER_FIG6) {
            let ours = rows.iter().find(|r| r.system == a.name() && r.op == *op);
            let _ = writeln!(
                md,
                "| {} | {op} | {mn} | {mx} | {:.1} | {:.1} |",
                a.name(),
                ours.map_or(f64::NAN, |r| r.min_ms),
                ours.map_or(f64::NAN, |r| r.max_ms)
            );
        }
    } else {
        md.push_str(
            "\nThe paper (Figure 7, log-scale CDFs): under continuous congestion the prior \
             algorithms' medians are over 300 ms above the new ones', and at the 90th \
             percentile nearly 1 s above for read and write, over 1 s for execute.\n",
        );
    }
    md.push_str(&wan_md);
    let _ = write!(
        md,
        "\n## The emulator and the machine\n\n{}\nProcess CPU over the measured part: {cpu:.1} s in {wall:.1} s.\n",
        relay_md(&lab)
    );
    write(&o.out_dir, &format!("{name}.csv"), &csv)?;
    write(&o.out_dir, &format!("{name}.svg"), &plot.to_svg())?;
    write(&o.out_dir, &format!("{name}.md"), &md)?;
    drop(client);
    drop(cluster);
    lab.down();
    Ok(rows)
}

/// Starts the congestion flows for at most `secs` and lets the queue
/// fill for 2 s.
fn congest(lab: &Lab, o: &ExpOptions, secs: u64) -> Result<Flood, LabError> {
    let f = Flood::start(lab, o.flows, o.flood_mbit, Duration::from_secs(secs))?;
    sleep(Duration::from_secs(2));
    Ok(f)
}

/// The paper's Figure 8 under congestion (s): median and maximum per
/// request type, prior algorithms then new ones.
const PAPER_FIG8: [[(f64, f64); 3]; 2] = [
    [(2.0, 14.1), (1.2, 11.3), (2.0, 11.9)],
    [(0.3, 0.4), (0.4, 0.6), (0.5, 0.8)],
];

/// Figure 8: the Twitter-like application ([`super::twitter`]) under
/// continuous congestion, `requests` requests of each type one at a time,
/// first on the prior algorithms (ABD and Algorithm 2), then on the new
/// ones (Algorithms 1 and 3).
pub fn fig8(o: &ExpOptions) -> Result<Vec<Summary>, LabError> {
    use super::twitter::{Request, Twitter};
    let lab = Lab::up(o.wan)?;
    let flood = congest(&lab, o, 3600)?;
    let mut rows = Vec::new();
    let mut csv = String::from("algorithms,request,latency_ms\n");
    let mut plot = cdf_plot(
        format!(
            "Figure 8: Twitter-like application under congestion ({} ms one-way)",
            o.wan.delay.as_millis()
        ),
        "request latency (ms)",
    );
    let err = |e: ClientError| LabError::Unavailable(format!("application: {e}"));
    for (label, rw, rmw) in [
        ("prior", Algorithm::Abd, Algorithm::LanRmw),
        ("new", Algorithm::VivaceRw, Algorithm::VivaceRmw),
    ] {
        let mut spec = LocalSpec::figure5(super::twitter::PAGE);
        spec.writeback_skip = o.writeback_skip.unwrap_or(true);
        spec.containers = vec![("tw/rw/".into(), rw), ("tw/rmw/".into(), rmw)];
        let mut cluster = lab.start_cluster(spec)?;
        let clients = (0..super::twitter::PAGE)
            .map(|i| {
                cluster.client(i).map(|mut c| {
                    c.set_timeout(Duration::from_secs(30));
                    c
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let pool = crate::pool::ClientPool::new(clients).map_err(err)?;
        let mut app = Twitter::new(pool, "tw/rw/", "tw/rmw/");
        app.setup().map_err(err)?;
        let system = format!("{label}: {} + {}", rw.name(), rmw.name());
        for r in Request::ALL {
            if interrupted() {
                break;
            }
            let (lat, failed) = app.run(r, o.requests, interrupted);
            for l in &lat {
                let _ = writeln!(csv, "{label},{},{l:.3}", r.name());
            }
            plot.series
                .push(cdf(format!("{label} {}", &r.name()[..2]), &lat));
            rows.push(summarize("fig8", &system, r.name(), true, &lat, failed));
        }
    }
    let (sent, got) = flood.stop();
    let mut md = format!(
        "# Figure 8: a Twitter-like application under congestion\n\n\
         Accounts and tweets (280 bytes) in RW objects, follower lists and timelines in RMW \
         objects; {} users, each following {}; a timeline read fetches the {} newest tweets in \
         parallel. {} requests of each type, one at a time, from site A; {} × {} Mbit/s of UDP \
         from A to B throughout ({sent} datagrams sent, {got} arrived); {} ms one-way delay, \
         {} Mbit/s links; write-back skipping {}.\n\n{}\n\
         The paper (Twissandra on Vivace, s):\n\n| algorithms | request | paper p50 | paper max | ours p50 | ours max |\n|---|---|---|---|---|---|\n",
        super::twitter::USERS,
        super::twitter::FOLLOWS,
        super::twitter::PAGE,
        o.requests,
        o.flows,
        o.flood_mbit,
        o.wan.delay.as_millis(),
        o.wan.rate_mbit,
        if o.writeback_skip.unwrap_or(true) { "on (as the paper's Section 6.4)" } else { "off" },
        summary_md(&rows)
    );
    for (k, label) in ["prior", "new"].iter().enumerate() {
        for (j, r) in Request::ALL.iter().enumerate() {
            let ours = rows
                .iter()
                .find(|x| x.system.starts_with(label) && x.op == r.name());
            let (p50, max) = PAPER_FIG8[k][j];
            let _ = writeln!(
                md,
                "| {label} | {} | {p50} | {max} | {:.2} | {:.2} |",
                r.name(),
                ours.map_or(f64::NAN, |x| x.p50_ms / 1e3),
                ours.map_or(f64::NAN, |x| x.max_ms / 1e3)
            );
        }
    }
    let _ = write!(md, "\n## The emulator\n\n{}", relay_md(&lab));
    write(&o.out_dir, "fig8.csv", &csv)?;
    write(&o.out_dir, "fig8.svg", &plot.to_svg())?;
    write(&o.out_dir, "fig8.md", &md)?;
    lab.down();
    Ok(rows)
}

/// etcd beside Vivace: the read / write workload of Figures 6 and 7 (1 KiB
/// values, one request at a time, `seconds` per series) against a
/// three-member etcd cluster (leader m1 in site A, m2 and m3 in site B),
/// without and with congestion; then again under congestion with all of
/// etcd's peer traffic (ports 2380 and 12380) in the priority band.
pub fn etcd(o: &ExpOptions) -> Result<Vec<Summary>, LabError> {
    use super::etcd::{Etcd, MEMBERS};
    let mut rows = Vec::new();
    let mut csv = String::from("system,op,congested,latency_ms\n");
    let mut relays = String::new();
    for (system, prioritized) in [("etcd", false), ("etcd-prioritized", true)] {
        let lab = Lab::up(o.wan)?;
        if prioritized {
            let ports: Vec<u16> = MEMBERS.iter().map(|m| m.2).collect();
            lab.prioritize_ports(&ports)?;
        }
        let cluster = Etcd::start(&lab)?;
        let mut c = cluster.client(&lab)?;
        let phases: &[bool] = if prioritized { &[true] } else { &[false, true] };
        for &congested in phases {
            let flood = if congested {
                Some(congest(&lab, o, 2 * o.seconds + 30)?)
            } else {
                None
            };
            for op in ["write", "read"] {
                let (mut lat, mut failed) = (Vec::new(), 0);
                let end = Instant::now() + Duration::from_secs(o.seconds);
                let mut n = 0u64;
                while Instant::now() < end && !interrupted() {
                    let t = Instant::now();
                    let r = if op == "write" {
                        n += 1;
                        c.put(b"lab/obj", value(n).as_slice())
                    } else {
                        c.get(b"lab/obj").map(|_| ())
                    };
                    match r {
                        Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                        Err(_) => {
                            failed += 1;
                            // A broken connection: open a new one.
                            c = cluster.client(&lab)?;
                        }
                    }
                }
                for l in &lat {
                    let _ = writeln!(csv, "{system},{op},{congested},{l:.3}");
                }
                rows.push(summarize("etcd", system, op, congested, &lat, failed));
            }
            if let Some(f) = flood {
                f.stop();
            }
        }
        let _ = write!(relays, "{system}:\n\n{}\n", relay_md(&lab));
        drop(c);
        drop(cluster);
        lab.down();
    }
    let md = format!(
        "# etcd in the lab\n\nThree etcd 3.4 members (m1 and the client in site A, m2 and m3 \
         in site B), HTTP/JSON gateway, linearizable reads, 1 KiB values, one request at a \
         time, {} s per row; {} ms one-way delay, {} Mbit/s links; congestion {} × {} Mbit/s \
         of UDP from A to B. `etcd-prioritized`: all peer traffic (ports 2380 and 12380) in \
         the priority band.\n\n{}\n\
         docs/lab.md's prototype measured (leader in A): quiet put 105 / 109 / 144 ms (p50 / p90 / p99), \
         congested 229 / 516 / 872; prioritized and congested 105 / 110 / 168.\n\n\
         ## The emulator\n\n{relays}",
        o.seconds,
        o.wan.delay.as_millis(),
        o.wan.rate_mbit,
        o.flows,
        o.flood_mbit,
        summary_md(&rows)
    );
    write(&o.out_dir, "etcd.csv", &csv)?;
    write(&o.out_dir, "etcd.md", &md)?;
    let mut plot = cdf_plot(
        format!(
            "etcd: latency CDF, 1 KiB values ({} ms one-way)",
            o.wan.delay.as_millis()
        ),
        "latency (ms)",
    );
    for r in &rows {
        let v: Vec<f64> = csv
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0] == r.system && f[1] == r.op && f[2] == r.congested.to_string())
                    .then(|| f[3].parse().ok())
                    .flatten()
            })
            .collect();
        let congested = if r.congested { " (congested)" } else { "" };
        plot.series
            .push(cdf(format!("{} {}{congested}", r.system, r.op), &v));
    }
    write(&o.out_dir, "etcd.svg", &plot.to_svg())?;
    Ok(rows)
}

/// Offered data rates of the `load` sweep, as fractions of the link.
pub const LOAD_STEPS: [f64; 6] = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5];

/// The `load` experiment ([`super::load`]): `seconds` (default 10) per
/// step, 16 KiB values, up to 256 operations in flight.
pub fn load(o: &ExpOptions) -> Result<(Vec<Summary>, Vec<super::load::LoadPoint>), LabError> {
    use super::load::{step, SYSTEMS};
    const VALUE: usize = 16 * 1024;
    const CLIENTS: usize = 256;
    let lab = Lab::up(o.wan)?;
    let mut points = Vec::new();
    let mut rows = Vec::new();
    let steps = if o.steps.is_empty() {
        LOAD_STEPS.to_vec()
    } else {
        o.steps.clone()
    };
    let chosen = |name: &str| o.systems.is_empty() || o.systems.iter().any(|s| s == name);
    // Between steps, long enough for the sites to drop the fragments an
    // overloaded step left unassembled (`ipfrag_time`, see `Lab::up`).
    let mut first = true;
    let mut settle = || {
        if !std::mem::take(&mut first) {
            sleep(Duration::from_secs(6));
        }
    };
    for (a, all) in SYSTEMS.into_iter().filter(|(a, _)| chosen(a.name())) {
        for &f in &steps {
            if interrupted() {
                break;
            }
            settle();
            let (p, summary) = step(&lab, a, all, f, VALUE, o.seconds, CLIENTS)?;
            eprintln!(
                "load: {} at {:.0}%: {} done, {} failed, p50 {:.1} ms, p99 {:.1} ms, backlog max {} values, drained in {:?} s",
                p.system, f * 100.0, p.completed, p.failed, p.p50_ms, p.p99_ms, p.backlog_max_entries, p.drain_s
            );
            rows.push(summary);
            points.push(p);
        }
    }
    if chosen("etcd") {
        // Last: its peer ports stay in the priority band from here on.
        let ports: Vec<u16> = super::etcd::MEMBERS.iter().map(|m| m.2).collect();
        lab.prioritize_ports(&ports)?;
        for &f in &steps {
            if interrupted() {
                break;
            }
            settle();
            let (p, summary) = super::load::etcd_step(&lab, f, VALUE, o.seconds, CLIENTS)?;
            eprintln!(
                "load: {} at {:.0}%: {} done, {} failed, p50 {:.1} ms, p99 {:.1} ms",
                p.system,
                f * 100.0,
                p.completed,
                p.failed,
                p.p50_ms,
                p.p99_ms
            );
            rows.push(summary);
            points.push(p);
        }
    }
    let mut csv = String::from(
        "system,offered,ops_per_s,completed,failed,p50_ms,p99_ms,max_ms,wan_priority_per_op,wan_normal_per_op,backlog_max_entries,backlog_max_bytes,drain_s\n",
    );
    let mut md = format!(
        "# load: headroom of prioritizing only the small messages (Section 4.2)\n\n\
         Open-loop writes (RW) or compare-and-swaps installing a new value (RMW) of {} KiB \
         from site A, each client of a pool on its own key, {} s per step, no other traffic; \
         offered value bytes per second from {:.0}% to {:.0}% of the {} Mbit/s link ({} ms \
         one-way). Latency counts from the time an operation was due. ABD and Algorithm 2 \
         run with every message in the priority class (`RuntimeOptions::all_priority`).\n\n\
         | system | offered | ops/s | completed | failed | p50 ms | p99 ms | max ms | WAN bytes/op priority | WAN bytes/op normal | backlog max (values, MiB) | drained in s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        VALUE / 1024,
        o.seconds,
        steps.first().copied().unwrap_or_default() * 100.0,
        steps.last().copied().unwrap_or_default() * 100.0,
        o.wan.rate_mbit,
        o.wan.delay.as_millis()
    );
    let na = |x: f64| {
        if x.is_nan() {
            String::from("-")
        } else {
            format!("{x:.0}")
        }
    };
    for p in &points {
        let _ = writeln!(
            csv,
            "{},{},{:.1},{},{},{:.3},{:.3},{:.3},{:.0},{:.0},{},{},{}",
            p.system,
            p.offered,
            p.ops_per_s,
            p.completed,
            p.failed,
            p.p50_ms,
            p.p99_ms,
            p.max_ms,
            p.wan_priority_per_op,
            p.wan_normal_per_op,
            p.backlog_max_entries,
            p.backlog_max_bytes,
            p.drain_s.map_or(String::from(""), |d| format!("{d:.2}"))
        );
        let _ =
            writeln!(
            md,
            "| {} | {:.0}% | {:.0} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {}, {:.1} | {} |",
            p.system, p.offered * 100.0, p.ops_per_s, p.completed, p.failed, p.p50_ms, p.p99_ms,
            p.max_ms, na(p.wan_priority_per_op), na(p.wan_normal_per_op), p.backlog_max_entries,
            p.backlog_max_bytes as f64 / (1 << 20) as f64,
            match (p.drain_s, p.backlog_max_entries) {
                (Some(d), _) => format!("{d:.2}"),
                (None, 0) => String::from("-"),
                (None, _) => String::from("not in 30 s"),
            }
        );
    }
    md.push_str("\nWhere each breaks (the first step whose p99 is over three times its p99 at the lowest step, or where over 1% of the offered operations did not complete):\n\n");
    let mut systems: Vec<&str> = Vec::new();
    for p in &points {
        if !systems.contains(&p.system.as_str()) {
            systems.push(&p.system);
        }
    }
    for &sys in &systems {
        let of: Vec<&super::load::LoadPoint> = points.iter().filter(|p| p.system == sys).collect();
        let Some(first) = of.first() else { continue };
        let broke = of.iter().find(|p| {
            p.p99_ms > 3.0 * first.p99_ms
                || p.failed as f64 > 0.01 * (p.completed + p.failed) as f64
        });
        let behind = of
            .iter()
            .find(|p| p.drain_s.is_none() && p.backlog_max_entries > 0);
        let _ = writeln!(
            md,
            "- {sys}: {}{}",
            broke.map_or(String::from("latency did not break up to the last step"), |p| format!(
                "latency breaks at {:.0}% of the link (p99 {:.0} ms, {} failed)",
                p.offered * 100.0,
                p.p99_ms,
                p.failed
            )),
            behind.map_or(String::new(), |p| format!(
                "; the background propagation falls behind from {:.0}% (backlog of {} values, {:.0} MiB, not drained 30 s after the load stopped)",
                p.offered * 100.0,
                p.backlog_max_entries,
                p.backlog_max_bytes as f64 / (1 << 20) as f64
            ))
        );
    }
    let _ = write!(md, "\n## The emulator\n\n{}", relay_md(&lab));
    let series = |pick: &dyn Fn(&super::load::LoadPoint) -> Option<f64>| -> Vec<Series> {
        systems
            .iter()
            .map(|&sys| Series {
                points: points
                    .iter()
                    .filter(|p| p.system == sys)
                    .filter_map(|p| pick(p).map(|y| (p.offered * 100.0, y)))
                    .collect(),
                name: sys.to_string(),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let x_label = "offered value bytes per second (% of the WAN link)".to_string();
    for (file, what) in [("load-p50.svg", "p50"), ("load-p99.svg", "p99")] {
        let plot = LinePlot {
            title: format!(
                "load: {what} latency vs offered data rate ({} KiB values)",
                VALUE / 1024
            ),
            x_label: x_label.clone(),
            y_label: format!("{what} latency (ms)"),
            log_x: false,
            log_y: true,
            y_range: None,
            series: series(&|p| Some(if what == "p50" { p.p50_ms } else { p.p99_ms })),
        };
        write(&o.out_dir, file, &plot.to_svg())?;
    }
    let plot = LinePlot {
        title: "load: largest propagation backlog (local_buf of the local replicas)".into(),
        x_label,
        y_label: "backlog (MiB)".into(),
        log_x: false,
        log_y: false,
        y_range: None,
        series: series(&|p| {
            (p.backlog_max_entries > 0 || p.system.starts_with("vivace"))
                .then(|| p.backlog_max_bytes as f64 / (1 << 20) as f64)
        }),
    };
    write(&o.out_dir, "load-backlog.svg", &plot.to_svg())?;
    write(&o.out_dir, "load.csv", &csv)?;
    write(&o.out_dir, "load.md", &md)?;
    lab.down();
    Ok((rows, points))
}

/// The `opts` experiment ([`super::opts`]): each read optimization of
/// Section 3.4.1 on and off, quiet and contended key, without and with
/// congestion; `seconds` (default 10) per row.
pub fn opts(o: &ExpOptions) -> Result<Vec<Summary>, LabError> {
    let lab = Lab::up(o.wan)?;
    let mut rows = super::opts::run(&lab, o)?;
    rows.extend(super::opts::executes(&lab, o)?);
    rows.extend(super::opts::delegations(&lab, o)?);
    rows.extend(super::opts::clocks(&lab, o)?);
    let mut csv = String::from(
        "optimizations,workload,congested,count,failed,p50_ms,p90_ms,p99_ms,max_ms,phases_per_read,wan_priority_per_read,wan_normal_per_read,client_bytes_per_op\n",
    );
    let mut md = format!(
        "# opts: the read optimizations of Section 3.4.1 on the lab's WAN\n\n\
         Algorithm 1, 1 KiB values, one reader in site A (Figure 5: replicas n1 in A, n2 and \
         n3 in B; local set n1, n4, n5 in A), {} s per row; *quiet*: a key nobody writes; \
         *contended*: a key a second client in site A overwrites back to back. Congestion: \
         {} × {} Mbit/s of UDP from A to B; {} ms one way, {} Mbit/s. Phases: `sendwait`s \
         per read (Algorithm 1: R-TS, R-DATA, W-TS). WAN bytes per read (both directions, \
         all nodes) on the quiet key only. The `execute` rows: Algorithm 3 (Section 3.4.2, \
         executing commands at replicas, off and on), a 16 KiB value and a 1-byte append, one \
         client alone on its key; phases and WAN bytes are per execute (the background \
         propagation included). The `delegation` rows (Section 3.4.2, delegating to a \
         replica, off and on): Algorithm 1's read of a quiet key and write, and Algorithm 3's \
         execute (a 1-byte append to a 1 KiB value), one client alone on its keys; phases \
         are the client's own (with delegation: the clock's and DELEGATE), and the last \
         column is what the client sends per operation. The last rows: Algorithm 1's write under each \
         clock mode (`synchronized`: the paper's clock; `clock_free`: the highest timestamp \
         of a majority, one more round trip; `commit_wait`: each clock reading waits out \
         10 ms of uncertainty), a writer alone on its key.\n\n\
         | optimizations | workload | congested | reads | p50 ms | p99 ms | max ms | phases/read | WAN B/read priority | WAN B/read normal | client B/op sent |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
        o.seconds,
        o.flows,
        o.flood_mbit,
        o.wan.delay.as_millis(),
        o.wan.rate_mbit
    );
    let opt = |x: Option<f64>| x.map_or(String::from("-"), |v| format!("{v:.0}"));
    for r in &rows {
        let s = &r.summary;
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{},{},{}",
            r.optimizations,
            r.workload,
            r.congested,
            s.count,
            s.failed,
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.max_ms,
            r.phases_per_read,
            r.wan_priority_per_read
                .map_or(String::new(), |v| format!("{v:.0}")),
            r.wan_normal_per_read
                .map_or(String::new(), |v| format!("{v:.0}")),
            r.client_bytes_per_op
                .map_or(String::new(), |v| format!("{v:.0}"))
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {} | {} | {} |",
            r.optimizations,
            r.workload,
            if r.congested { "yes" } else { "no" },
            s.count,
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            r.phases_per_read,
            opt(r.wan_priority_per_read),
            opt(r.wan_normal_per_read),
            opt(r.client_bytes_per_op)
        );
    }
    let _ = write!(md, "\n## The emulator\n\n{}", relay_md(&lab));
    write(&o.out_dir, "opts.csv", &csv)?;
    write(&o.out_dir, "opts.md", &md)?;
    lab.down();
    Ok(rows.into_iter().map(|r| r.summary).collect())
}
