//! Running checks and reporting them: one implementation behind every
//! command of the CLI.

use crate::config::ModelConfig;
use crate::model::{Event, VivaceModel};
use crate::properties::{WAITING_OR_DATA_ANSWERED, WAITING_READ_ANSWERED};
use serde::Serialize;
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Search order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// Depth first: little memory; the search of record.
    Dfs,
    /// Breadth first: shortest counterexamples; used for mutants.
    Bfs,
}

/// What a check found: the JSON line of `check --json` and `mutants --json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `algorithm/config` (or the mutant's name).
    pub name: String,
    /// `abd`, `vivace_rw`, `lan_rmw` or `vivace_rmw`.
    pub algorithm: String,
    /// Configuration name.
    pub config: String,
    /// Optimization switches on (Section 3.4), by their `Options` names.
    pub optimizations: Vec<String>,
    /// How writers get timestamps (`ModelConfig::clock_name`):
    /// `synchronized`, `skewed`, `clock_free` or `commit_wait`.
    pub clock: String,
    /// The search visited every reachable state.
    pub exhaustive: bool,
    /// Distinct states visited.
    pub unique_states: usize,
    /// Longest path explored.
    pub max_depth: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak resident memory of the process, in MiB (Linux `VmHWM`).
    pub peak_mib: Option<f64>,
    /// `always` properties: `holds` / `violated`; `sometimes`: `reached` / `unreached`.
    pub properties: BTreeMap<String, String>,
    /// The steps to the first violation, if any.
    pub counterexample: Option<Vec<String>>,
    /// Whether the premises of garbage collection held on everything the
    /// search reached (`holds`), failed (`violated`, with `breaches`), or
    /// were not needed (`none`: no collection).
    pub premises: String,
    /// With `check --coverage`: how many times the search executed each
    /// named branch point of the handlers (`vivace_spec::coverage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Vec<(String, u64)>>,
    /// The premises that failed, and what shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaches: Option<Vec<String>>,
    /// For mutants: the property expected to be violated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Why the search was stopped before it finished (`check --minutes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// For mutants: which property must fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refuted_by: Option<String>,
}

impl Report {
    /// Every `always` property holds and every `sometimes` was reached, and
    /// the search was exhaustive.
    pub fn proves(&self) -> bool {
        self.exhaustive
            && self.premises != "violated"
            && self
                .properties
                .values()
                .all(|v| v == "holds" || v == "reached")
    }
    /// The property `p` was found violated.
    pub fn violated(&self, p: &str) -> bool {
        self.properties.get(p).map(String::as_str) == Some("violated")
    }
}

/// Peak resident set size of this process in MiB, from `/proc/self/status`.
pub fn peak_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// How a check is run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Search order.
    pub search: Search,
    /// Worker threads.
    pub threads: usize,
    /// Stop at the first violated `always` property (for mutants).
    pub stop_at_violation: bool,
    /// Count the handlers' named branch points (`check --coverage`): the
    /// counters are process-wide, so run one check at a time.
    pub coverage: bool,
    /// Print progress to stderr every this often.
    pub progress_every: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            search: Search::Dfs,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stop_at_violation: false,
            progress_every: Some(Duration::from_secs(5)),
            coverage: false,
        }
    }
}

