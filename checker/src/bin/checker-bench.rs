//! `checker-bench`: medians of check time (after parsing) on the reference
//! histories and on generated ones, with peak memory.
//!
//! Usage: `cargo run --release -p vivace-checker --bin checker-bench -- [--reps N] [--data DIR] [--quick] [--only K] [--in-process]`
//!
//! Each scenario runs in a child process (so that its peak RSS, VmHWM, is its
//! own) unless `--in-process`; `--only K` runs scenario K alone.

use std::path::PathBuf;
use std::time::{Duration, Instant};
use vivace_checker::formats::{read_file, Format, History};
use vivace_checker::gen::{generate, GenConfig, Workload};
use vivace_checker::model::Model;
use vivace_checker::models::{KvModel, KvUnsplitModel, RegisterModel};
use vivace_checker::{check_operations, CheckResult};

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_hwm() {
    // Resets the peak RSS counter (Linux >= 4.0); ignored elsewhere.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

struct Row {
    name: String,
    ops: usize,
    median: Duration,
    verdict: String,
    rss_mib: f64,
    porcupine: &'static str,
}

fn measure(
    name: &str,
    ops: usize,
    reps: usize,
    porcupine: &'static str,
    f: &dyn Fn() -> Vec<CheckResult>,
) -> Row {
    reset_hwm();
    let mut times = Vec::new();
    let mut verdict = String::new();
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        times.push(t.elapsed());
        let ok = r.iter().filter(|x| **x == CheckResult::Ok).count();
        let bad = r.iter().filter(|x| **x == CheckResult::Illegal).count();
        let unk = r.len() - ok - bad;
        verdict = if r.len() == 1 {
            format!("{:?}", r[0])
        } else {
            format!("{ok} ok / {bad} illegal / {unk} unknown")
        };
    }
    let rss = vm_hwm_kib().unwrap_or(0) as f64 / 1024.0;
    let row = Row {
        name: name.to_string(),
        ops,
        median: median(times),
        verdict,
        rss_mib: rss,
        porcupine,
    };
    eprintln!(
        "{:<34} {:>7} ops  median {:>9}  ({})  peak RSS {:.1} MiB",
        row.name,
        row.ops,
        fmt(row.median),
        row.verdict,
        row.rss_mib
    );
    row
}

