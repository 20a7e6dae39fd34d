//! History readers: the project's JSON-lines format (see README.md), Jepsen
//! etcd logs, and porcupine's EDN-like key-value format.

use crate::model::Operation;
use crate::models::{Command, OpInput, OpOutput, RmwCommand, Value};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Input errors; every syntax error names the file, the line and the reason.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File name.
        file: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed or inconsistent with the rest of the history.
    #[error("{file}:{line}: {reason}")]
    Syntax {
        /// File name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No `--format` was given and the content is not recognisable.
    #[error("{file}: cannot detect the history format (use --format)")]
    UnknownFormat {
        /// File name.
        file: String,
    },
}

/// The supported history formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The project's JSON-lines format.
    Jsonl,
    /// Jepsen etcd logs (`INFO jepsen.util - <process> :invoke :read nil`).
    Jepsen,
    /// Porcupine's key-value format (`{:process 1, :type :ok, :f :get, ...}`).
    Kv,
}

/// A parsed, format-neutral history.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Operations, in order of invocation in the file.
    pub ops: Vec<Operation<OpInput, OpOutput>>,
    /// Key names; `OpInput::key` indexes this.
    pub keys: Vec<String>,
    /// 1-based line of each operation's invocation.
    pub lines: Vec<usize>,
    /// The format the history was read from.
    pub format: Option<Format>,
}

impl History {
    /// Number of distinct clients.
    pub fn clients(&self) -> usize {
        let mut c: Vec<u64> = self.ops.iter().map(|o| o.client).collect();
        c.sort_unstable();
        c.dedup();
        c.len()
    }
}

/// Guesses the format from the file name and content.
pub fn detect(path: &Path, content: &str) -> Option<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") | Some("json") | Some("ndjson") => return Some(Format::Jsonl),
        Some("log") => return Some(Format::Jepsen),
        Some("edn") => return Some(Format::Kv),
        _ => {}
    }
    let first = content.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.starts_with("{\"") {
        Some(Format::Jsonl)
    } else if first.starts_with("{:") {
        Some(Format::Kv)
    } else if first.contains("jepsen.util") {
        Some(Format::Jepsen)
    } else {
        None
    }
}

/// Reads and parses a file; `format` `None` means auto-detect.
pub fn read_file(path: &Path, format: Option<Format>) -> Result<History, FormatError> {
    let file = path.display().to_string();
    let content = std::fs::read_to_string(path).map_err(|source| FormatError::Io {
        file: file.clone(),
        source,
    })?;
    let format = match format.or_else(|| detect(path, &content)) {
        Some(f) => f,
        None if content.trim().is_empty() => Format::Jsonl,
        None => return Err(FormatError::UnknownFormat { file }),
    };
    let mut h = parse(&content, format, &file)?;
    h.format = Some(format);
    Ok(h)
}

/// Parses a history given as text; `file` is only used in error messages.
pub fn parse(content: &str, format: Format, file: &str) -> Result<History, FormatError> {
    let mut b = Builder::new(file);
    for (i, line) in content.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let r = match format {
            Format::Jsonl => jsonl_line(&mut b, line, n),
            Format::Jepsen => jepsen_line(&mut b, line, n),
            Format::Kv => kv_line(&mut b, line, n),
        };
        r.map_err(|reason| FormatError::Syntax {
            file: file.to_string(),
            line: n,
            reason,
        })?;
    }
    Ok(b.finish())
}

/// How a completion finds its invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pair {
    Client(u64),
    Id(u64),
}

enum Done {
    Ok(Option<Value>),
    Fail,
    Unknown,
}

struct Builder {
    h: History,
    open: HashMap<Pair, usize>,
    key_index: HashMap<String, u32>,
    ids_seen: HashMap<u64, usize>,
}

impl Builder {
    fn new(_file: &str) -> Self {
        Builder {
            h: History::default(),
            open: HashMap::new(),
            key_index: HashMap::new(),
            ids_seen: HashMap::new(),
        }
    }

    fn key(&mut self, k: &str) -> u32 {
        if let Some(&i) = self.key_index.get(k) {
            return i;
        }
        let i = self.h.keys.len() as u32;
        self.h.keys.push(k.to_string());
        self.key_index.insert(k.to_string(), i);
        i
    }

