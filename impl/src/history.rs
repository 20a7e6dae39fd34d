//! History recording in the checker's JSON-lines format, and checking it
//! with the `vivace-checker` library.

use crate::runtime::now_nanos;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vivace_checker::formats::{parse, Format, JsonlRecord};
use vivace_checker::models::VivaceModel;
use vivace_checker::{analyze, CheckOptions, CheckResult};
use vivace_spec::{Bytes, Command, Op};

/// A shared, append-only history of invocations and completions.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    records: Arc<Mutex<Vec<JsonlRecord>>>,
    next_id: Arc<AtomicU64>,
    unpaired: bool,
}

/// How an operation ended, for the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Completed; with the value read or returned (`None` for a write).
    Ok(Option<Bytes>),
    /// Definitely took no effect.
    Fail,
    /// May or may not have taken effect (timeout, RMW aborted with ⊥).
    Unknown,
}

fn text(b: &Bytes) -> String {
    String::from_utf8_lossy(b.as_slice()).into_owned()
}

impl Recorder {
    /// An empty history.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// A history whose records carry no operation id: completions pair with
    /// the open invocation of their client. For histories appended to by
    /// several processes (the CLI), where ids would collide.
    pub fn without_ids() -> Recorder {
        Recorder {
            unpaired: true,
            ..Recorder::default()
        }
    }

    /// Records an invocation; returns its operation id.
    pub fn invoke(&self, client: u64, key: &Bytes, op: &Op) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut r = JsonlRecord {
            kind: "invoke".into(),
            client,
            id: (!self.unpaired).then_some(id),
            key: Some(text(key)),
            ..JsonlRecord::default()
        };
        match op {
            Op::Read => r.op = Some("read".into()),
            Op::Write(v) => {
                r.op = Some("write".into());
                r.value = Some(text(v));
            }
            // Get returns the value unchanged: a read through the RMW path.
            Op::Execute(Command::Get) => r.op = Some("read".into()),
            Op::Execute(c) => {
                r.op = Some("execute".into());
                let (name, args) = match c {
                    Command::Increment => ("increment", vec![]),
                    Command::Append(s) => ("append", vec![text(s)]),
                    Command::Cas { from, to } => ("cas", vec![text(from), text(to)]),
                    Command::Get => unreachable!("handled above"),
                };
                r.command = Some(name.into());
                r.args = Some(args);
            }
        }
        r.time = now_nanos();
        self.records.lock().expect("history lock").push(r);
        id
    }

    /// Records the completion of operation `id`.
    pub fn complete(&self, client: u64, id: u64, outcome: Outcome) {
        let time = now_nanos();
        let (kind, value) = match outcome {
            Outcome::Ok(v) => ("ok", v.as_ref().map(text)),
            Outcome::Fail => ("fail", None),
            Outcome::Unknown => ("unknown", None),
        };
        let r = JsonlRecord {
            kind: kind.into(),
            client,
            id: (!self.unpaired).then_some(id),
            value,
            time,
            ..JsonlRecord::default()
        };
        self.records.lock().expect("history lock").push(r);
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.lock().expect("history lock").len()
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The history as JSON lines.
    pub fn to_jsonl(&self) -> String {
        let recs = self.records.lock().expect("history lock");
        let mut s = String::new();
        for r in recs.iter() {
            s.push_str(&serde_json::to_string(r).expect("records serialize"));
            s.push('\n');
        }
        s
    }

    /// Checks the history with the checker's Vivace model.
    pub fn check(&self, timeout: Duration) -> Verdict {
        check_jsonl(&self.to_jsonl(), timeout)
    }
}

/// The checker's verdict on a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Linearizable.
    Linearizable,
    /// Not linearizable.
    Illegal,
    /// The check did not finish in time (or the history did not parse).
    Unknown,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Linearizable => "linearizable",
            Verdict::Illegal => "illegal",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Checks a JSON-lines history text.
pub fn check_jsonl(text: &str, timeout: Duration) -> Verdict {
    let Ok(h) = parse(text, Format::Jsonl, "history") else {
        return Verdict::Unknown;
    };
    let opts = CheckOptions {
        timeout: Some(timeout),
        threads: 0,
        explain: false,
        max_rss: Some(2 << 30),
    };
    match analyze(&VivaceModel, &h.ops, &opts).result {
        CheckResult::Ok => Verdict::Linearizable,
        CheckResult::Illegal => Verdict::Illegal,
        CheckResult::Unknown => Verdict::Unknown,
    }
}
