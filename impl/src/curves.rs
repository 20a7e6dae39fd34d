//! The three benchmark curves of the Zzyzx paper (Hendricks et al., DSN
//! 2010, Figures 6-8), for each algorithm on an in-process loopback
//! cluster: throughput against clients, latency against throughput (the
//! points of the clients sweep), and throughput against contention (the
//! number of keys the clients pick from uniformly, at a fixed number of
//! clients: with one key every operation contends).

use crate::plot::{LinePlot, Series};
use crate::runtime::RuntimeError;
use crate::workload::{bench, BenchConfig, BenchResult};
use serde::Serialize;
use std::fmt::Write;
use vivace_spec::Algorithm;

/// What to sweep.
#[derive(Clone, Debug)]
pub struct CurveSpec {
    /// Algorithms, each its own line.
    pub algorithms: Vec<Algorithm>,
    /// Client counts of the clients sweep.
    pub clients: Vec<usize>,
    /// Key counts of the contention sweep.
    pub keys: Vec<usize>,
    /// Clients of the contention sweep.
    pub contention_clients: usize,
    /// Everything else (value size, read share, duration, keys of the
    /// clients sweep, client threads).
    pub base: BenchConfig,
}

/// One run of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    /// `clients` or `keys`.
    pub sweep: &'static str,
    /// The result.
    pub result: BenchResult,
}

/// Every run of both sweeps.
#[derive(Clone, Debug, Serialize)]
pub struct Curves {
    /// In the order run.
    pub points: Vec<CurvePoint>,
}

/// Runs both sweeps for every algorithm; `progress` sees each result.
pub fn run_curves(
    spec: &CurveSpec,
    mut progress: impl FnMut(&CurvePoint),
) -> Result<Curves, RuntimeError> {
    let mut points = Vec::new();
    for &a in &spec.algorithms {
        let mut runs: Vec<(&'static str, BenchConfig)> = Vec::new();
        for &c in &spec.clients {
            runs.push((
                "clients",
                BenchConfig {
                    clients: c,
                    ..spec.base.clone()
                },
            ));
        }
        for &k in &spec.keys {
            runs.push((
                "keys",
                BenchConfig {
                    clients: spec.contention_clients,
                    keys: k,
                    ..spec.base.clone()
                },
            ));
        }
        for (sweep, mut cfg) in runs {
            cfg.algorithm = a.name();
            let p = CurvePoint {
                sweep,
                result: bench(&cfg, a)?,
            };
            progress(&p);
            points.push(p);
        }
    }
    Ok(Curves { points })
}

impl Curves {
    fn series(&self, sweep: &str, f: impl Fn(&BenchResult) -> (f64, f64)) -> Vec<Series> {
        let mut out: Vec<Series> = Vec::new();
        for p in self.points.iter().filter(|p| p.sweep == sweep) {
            let name = p.result.config.algorithm.to_string();
            let pt = f(&p.result);
            match out.iter_mut().find(|s| s.name == name) {
                Some(s) => s.points.push(pt),
                None => out.push(Series {
                    name,
                    points: vec![pt],
                }),
            }
        }
        out
    }

    /// The three plots, with the file names they are written under.
    pub fn plots(&self, what: &str) -> Vec<(&'static str, LinePlot)> {
        let contention_clients = self
            .points
            .iter()
            .find(|p| p.sweep == "keys")
            .map_or(0, |p| p.result.config.clients);
        vec![
            (
                "throughput-vs-clients.svg",
                LinePlot {
                    title: format!("Throughput vs clients ({what})"),
                    x_label: "closed-loop clients".into(),
                    y_label: "operations per second".into(),
                    log_x: true,
                    log_y: false,
                    y_range: None,
                    series: self
                        .series("clients", |r| (r.config.clients as f64, r.throughput_ops_s)),
                },
            ),
            (
                "latency-vs-throughput.svg",
                LinePlot {
                    title: format!("Median latency vs throughput ({what})"),
                    x_label: "operations per second".into(),
                    y_label: "p50 latency (ms)".into(),
                    log_x: false,
                    log_y: true,
                    y_range: None,
                    series: self.series("clients", |r| {
                        (r.throughput_ops_s, r.latency.p50_us as f64 / 1e3)
                    }),
                },
            ),
            (
                "throughput-vs-contention.svg",
                LinePlot {
                    title: format!(
                        "Throughput vs contention ({contention_clients} clients, {what})"
                    ),
                    x_label: "keys chosen from (1 = every operation contends)".into(),
                    y_label: "completed operations per second".into(),
                    log_x: true,
                    log_y: false,
                    y_range: None,
                    series: self.series("keys", |r| (r.config.keys as f64, r.throughput_ops_s)),
                },
            ),
        ]
    }

    /// A markdown table of every run.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| algorithm | sweep | clients | keys | ops/s | p50 ms | p99 ms | p99.9 ms | abort rate | errors | datagrams per operation |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for p in &self.points {
            let r = &p.result;
            let dgrams = (r.traffic.priority.datagrams + r.traffic.normal.datagrams) as f64
                / (r.finished.max(1) as f64);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.1} |",
                r.config.algorithm,
                p.sweep,
                r.config.clients,
                r.config.keys,
                r.throughput_ops_s,
                r.latency.p50_us as f64 / 1e3,
                r.latency.p99_us as f64 / 1e3,
                r.latency.p999_us as f64 / 1e3,
                r.abort_rate,
                r.errors,
                dgrams
            );
        }
        s
    }
}