/// Checks one configuration: one search, then the premises of garbage
/// collection on everything the search recorded (see [`crate::garbage`]).
pub fn check(cfg: ModelConfig, opts: RunOptions) -> Report {
    let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
    let algorithm = cfg.algorithm.name().to_string();
    let config = cfg.name.clone();
    let optimizations = cfg.optimizations();
    let clock = cfg.clock_name().to_string();
    let model = VivaceModel::new(cfg);
    let properties = model.properties();
    if opts.coverage {
        vivace_spec::coverage::take();
    }
    let start = Instant::now();
    let symmetric = model.cfg.symmetry;
    let mut builder = model.checker().threads(opts.threads);
    if symmetric && opts.search == Search::Dfs {
        builder = builder.symmetry();
    }
    if opts.stop_at_violation {
        builder = builder.finish_when(HasDiscoveries::AnyFailures);
    }
    let checker: Box<dyn Checker<VivaceModel>> = match opts.search {
        Search::Dfs => Box::new(builder.spawn_dfs()),
        Search::Bfs => Box::new(builder.spawn_bfs()),
    };
    let mut last = Instant::now();
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(every) = opts.progress_every {
            if last.elapsed() >= every {
                last = Instant::now();
                let secs = start.elapsed().as_secs_f64();
                let n = checker.unique_state_count();
                eprintln!(
                    "  {name}: {n} states, {:.0} states/s, depth {}, {secs:.0} s",
                    n as f64 / secs,
                    checker.max_depth()
                );
                let _ = std::io::stderr().flush();
            }
        }
    }
    let discoveries = checker.discoveries();
    let model = checker.model();
    let (premises, breaches) = match &model.auditor {
        None => ("none".to_string(), None),
        Some(a) => {
            let b = vivace_spec::coverage::paused(|| a.check(&model.actors));
            if b.is_empty() {
                ("holds".to_string(), None)
            } else {
                let lines = b
                    .iter()
                    .map(|x| format!("premise {} at actor {}: {}", x.premise, x.actor, x.what))
                    .collect();
                ("violated".to_string(), Some(lines))
            }
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let mut props = BTreeMap::new();
    let mut counterexample = None;
    let mut all_discovered = true;
    for p in &properties {
        let found = discoveries.get(p.name);
        all_discovered &= found.is_some();
        let verdict = match (&p.expectation, found) {
            (Expectation::Always, None) | (Expectation::Eventually, None) => "holds",
            (Expectation::Always, Some(_)) | (Expectation::Eventually, Some(_)) => "violated",
            (Expectation::Sometimes, Some(_)) => "reached",
            (Expectation::Sometimes, None) => "unreached",
        };
        if verdict == "violated" && counterexample.is_none() {
            let path = found.expect("violated has a path").clone();
            counterexample = Some(trace(checker.model(), path));
        }
        props.insert(p.name.to_string(), verdict.to_string());
    }
    // Witnessed by a step rather than a state (see `model::Event`).
    for (name, e) in [
        (WAITING_READ_ANSWERED, Event::WaitingReadAnswered),
        (WAITING_OR_DATA_ANSWERED, Event::WaitingOrDataAnswered),
    ] {
        if let Some(v) = props.get_mut(name) {
            if model.witnessed(e) {
                *v = "reached".into();
            }
        }
    }
    let coverage = opts.coverage.then(|| {
        vivace_spec::coverage::take()
            .into_iter()
            .map(|(b, n)| (b.name().to_string(), n))
            .collect()
    });
    // The search ends early only when every property has a discovery (or at
    // the first violation, if asked): then it was not exhaustive.
    let stopped_early = all_discovered || (opts.stop_at_violation && counterexample.is_some());
    Report {
        name,
        algorithm,
        config,
        optimizations,
        clock,
        exhaustive: checker.is_done() && !stopped_early,
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        seconds,
        peak_mib: peak_mib(),
        properties: props,
        counterexample,
        premises,
        breaches,
        coverage,
        expected: None,
        stopped: None,
        refuted_by: None,
    }
}

/// A counterexample as readable steps: each action, then the history at the end.
pub fn trace(
    model: &VivaceModel,
    path: stateright::Path<crate::model::State, crate::model::Action>,
) -> Vec<String> {
    let steps = path.into_vec();
    let mut out = Vec::new();
    let mut last = None;
    for (i, (state, action)) in steps.into_iter().enumerate() {
        if let Some(a) = action {
            out.push(format!("{:>3}. {}", i + 1, model.format_action(&a)));
        }
        last = Some(state);
    }
    if let Some(s) = last {
        for (c, ops) in s.history.ops.iter().enumerate() {
            for (i, o) in ops.iter().enumerate() {
                let ret = o
                    .ret
                    .as_ref()
                    .map_or("pending".to_string(), |r| format!("{r:?}"));
                out.push(format!(
                    "history: client {c} op {i}: {:?} -> {ret} (invoked after {:?} completed ops)",
                    o.op, o.after
                ));
            }
        }
        if s.crashed.len() > 0 {
            out.push(format!("crashed servers: {:?}", s.crashed));
        }
    }
    out
}

/// A report as one human-readable block.
pub fn render(r: &Report) -> String {
    if let Some(why) = &r.stopped {
        return format!(
            "{}: NOT exhaustive: stopped, {why} ({:.0} s)\n",
            r.name, r.seconds
        );
    }
    let mut s = format!(
        "{}: {} ({} states, depth {}, {:.1} s{})\n",
        r.name,
        if r.exhaustive {
            "exhaustive"
        } else {
            "NOT exhaustive"
        },
        r.unique_states,
        r.max_depth,
        r.seconds,
        r.peak_mib
            .map_or(String::new(), |m| format!(", {m:.0} MiB peak"))
    );
    for (p, v) in &r.properties {
        s += &format!("    {v:>9}  {p}\n");
    }
    if r.premises != "none" {
        s += &format!("    {:>9}  premises of garbage collection\n", r.premises);
    }
    for b in r.breaches.iter().flatten() {
        s += &format!("      {b}\n");
    }
    if let Some(cx) = &r.counterexample {
        s += "  counterexample:\n";
        for step in cx {
            s += &format!("    {step}\n");
        }
    }
    s
}

/// Every history of client operations (invocations, their real-time order,
/// results) reachable in `cfg`, searched to the end: what `linearizable`
/// judges. A reduction is sound for the histories when it keeps this set
/// (`proofs/tests/reductions.rs`).
pub fn histories(cfg: ModelConfig, threads: usize) -> std::collections::BTreeSet<String> {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let symmetric = cfg.symmetry;
    let mut model = VivaceModel::new(cfg);
    model.history_log = Some(seen.clone());
    let mut b = model.checker().threads(threads);
    if symmetric {
        b = b.symmetry();
    }
    let c = b.spawn_dfs().join();
    assert!(c.is_done(), "the search for histories finished");
    drop(c);
    let out = seen.lock().expect("no search thread panicked").clone();
    out
}