    fn invoke(
        &mut self,
        pair: Pair,
        client: u64,
        key: u32,
        command: Command,
        time: u64,
        line: usize,
    ) -> Result<(), String> {
        if let Some(&prev) = self.open.get(&pair) {
            return Err(match pair {
                Pair::Client(c) => format!(
                    "client {c} invokes again while its operation from line {} is still open",
                    self.h.lines[prev]
                ),
                Pair::Id(id) => format!(
                    "operation id {id} invoked again while open since line {}",
                    self.h.lines[prev]
                ),
            });
        }
        if let Pair::Id(id) = pair {
            if let Some(prev) = self.ids_seen.insert(id, line) {
                return Err(format!("operation id {id} already used on line {prev}"));
            }
        }
        self.open.insert(pair, self.h.ops.len());
        self.h.ops.push(Operation {
            client,
            input: OpInput { key, command },
            call: time,
            output: OpOutput::Unknown,
            ret: None,
        });
        self.h.lines.push(line);
        Ok(())
    }

    /// Completes the open operation; returns its index.
    fn complete(&mut self, pair: Pair, done: Done, time: u64) -> Result<usize, String> {
        let Some(i) = self.open.remove(&pair) else {
            return Err(match pair {
                Pair::Client(c) => format!("completion for client {c} without an invocation"),
                Pair::Id(id) => format!("completion of operation id {id} without an invocation"),
            });
        };
        let op = &mut self.h.ops[i];
        if time < op.call {
            return Err(format!(
                "completion time {time} is before the invocation time {} (line {})",
                op.call, self.h.lines[i]
            ));
        }
        match done {
            Done::Ok(v) => {
                let v = match op.input.command {
                    Command::Read | Command::Get | Command::Execute(_) => v,
                    _ => None,
                };
                op.output = OpOutput::Ok(v);
                op.ret = Some(time);
            }
            Done::Fail => {
                op.output = OpOutput::Fail;
                op.ret = Some(time);
            }
            Done::Unknown => {
                op.output = OpOutput::Unknown;
                op.ret = None;
            }
        }
        Ok(i)
    }

    fn finish(self) -> History {
        self.h
    }
}

// ---------------------------------------------------------------- JSON lines

/// One line of the project's JSON-lines history format (see README.md).
/// Writers (e.g. the Vivace runtime) can serialize this directly with
/// `serde_json::to_string`; absent fields are omitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlRecord {
    /// `"invoke"`, `"ok"`, `"fail"` or `"unknown"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Client id.
    pub client: u64,
    /// Operation id pairing invocation and completion (else: by client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// `"read"`, `"write"` or `"execute"` (invocations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Key (invocations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Written value (write invocations) or returned value (ok completions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// RMW command (execute invocations): increment, append, cas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// RMW command arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Time in nanoseconds.
    pub time: u64,
}

fn jsonl_line(b: &mut Builder, line: &str, n: usize) -> Result<(), String> {
    let r: JsonlRecord = serde_json::from_str(line).map_err(|e| format!("invalid record: {e}"))?;
    let pair = r.id.map_or(Pair::Client(r.client), Pair::Id);
    match r.kind.as_str() {
        "invoke" => {
            let op = r.op.as_deref().ok_or("invocation without \"op\"")?;
            let key = r.key.as_deref().ok_or("invocation without \"key\"")?;
            let command = match op {
                "read" => Command::Read,
                "write" => {
                    Command::Write(r.value.as_deref().ok_or("write without \"value\"")?.into())
                }
                "execute" => {
                    let c = r.command.as_deref().ok_or("execute without \"command\"")?;
                    let args = r.args.clone().unwrap_or_default();
                    let arity = |k: usize| {
                        if args.len() == k {
                            Ok(())
                        } else {
                            Err(format!(
                                "command {c} takes {k} argument(s), got {}",
                                args.len()
                            ))
                        }
                    };
                    Command::Execute(match c {
                        "increment" => {
                            arity(0)?;
                            RmwCommand::Increment
                        }
                        "append" => {
                            arity(1)?;
                            RmwCommand::Append(args[0].as_str().into())
                        }
                        "cas" => {
                            arity(2)?;
                            RmwCommand::Cas {
                                from: args[0].as_str().into(),
                                to: args[1].as_str().into(),
                            }
                        }
                        other => return Err(format!("unknown command {other:?}")),
                    })
                }
                other => return Err(format!("unknown operation {other:?}")),
            };
            let key = b.key(key);
            b.invoke(pair, r.client, key, command, r.time, n)
        }
        kind @ ("ok" | "fail" | "unknown") => {
            let done = match kind {
                "ok" => Done::Ok(r.value.map(Value::from)),
                "fail" => Done::Fail,
                _ => Done::Unknown,
            };
            let i = b.complete(pair, done, r.time)?;
            let op = &b.h.ops[i];
            if op.client != r.client {
                return Err(format!(
                    "completion by client {} of an operation of client {}",
                    r.client, op.client
                ));
            }
            if let Some(o) = &r.op {
                if o != op.input.command.name() {
                    return Err(format!(
                        "completion says operation {o:?} but the invocation was {:?}",
                        op.input.command.name()
                    ));
                }
            }
            Ok(())
        }
        other => Err(format!(
            "unknown type {other:?} (expected invoke, ok, fail or unknown)"
        )),
    }
}

