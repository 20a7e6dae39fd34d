//! Running checks and reporting them: one implementation behind every
//! command of the CLI.

use crate::config::ModelConfig;
use crate::model::VivaceModel;
use crate::properties::SOMETIMES_NAMES;
use serde::Serialize;
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::{BTreeMap, BTreeSet};
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
    /// States visited by the search for `sometimes` examples without the
    /// partial-order reduction, when one was needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness_states: Option<usize>,
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
    /// Print progress to stderr every this often.
    pub progress_every: Option<Duration>,
    /// Look again without the partial-order reduction for `sometimes`
    /// properties the search left unreached (see `witness`).
    pub witness: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            search: Search::Dfs,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stop_at_violation: false,
            progress_every: Some(Duration::from_secs(5)),
            witness: true,
        }
    }
}

/// Checks one configuration.
///
/// With `split_crashes` and `max_crashes(1)`, "any one server may crash"
/// is checked as one search per class of interchangeable servers, in which
/// only that class's first server may crash: every execution with at most
/// one crash is an execution of the search of the server that crashed (of
/// any, if none did), up to renaming interchangeable servers. Each search
/// can then apply the partial-order reduction before the crash too (see
/// `VivaceModel::ample`). The report sums the states and seconds, takes
/// the deepest path, and joins the verdicts: an `always` property is
/// violated, and a `sometimes` one reached, if it is in any search.
/// A `sometimes` property that no search reached is then looked for
/// without the reduction (see [`witness`]), search by search, only if
/// every search missed it: a split in which it cannot happen (the fallback
/// of reading from fewer replicas when a replica in site B may crash)
/// would otherwise search its whole unreduced space for nothing.
pub fn check(cfg: ModelConfig, opts: RunOptions) -> Report {
    let parts = crash_split(&cfg);
    let mut merged: Option<Report> = None;
    for part in parts.iter().cloned() {
        let part = check_once(part, opts);
        merged = Some(match merged {
            None => part,
            Some(mut m) => {
                m.exhaustive &= part.exhaustive;
                m.unique_states += part.unique_states;
                m.max_depth = m.max_depth.max(part.max_depth);
                m.seconds += part.seconds;
                m.peak_mib = part.peak_mib;
                m.witness_states = match (m.witness_states, part.witness_states) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                };
                for (p, v) in part.properties {
                    let e = m.properties.entry(p).or_insert_with(|| v.clone());
                    if v == "violated" || v == "reached" {
                        *e = v;
                    }
                }
                if m.counterexample.is_none() {
                    m.counterexample = part.counterexample;
                }
                m
            }
        });
        if opts.stop_at_violation && merged.as_ref().is_some_and(|m| m.counterexample.is_some()) {
            break;
        }
    }
    let mut report = merged.expect("a configuration has a server");
    if opts.witness && !opts.stop_at_violation {
        for part in parts {
            if !witness(part, opts, &mut report) {
                break;
            }
        }
    }
    report
}

/// The searches that check `cfg`: itself, or one per server that may crash
/// (see [`check`]).
pub fn crash_split(cfg: &ModelConfig) -> Vec<ModelConfig> {
    if !(cfg.split_crashes && cfg.max_crashes == 1 && cfg.crash_only.is_none()) {
        return vec![cfg.clone()];
    }
    // The first server of each class of interchangeable servers (every
    // server without symmetry).
    let groups = cfg.symmetric_groups();
    (0..cfg.servers.len())
        .filter(|&i| !cfg.symmetry || !groups.iter().any(|g| g.contains(&i) && g[0] != i))
        .map(|k| ModelConfig {
            crash_only: Some(k),
            ..cfg.clone()
        })
        .collect()
}

/// If the search of record used partial-order reduction and left a
/// `sometimes` property unreached, a second search of `cfg` without the
/// reduction looks for it (stopping once every such property has an
/// example; an example found is real whatever the search's extent).
/// Breadth first: the examples are short, and the first branches of an
/// unreduced space are far larger than the path to one (depth first ran
/// over 20 minutes in `vivace_rw/lossy+parallel_writeback` without finding
/// the example that breadth first finds after 332,724 states).
/// Returns whether some property is still unreached.
fn witness(cfg: ModelConfig, opts: RunOptions, report: &mut Report) -> bool {
    let unreached: BTreeSet<&'static str> = report
        .properties
        .iter()
        .filter(|(_, v)| *v == "unreached")
        .filter_map(|(k, _)| SOMETIMES_NAMES.iter().find(|n| **n == k.as_str()).copied())
        .collect();
    // The reduction is on only for the algorithms as written (see `ample`).
    let reduced = cfg.partial_order && crate::model::reduction_sound_with(cfg.mutation);
    if unreached.is_empty() || !reduced {
        return !unreached.is_empty();
    }
    eprintln!(
        "  {}/{}: unreached with the reduction, searching without it: {}",
        cfg.algorithm.name(),
        cfg.name,
        unreached.iter().copied().collect::<Vec<_>>().join("; ")
    );
    let symmetric = cfg.symmetry;
    let model = VivaceModel::new(ModelConfig {
        partial_order: false,
        ..cfg
    });
    let start = Instant::now();
    let mut builder = model
        .checker()
        .threads(opts.threads)
        .finish_when(HasDiscoveries::AllOf(unreached.clone()));
    if symmetric {
        builder = builder.symmetry();
    }
    let checker = builder.spawn_bfs().join();
    let found = checker.discoveries();
    let mut left = false;
    for name in unreached {
        if found.contains_key(name) {
            report.properties.insert(name.to_string(), "reached".into());
        } else {
            left = true;
        }
    }
    report.witness_states = Some(report.witness_states.unwrap_or(0) + checker.unique_state_count());
    report.seconds += start.elapsed().as_secs_f64();
    report.peak_mib = peak_mib();
    left
}

fn check_once(cfg: ModelConfig, opts: RunOptions) -> Report {
    let name = format!("{}/{}", cfg.algorithm.name(), cfg.name);
    let algorithm = cfg.algorithm.name().to_string();
    let config = cfg.name.clone();
    let optimizations = cfg.optimizations();
    let clock = cfg.clock_name().to_string();
    let model = VivaceModel::new(cfg);
    let properties = model.properties();
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
    let seconds = start.elapsed().as_secs_f64();
    let discoveries = checker.discoveries();
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
        witness_states: None,
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
    if let Some(cx) = &r.counterexample {
        s += "  counterexample:\n";
        for step in cx {
            s += &format!("    {step}\n");
        }
    }
    s
}
