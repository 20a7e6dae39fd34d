//! `vivace-proofs`: check the configurations of record, refute the mutants,
//! or explore a model in Stateright's Explorer.

use clap::{Parser, Subcommand};
use stateright::Model;
use std::process::ExitCode;
use vivace_proofs::config::ModelConfig;
use vivace_proofs::model::VivaceModel;
use vivace_proofs::mutants;
use vivace_proofs::run::{check, render, Report, RunOptions};
use vivace_spec::Algorithm;

#[derive(Parser)]
#[command(about = "Model checking of the Vivace algorithms")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check one algorithm, or all of them, exhaustively.
    Check {
        /// abd, vivace_rw, lan_rmw or vivace_rmw.
        algorithm: Option<String>,
        /// Every algorithm in every configuration of record.
        #[arg(long)]
        all: bool,
        /// The CI tier: every algorithm and every switch, each in one
        /// configuration of record small enough that all run in minutes
        /// (`ModelConfig::CI_TIER`).
        #[arg(long)]
        ci: bool,
        /// Also count the handlers' named branch points, and list at the end
        /// those no search executed (docs/coverage.md explains each).
        #[arg(long)]
        coverage: bool,
        /// List the configurations each algorithm has, and stop.
        #[arg(long)]
        list: bool,
        /// base, crash, lossy, cross-site; stateright-default (abd); skew, skew-clock-free, skew-commit-wait (abd, vivace_rw); small, tiny. Any NAME+SWITCH: writeback_skip (abd, vivace_rw), parallel_writeback, fewer_replicas (vivace_rw), execute_at_replicas (vivace_rmw), delegation (vivace_rw, vivace_rmw); switches combine. takeover-crash, takeover-lossy (vivace_rw, vivace_rmw: tiny with delegation, the takeover at any moment under faults). Default: every configuration of record and `ModelConfig::extra_of_record`.
        #[arg(long)]
        config: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Run each configuration in its own process, so peak memory is its own.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        isolate: bool,
        /// With several configurations: stop one still running after this many
        /// minutes and report it as not exhaustive (it then fails the check).
        /// A guard against a search that would not end, not a bound of any
        /// proof: machines of the project's kind differ twofold in speed, and
        /// the largest configuration of record took 10 to 22 minutes.
        #[arg(long, default_value_t = 40.0)]
        minutes: f64,
    },
    /// Check every mutant: each must be refuted.
    Mutants {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Only the mutant of this name.
        #[arg(long)]
        only: Option<String>,
        /// Only the mutants refuted in a configuration of the CI tier.
        #[arg(long)]
        ci: bool,
        /// List the mutants, where each is refuted and by what, and stop.
        #[arg(long)]
        list: bool,
    },
    /// The directory service's reconfiguration protocol: check it
    /// and refute its mutants, printing their counterexamples.
    Reconfig,
    /// Serve Stateright's Explorer for a model on 127.0.0.1.
    Explore {
        /// abd, vivace_rw, lan_rmw or vivace_rmw.
        algorithm: String,
        /// Configuration name.
        #[arg(long, default_value = "base")]
        config: String,
        /// Port.
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
}

fn algorithm(name: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(name).ok_or_else(|| {
        format!("unknown algorithm {name:?}: expected abd, vivace_rw, lan_rmw or vivace_rmw")
    })
}