// ---------------------------------------------------------------- Jepsen

fn jepsen_line(b: &mut Builder, line: &str, n: usize) -> Result<(), String> {
    let Some(pos) = line.find("jepsen.util") else {
        return Ok(()); // other log lines carry no operations
    };
    let mut f = line[pos + "jepsen.util".len()..].split_whitespace();
    if f.next() != Some("-") {
        return Err("expected '-' after jepsen.util".into());
    }
    let process = f.next().ok_or("missing process")?;
    if process.starts_with(':') {
        return Ok(()); // :nemesis and the like are not clients
    }
    let client: u64 = process
        .parse()
        .map_err(|_| format!("bad process {process:?}"))?;
    let kind = f
        .next()
        .ok_or("missing type (:invoke, :ok, :fail, :info)")?;
    let func = f.next().ok_or("missing operation (:read, :write, :cas)")?;
    let rest: Vec<&str> = f.collect();
    let time = n as u64;
    let pair = Pair::Client(client);
    let value = |rest: &[&str]| -> Result<Value, String> {
        match rest {
            [v] if *v != "nil" => Ok((*v).into()),
            _ => Err(format!("expected one value, got {:?}", rest.join(" "))),
        }
    };
    let pairv = |rest: &[&str]| -> Result<(Value, Value), String> {
        match rest {
            [a, c] if a.starts_with('[') && c.ends_with(']') => {
                Ok((a[1..].into(), c[..c.len() - 1].into()))
            }
            _ => Err(format!("expected [from to], got {:?}", rest.join(" "))),
        }
    };
    match kind {
        ":invoke" => {
            let command = match func {
                ":read" => Command::Read,
                ":write" => Command::Write(value(&rest)?),
                ":cas" => {
                    let (from, to) = pairv(&rest)?;
                    Command::Cas { from, to }
                }
                other => return Err(format!("unknown operation {other:?}")),
            };
            let key = b.key("");
            b.invoke(pair, client, key, command, time, n)
        }
        ":ok" => {
            let v = match func {
                ":read" => match rest.as_slice() {
                    ["nil"] => None,
                    _ => Some(value(&rest)?),
                },
                ":write" => {
                    value(&rest)?;
                    None
                }
                ":cas" => {
                    pairv(&rest)?;
                    None
                }
                other => return Err(format!("unknown operation {other:?}")),
            };
            b.complete(pair, Done::Ok(v), time).map(drop)
        }
        ":fail" | ":info" => {
            if !matches!(func, ":read" | ":write" | ":cas") {
                return Err(format!("unknown operation {func:?}"));
            }
            let done = if kind == ":fail" {
                Done::Fail
            } else {
                Done::Unknown
            };
            b.complete(pair, done, time).map(drop)
        }
        other => Err(format!("unknown type {other:?}")),
    }
}

// ---------------------------------------------------------------- kv (EDN)

#[derive(Debug, PartialEq)]
enum Edn {
    Keyword(String),
    Int(i64),
    Str(String),
    Nil,
}