fn check<M>(m: &M, h: &History) -> CheckResult
where
    M: Model<Input = vivace_checker::models::OpInput, Output = vivace_checker::models::OpOutput>,
{
    check_operations(m, &h.ops, None)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut reps = 5;
    let mut quick = false;
    let mut only: Option<usize> = None;
    let mut in_process = false;
    let mut data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/porcupine");
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--reps" => {
                i += 1;
                reps = args.get(i).and_then(|s| s.parse().ok()).unwrap_or(5);
            }
            "--data" => {
                i += 1;
                data = PathBuf::from(args.get(i).cloned().unwrap_or_default());
            }
            "--quick" => quick = true,
            "--in-process" => in_process = true,
            "--only" => {
                i += 1;
                only = args.get(i).and_then(|s| s.parse().ok());
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(3);
            }
        }
        i += 1;
    }
    let reps = reps.max(1);

    // Parse everything first: only check time is measured.
    let mut etcd: Vec<History> = Vec::new();
    for n in 0..=102 {
        let p = data.join(format!("jepsen/etcd_{n:03}.log"));
        let h = read_file(&p, Some(Format::Jepsen)).unwrap_or_else(|e| panic!("{e}"));
        if !h.ops.is_empty() {
            etcd.push(h);
        }
    }
    let kv = |name: &str| {
        read_file(&data.join(format!("kv/{name}.txt")), Some(Format::Kv))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (c50ok, c50bad, c10ok, c10bad) = (kv("c50-ok"), kv("c50-bad"), kv("c10-ok"), kv("c10-bad"));
    let etcd_ops: usize = etcd.iter().map(|h| h.ops.len()).sum();

    let unsplit_reps = if quick { 1 } else { reps };
    let mut generated = Vec::new();
    for n in [1_000usize, 10_000, 100_000] {
        let cfg = GenConfig {
            ops: n,
            clients: 20,
            stretch: 10,
            unknown_percent: 1,
            fail_percent: 1,
            workload: Workload::Kv { keys: 100 },
        };
        generated.push(generate(&cfg, 42));
    }
    type Job<'a> = (
        String,
        usize,
        usize,
        &'static str,
        Box<dyn Fn() -> Vec<CheckResult> + 'a>,
    );
    let mut jobs: Vec<Job> = vec![
        (
            format!("(a) {} etcd files in sequence", etcd.len()),
            etcd_ops,
            reps,
            "555 ms",
            Box::new(|| etcd.iter().map(|h| check(&RegisterModel, h)).collect()),
        ),
        (
            "(b) c50-ok".into(),
            c50ok.ops.len(),
            reps,
            "329 ms",
            Box::new(|| vec![check(&KvModel, &c50ok)]),
        ),
        (
            "(c) c50-bad".into(),
            c50bad.ops.len(),
            reps,
            "52 ms",
            Box::new(|| vec![check(&KvModel, &c50bad)]),
        ),
        (
            "(d) c10-ok unsplit".into(),
            c10ok.ops.len(),
            unsplit_reps,
            "3.3 s",
            Box::new(|| {
                let m = KvUnsplitModel {
                    keys: c10ok.keys.len(),
                };
                vec![check(&m, &c10ok)]
            }),
        ),
        (
            "(d) c10-bad unsplit".into(),
            c10bad.ops.len(),
            unsplit_reps,
            "3.6 s",
            Box::new(|| {
                let m = KvUnsplitModel {
                    keys: c10bad.keys.len(),
                };
                vec![check(&m, &c10bad)]
            }),
        ),
    ];
    for h in &generated {
        jobs.push((
            format!("generated kv, {} ops, 100 keys", h.ops.len()),
            h.ops.len(),
            if h.ops.len() >= 100_000 {
                reps.min(3)
            } else {
                reps
            },
            "",
            Box::new(move || vec![check(&KvModel, h)]),
        ));
    }
    let mut rows = Vec::new();
    for (k, (name, ops, r, porcupine, f)) in jobs.iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        if only.is_none() && !in_process {
            // Each scenario in its own process, so that peak RSS is its own.
            let out = std::process::Command::new(std::env::current_exe().expect("exe"))
                .args(["--only", &k.to_string(), "--reps", &r.to_string()])
                .arg("--data")
                .arg(&data)
                .output()
                .expect("run child");
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text
                .lines()
                .find(|l| l.starts_with("ROW\t"))
                .unwrap_or_else(|| {
                    panic!(
                        "scenario {k} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                });
            let f: Vec<&str> = line.split('\t').collect();
            let row = Row {
                name: name.clone(),
                ops: *ops,
                median: Duration::from_nanos(f[1].parse().expect("nanos")),
                verdict: f[2].to_string(),
                rss_mib: f[3].parse().expect("rss"),
                porcupine,
            };
            eprintln!(
                "{:<34} {:>7} ops  median {:>9}  ({})  peak RSS {:.1} MiB",
                row.name,
                row.ops,
                fmt(row.median),
                row.verdict,
                row.rss_mib
            );
            rows.push(row);
        } else {
            let row = measure(name, *ops, *r, porcupine, f.as_ref());
            if only.is_some() {
                println!(
                    "ROW\t{}\t{}\t{:.1}",
                    row.median.as_nanos(),
                    row.verdict,
                    row.rss_mib
                );
                return;
            }
            rows.push(row);
        }
    }

    println!("| history | ops | median check time | porcupine | verdict | peak RSS |");
    println!("|---|---:|---:|---:|---|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} MiB |",
            r.name,
            r.ops,
            fmt(r.median),
            if r.porcupine.is_empty() {
                "—"
            } else {
                r.porcupine
            },
            r.verdict,
            r.rss_mib
        );
    }
}
