//! Explanations of a check: a plain-text summary for the terminal and a
//! self-contained HTML report (inline CSS and JS, no network access).

use crate::checker::{Analysis, CheckResult};
use crate::model::{Model, Operation};
use serde_json::{json, Value as Json};

/// Names shown for partitions and operations.
#[derive(Clone, Debug, Default)]
pub struct RenderInfo<'a> {
    /// Report title (usually the file name).
    pub title: &'a str,
    /// Key names, indexed by partition key.
    pub key_names: Option<&'a [String]>,
    /// Source line of each operation, if known.
    pub lines: Option<&'a [usize]>,
}

fn key_name(info: &RenderInfo, key: Option<u64>) -> String {
    match key {
        None => "(whole history)".to_string(),
        Some(k) => info
            .key_names
            .and_then(|n| n.get(k as usize))
            .map_or_else(|| format!("#{k}"), |s| format!("{s:?}")),
    }
}

fn verdict_name(r: CheckResult) -> &'static str {
    match r {
        CheckResult::Ok => "linearizable",
        CheckResult::Illegal => "illegal",
        CheckResult::Unknown => "unknown",
    }
}

/// States after each step of `lin`, starting with the initial state.
fn replay<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    lin: &[usize],
) -> Vec<M::State> {
    let mut states = vec![model.init()];
    for &i in lin {
        let last = states.last().expect("nonempty");
        match model.step(last, &history[i].input, &history[i].output) {
            Some(s) => states.push(s),
            None => break,
        }
    }
    states
}

/// For each operation that could not come next: why.
fn stuck_reasons<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    state: &M::State,
    stuck: &[usize],
) -> Vec<String> {
    stuck
        .iter()
        .map(
            |&i| match model.step(state, &history[i].input, &history[i].output) {
                None => format!("impossible in state {}", model.describe_state(state)),
                Some(_) => "possible here, but every continuation after it fails".to_string(),
            },
        )
        .collect()
}

/// A plain-text explanation of an illegal history (empty otherwise).
pub fn explain_text<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    analysis: &Analysis,
    info: &RenderInfo,
) -> String {
    let Some(e) = &analysis.explanation else {
        return String::new();
    };
    let p = &analysis.partitions[e.partition];
    let line = |i: usize| {
        info.lines
            .and_then(|l| l.get(i))
            .map_or(String::new(), |l| format!(" (line {l})"))
    };
    let mut out = format!(
        "  failing partition: key {} ({} operations)\n  longest partial linearization ({} of {}):\n",
        key_name(info, p.key),
        p.ops.len(),
        e.longest.len(),
        p.ops.len()
    );
    let states = replay(model, history, &e.longest);
    for (n, &i) in e.longest.iter().enumerate() {
        let o = &history[i];
        out += &format!(
            "    {:>4}. client {}: {}{}  => {}\n",
            n + 1,
            o.client,
            model.describe_operation(&o.input, &o.output),
            line(i),
            states
                .get(n + 1)
                .map_or("?".into(), |s| model.describe_state(s))
        );
    }
    let last = states.last().expect("nonempty");
    out += &format!(
        "  state: {}\n  operations that could not come next:\n",
        model.describe_state(last)
    );
    for (&i, why) in e
        .stuck
        .iter()
        .zip(stuck_reasons(model, history, last, &e.stuck))
    {
        let o = &history[i];
        out += &format!(
            "    client {}: {}{}: {}\n",
            o.client,
            model.describe_operation(&o.input, &o.output),
            line(i),
            why
        );
    }
    out
}

/// Renders a self-contained HTML report: one row per client with the
/// operations as boxes on a time axis, the linearization order, states
/// before/after each step on hover, and a "jump to first problem" control.
/// Its size depends on the history only.
pub fn render<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    analysis: &Analysis,
    info: &RenderInfo,
) -> String {
    let mut part_of = vec![usize::MAX; history.len()];
    for (p, part) in analysis.partitions.iter().enumerate() {
        for &i in &part.ops {
            part_of[i] = p;
        }
    }
    let ops: Vec<Json> = history
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({
                "c": o.client,
                "s": o.call,
                "e": o.ret,
                "d": model.describe_operation(&o.input, &o.output),
                "p": part_of[i],
                "l": info.lines.and_then(|l| l.get(i)),
            })
        })
        .collect();
    let mut problem = Json::Null;
    let partitions: Vec<Json> = analysis
        .partitions
        .iter()
        .enumerate()
        .map(|(p, part)| {
            let states = replay(model, history, &part.linearization);
            let explained = analysis.explanation.as_ref().filter(|e| e.partition == p);
            if let Some(e) = explained {
                let last = states.last().expect("nonempty");
                problem = json!({
                    "partition": p,
                    "stuck": e.stuck,
                    "why": stuck_reasons(model, history, last, &e.stuck),
                    "state": model.describe_state(last),
                });
            }
            json!({
                "key": key_name(info, part.key),
                "result": if explained.is_some() { "illegal" } else { verdict_name(part.result) },
                "complete": part.result == CheckResult::Ok,
                "lin": part.linearization,
                "states": states.iter().map(|s| model.describe_state(s)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let data = json!({
        "title": info.title,
        "verdict": verdict_name(analysis.result),
        "ops": ops,
        "partitions": partitions,
        "problem": problem,
    });
    // Safe inside <script>: no '<' survives, so no "</script>".
    let data = data.to_string().replace('<', "\\u003c");
    let title = html_escape(info.title);
    let (head, tail) = TEMPLATE
        .split_once("{{DATA}}")
        .expect("template has a data slot");
    let mut out = head.replace("{{TITLE}}", &title);
    out.push_str(&data);
    out.push_str(tail);
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = include_str!("report.html");