fn edn_map(line: &str) -> Result<Vec<(String, Edn)>, String> {
    let s = line.trim();
    let inner = s.strip_prefix('{').ok_or("expected a map {...}")?;
    let inner = inner
        .strip_suffix('}')
        .ok_or("missing closing '}' (truncated line?)")?;
    let mut chars = inner.chars().peekable();
    let mut out = Vec::new();
    let mut tokens: Vec<Edn> = Vec::new();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | ',' | '\t' => {
                chars.next();
            }
            '"' => {
                chars.next();
                let mut st = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => st.push('\n'),
                            Some('t') => st.push('\t'),
                            Some(x) => st.push(x),
                            None => return Err("unterminated string".into()),
                        },
                        Some(x) => st.push(x),
                    }
                }
                tokens.push(Edn::Str(st));
            }
            _ => {
                let mut w = String::new();
                while let Some(&x) = chars.peek() {
                    if x == ' ' || x == ',' || x == '\t' {
                        break;
                    }
                    w.push(x);
                    chars.next();
                }
                tokens.push(if let Some(k) = w.strip_prefix(':') {
                    Edn::Keyword(k.to_string())
                } else if w == "nil" {
                    Edn::Nil
                } else if let Ok(i) = w.parse() {
                    Edn::Int(i)
                } else {
                    return Err(format!("unexpected token {w:?}"));
                });
            }
        }
    }
    if tokens.len() & 1 != 0 {
        return Err("map has an odd number of forms".into());
    }
    let mut it = tokens.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        match k {
            Edn::Keyword(k) => out.push((k, v)),
            other => return Err(format!("map key {other:?} is not a keyword")),
        }
    }
    Ok(out)
}

fn kv_line(b: &mut Builder, line: &str, n: usize) -> Result<(), String> {
    let map = edn_map(line)?;
    let get = |k: &str| map.iter().find(|(x, _)| x == k).map(|(_, v)| v);
    let client = match get("process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        _ => return Err("missing or bad :process".into()),
    };
    let kind = match get("type") {
        Some(Edn::Keyword(k)) => k.as_str(),
        _ => return Err("missing or bad :type".into()),
    };
    let func = match get("f") {
        Some(Edn::Keyword(k)) => k.as_str(),
        _ => return Err("missing or bad :f".into()),
    };
    let key = match get("key") {
        Some(Edn::Str(k)) => k.clone(),
        Some(Edn::Int(i)) => i.to_string(),
        _ => return Err("missing or bad :key".into()),
    };
    let value: Option<Value> = match get("value") {
        Some(Edn::Str(v)) => Some(v.as_str().into()),
        Some(Edn::Nil) | None => None,
        Some(Edn::Int(i)) => Some(i.to_string().into()),
        Some(other) => return Err(format!("bad :value {other:?}")),
    };
    let time = n as u64;
    let pair = Pair::Client(client);
    match kind {
        "invoke" => {
            let need = || {
                value
                    .clone()
                    .ok_or_else(|| format!(":{func} without :value"))
            };
            let command = match func {
                "get" => Command::Get,
                "put" => Command::Put(need()?),
                "append" => Command::Append(need()?),
                other => return Err(format!("unknown operation :{other}")),
            };
            let key = b.key(&key);
            b.invoke(pair, client, key, command, time, n)
        }
        "ok" | "fail" | "info" => {
            let done = match kind {
                "ok" => Done::Ok(value),
                "fail" => Done::Fail,
                _ => Done::Unknown,
            };
            let i = b.complete(pair, done, time)?;
            let op = &b.h.ops[i];
            if op.input.command.name() != func || b.h.keys[op.input.key as usize] != key {
                return Err(format!(
                    "completion :{func} {key:?} does not match the invocation on line {}",
                    b.h.lines[i]
                ));
            }
            Ok(())
        }
        other => Err(format!("unknown type :{other}")),
    }
}