fn emit(r: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).expect("a report serializes"));
    } else {
        print!("{}", render(r));
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<bool, String> {
    match cli.cmd {
        Cmd::Check {
            algorithm: alg,
            all,
            ci,
            coverage,
            list,
            config,
            json,
            threads,
            isolate,
            minutes,
        } => {
            if list {
                for a in Algorithm::ALL {
                    println!("{}", a.name());
                    println!("  of record: {}", ModelConfig::all_of_record(a).join(" "));
                    println!("  others:    {}", ModelConfig::names(a).join(" "));
                }
                let tier: Vec<String> = ModelConfig::CI_TIER
                    .iter()
                    .map(|(a, c)| format!("{}/{c}", a.name()))
                    .collect();
                println!("ci tier: {}", tier.join(" "));
                return Ok(true);
            }
            let mut jobs = Vec::new();
            if ci {
                if alg.is_some() || all || config.is_some() {
                    return Err("--ci takes no ALGORITHM, --all or --config".into());
                }
                for (a, n) in ModelConfig::CI_TIER {
                    jobs.push(ModelConfig::named(a, n).expect("the CI tier names configurations"));
                }
            } else {
                let algs: Vec<Algorithm> = match (&alg, all) {
                    (Some(a), false) => vec![algorithm(a)?],
                    (None, true) => Algorithm::ALL.to_vec(),
                    _ => return Err("give one ALGORITHM, --all or --ci".into()),
                };
                for a in &algs {
                    let names: Vec<String> = match &config {
                        Some(c) => vec![c.clone()],
                        None => ModelConfig::all_of_record(*a),
                    };
                    for n in &names {
                        let cfg = ModelConfig::named(*a, n).ok_or_else(|| {
                            format!(
                                "no configuration {n:?} for {}; it has: {}",
                                a.name(),
                                ModelConfig::names(*a).join(", ")
                            )
                        })?;
                        jobs.push(cfg);
                    }
                }
            }
            let mut ok = true;
            let mut covered: std::collections::BTreeMap<String, u64> = Default::default();
            let opts = RunOptions {
                threads: threads.unwrap_or(RunOptions::default().threads),
                coverage,
                ..Default::default()
            };
            let started = std::time::Instant::now();
            if isolate && jobs.len() > 1 {
                // One process per configuration: its peak memory is its own.
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                for cfg in jobs {
                    let mut cmd = std::process::Command::new(&exe);
                    cmd.args([
                        "check",
                        cfg.algorithm.name(),
                        "--config",
                        &cfg.name,
                        "--json",
                        "--isolate",
                        "false",
                    ]);
                    cmd.args(["--threads", &opts.threads.to_string()]);
                    if coverage {
                        cmd.arg("--coverage");
                    }
                    let start = std::time::Instant::now();
                    let mut child = cmd
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::inherit())
                        .spawn()
                        .map_err(|e| e.to_string())?;
                    // A configuration still running at the limit is stopped and
                    // reported as not exhaustive: never as a proof.
                    let limit = std::time::Duration::from_secs_f64(minutes * 60.0);
                    let finished = loop {
                        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
                            break true;
                        }
                        if start.elapsed() >= limit {
                            let _ = child.kill();
                            let _ = child.wait();
                            break false;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    };
                    let mut stdout = String::new();
                    if let Some(mut o) = child.stdout.take() {
                        use std::io::Read;
                        o.read_to_string(&mut stdout).map_err(|e| e.to_string())?;
                    }
                    let line = if finished {
                        stdout
                    } else {
                        let unfinished = serde_json::json!({
                            "name": format!("{}/{}", cfg.algorithm.name(), cfg.name),
                            "algorithm": cfg.algorithm.name(),
                            "config": cfg.name,
                            "exhaustive": false,
                            "unique_states": null,
                            "max_depth": null,
                            "seconds": start.elapsed().as_secs_f64(),
                            "peak_mib": null,
                            "properties": {},
                            "counterexample": null,
                            "stopped": format!("still running after {minutes} minutes"),
                        });
                        unfinished.to_string()
                    };
                    let r: serde_json::Value = serde_json::from_str(line.trim())
                        .map_err(|e| format!("child output: {e}: {line}"))?;
                    let report = report_from_json(&r);
                    ok &= report.proves();
                    for (b, n) in report.coverage.iter().flatten() {
                        *covered.entry(b.clone()).or_default() += n;
                    }
                    if json {
                        println!("{}", line.trim());
                    } else {
                        print!("{}", render(&report));
                    }
                }
            } else {
                for cfg in jobs {
                    let r = check(cfg, opts);
                    ok &= r.proves();
                    for (b, n) in r.coverage.iter().flatten() {
                        *covered.entry(b.clone()).or_default() += n;
                    }
                    emit(&r, json);
                }
            }
            if coverage && !json {
                let never: Vec<&str> = vivace_spec::coverage::Branch::ALL
                    .iter()
                    .map(|b| b.name())
                    .filter(|b| covered.get(*b).is_none_or(|n| *n == 0))
                    .collect();
                println!(
                    "coverage: {} of {} branch points executed; never executed:",
                    vivace_spec::coverage::Branch::ALL.len() - never.len(),
                    vivace_spec::coverage::Branch::ALL.len()
                );
                for b in never {
                    println!("  {b}");
                }
            }
            if !json {
                println!("total: {:.0} s", started.elapsed().as_secs_f64());
            }
            Ok(ok)
        }
        Cmd::Mutants {
            json,
            only,
            ci,
            list,
        } => {
            if list {
                for m in mutants::all() {
                    println!(
                        "{:<36} {:<42} {}",
                        m.name,
                        format!("{}/{}", m.algorithm.name(), m.config),
                        m.refuted_by
                    );
                }
                return Ok(true);
            }
            let mut ok = true;
            let mut rows = Vec::new();
            for m in mutants::all() {
                if only.as_deref().is_some_and(|o| o != m.name) {
                    continue;
                }
                if ci && !ModelConfig::CI_TIER.contains(&(m.algorithm, m.config)) {
                    continue;
                }
                let opts = RunOptions {
                    search: m.search,
                    stop_at_violation: true,
                    ..Default::default()
                };
                let mut r = check(m.model_config(), opts);
                r.name = m.name.to_string();
                r.expected = Some("violated".into());
                r.refuted_by = Some(m.refuted_by.to_string());
                let refuted = r.violated(m.refuted_by);
                ok &= refuted;
                let steps = r.counterexample.as_ref().map_or(0, |c| {
                    c.iter()
                        .filter(|l| !l.starts_with("history") && !l.starts_with("crashed"))
                        .count()
                });
                let of_record = format!("{}/{}", m.algorithm.name(), m.config);
                emit(&r, json);
                if !json {
                    if refuted {
                        println!(
                            "  refuted as expected: {} violated after {steps} steps in {of_record}",
                            m.refuted_by
                        );
                    } else {
                        let void = if r.premises == "violated" {
                            " (and the premises of garbage collection fail: the search is void)"
                        } else {
                            ""
                        };
                        println!("  NOT REFUTED: {} holds in {of_record}{void}", m.refuted_by);
                    }
                    println!("  why: {}\n", m.why);
                }
                rows.push((
                    m.name,
                    of_record,
                    m.refuted_by,
                    refuted,
                    steps,
                    r.unique_states,
                ));
            }
            if rows.is_empty() {
                let names: Vec<&str> = mutants::all().iter().map(|m| m.name).collect();
                return Err(format!(
                    "no mutant named {:?}; the mutants are: {}",
                    only.unwrap_or_default(),
                    names.join(", ")
                ));
            }
            if !json {
                println!(
                    "{:<36} {:<40} {:<13} {:>6} {:>10}",
                    "mutant", "refuted in", "by", "steps", "states"
                );
                for (name, of_record, by, refuted, steps, states) in &rows {
                    let by = if *refuted {
                        by.to_string()
                    } else {
                        format!("NOT {by}")
                    };
                    println!("{name:<36} {of_record:<40} {by:<13} {steps:>6} {states:>10}");
                }
            }
            Ok(ok)
        }
        Cmd::Reconfig => {
            let (report, ok) = vivace_proofs::reconfig::check_all();
            print!("{report}");
            Ok(ok)
        }
        Cmd::Explore {
            algorithm: a,
            config,
            port,
        } => {
            let cfg = ModelConfig::named(algorithm(&a)?, &config)
                .ok_or_else(|| format!("no configuration {config:?}"))?;
            let addr = format!("127.0.0.1:{port}");
            println!("Explorer for {a}/{config}: http://{addr}/");
            VivaceModel::new(cfg).checker().threads(1).serve(addr);
            Ok(true)
        }
    }
}

fn report_from_json(v: &serde_json::Value) -> Report {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Report {
        name: s("name"),
        algorithm: s("algorithm"),
        config: s("config"),
        optimizations: v["optimizations"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        clock: s("clock"),
        exhaustive: v["exhaustive"] == true,
        unique_states: v["unique_states"].as_u64().unwrap_or(0) as usize,
        max_depth: v["max_depth"].as_u64().unwrap_or(0) as usize,
        seconds: v["seconds"].as_f64().unwrap_or(0.0),
        peak_mib: v["peak_mib"].as_f64(),
        properties: v["properties"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        coverage: v["coverage"].as_array().map(|a| {
            a.iter()
                .map(|x| {
                    let name = x[0].as_str().unwrap_or_default().to_string();
                    (name, x[1].as_u64().unwrap_or(0))
                })
                .collect()
        }),
        premises: v["premises"].as_str().unwrap_or("none").to_string(),
        breaches: v["breaches"].as_array().map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        }),
        counterexample: v["counterexample"].as_array().map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        }),
        expected: None,
        refuted_by: None,
        stopped: v["stopped"].as_str().map(str::to_string),
    }
}