/// Writes a history in the project's JSON-lines format (operations paired by
/// `id`; an unknown outcome is written as an `unknown` completion at the
/// call time). Key indices must be valid for `history.keys`. Key-value
/// commands are written as their Vivace equivalents (get → read, put →
/// write, append → execute append); a register `cas` becomes execute cas.
pub fn write_jsonl(history: &History) -> String {
    let mut records: Vec<(u64, u8, usize, JsonlRecord)> = Vec::new();
    let s = |v: &Value| v.as_str().to_string();
    for (i, op) in history.ops.iter().enumerate() {
        let mut inv = JsonlRecord {
            kind: "invoke".into(),
            client: op.client,
            id: Some(i as u64),
            key: Some(history.keys[op.input.key as usize].clone()),
            time: op.call,
            ..JsonlRecord::default()
        };
        let (o, value, command, args): (&str, Option<String>, Option<&str>, Option<Vec<String>>) =
            match &op.input.command {
                Command::Read | Command::Get => ("read", None, None, None),
                Command::Write(v) | Command::Put(v) => ("write", Some(s(v)), None, None),
                Command::Append(v) | Command::Execute(RmwCommand::Append(v)) => {
                    ("execute", None, Some("append"), Some(vec![s(v)]))
                }
                Command::Cas { from, to } | Command::Execute(RmwCommand::Cas { from, to }) => {
                    ("execute", None, Some("cas"), Some(vec![s(from), s(to)]))
                }
                Command::Execute(RmwCommand::Increment) => {
                    ("execute", None, Some("increment"), None)
                }
            };
        inv.op = Some(o.into());
        inv.value = value;
        inv.command = command.map(str::to_string);
        inv.args = args;
        records.push((op.call, 0, i, inv));
        let (kind, value, time) = match (&op.output, op.ret) {
            (OpOutput::Ok(v), Some(t)) => ("ok", v.as_ref().map(s), t),
            (OpOutput::Fail, Some(t)) => ("fail", None, t),
            _ => ("unknown", None, op.call),
        };
        let done = JsonlRecord {
            kind: kind.into(),
            client: op.client,
            id: Some(i as u64),
            value,
            time,
            ..JsonlRecord::default()
        };
        records.push((time, 1, i, done));
    }
    records.sort_by_key(|(t, k, i, _)| (*t, *k, *i));
    let mut out = String::new();
    for (_, _, _, r) in records {
        out.push_str(&serde_json::to_string(&r).expect("serializable"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jepsen_basic() {
        let text = "INFO  jepsen.util - 0\t:invoke\t:cas\t[3 0]\n\
                    INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 0 :fail :cas [3 0]\n\
                    INFO  jepsen.util - 1\t:info\t:read\t:timed-out\n";
        let h = parse(text, Format::Jepsen, "t").unwrap();
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[0].output, OpOutput::Fail);
        assert_eq!(h.ops[0].ret, Some(3));
        assert_eq!(h.ops[1].output, OpOutput::Unknown);
        assert_eq!(h.ops[1].ret, None);
    }

    #[test]
    fn kv_basic_and_errors() {
        let text = "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
                    {:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n";
        let h = parse(text, Format::Kv, "t").unwrap();
        assert_eq!(h.ops.len(), 1);
        assert_eq!(h.keys, vec!["0".to_string()]);
        let bad = "{:process 9, :type :ok, :f :get, :key \"0\", :value \"x\"}\n";
        match parse(bad, Format::Kv, "f") {
            Err(FormatError::Syntax {
                line: 1, reason, ..
            }) => {
                assert!(reason.contains("without an invocation"), "{reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn jsonl_pairing_by_id_and_client() {
        let text = r#"{"type":"invoke","client":1,"id":5,"op":"execute","key":"k","command":"cas","args":["","a"],"time":10}
{"type":"invoke","client":2,"op":"read","key":"k","time":11}
{"type":"ok","client":1,"id":5,"value":"true","time":20}
{"type":"unknown","client":2,"time":21}
"#;
        let h = parse(text, Format::Jsonl, "t").unwrap();
        assert_eq!(h.ops[0].output, OpOutput::Ok(Some("true".into())));
        assert_eq!(h.ops[0].ret, Some(20));
        assert_eq!(h.ops[1].ret, None);
        let bad = "{\"type\":\"invoke\",\"client\":1,\"op\":\"frob\",\"key\":\"k\",\"time\":1}";
        let e = parse(bad, Format::Jsonl, "f").unwrap_err().to_string();
        assert!(e.starts_with("f:1: unknown operation"), "{e}");
    }
}
