//! Built-in models over the format-neutral operations produced by the
//! readers in [`crate::formats`]: a register (read/write/cas), a key-value
//! map (get/put/append, per key or unsplit) and the Vivace object model
//! (RW register and RMW object per key).

use crate::model::{fast_hash, mix64, Model};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

const INLINE: usize = 23;

/// An immutable string value, cheap to clone: short values (up to 23 bytes)
/// are stored inline, longer ones are shared (`Arc<str>`). Cloning a short
/// value touches no reference count, which matters in the search's hot loop.
#[derive(Clone)]
pub struct Value(Repr);

/// Up to 23 bytes, zero-padded, length in the last byte; 8-byte aligned so
/// that copies, comparisons and hashing work on whole words.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, align(8))]
struct Inline([u8; 24]);

impl Inline {
    #[inline]
    fn len(&self) -> usize {
        self.0[23] as usize
    }
    #[inline]
    fn words(&self) -> [u64; 3] {
        let w = |i: usize| u64::from_le_bytes(self.0[i..i + 8].try_into().expect("8 bytes"));
        [w(0), w(8), w(16)]
    }
}

#[derive(Clone)]
enum Repr {
    Inline(Inline),
    Heap(Arc<str>),
}

impl Value {
    /// The bytes of the value.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(i) => &i.0[..i.len()],
            Repr::Heap(a) => a.as_bytes(),
        }
    }
    /// The value as a string slice.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(i) => std::str::from_utf8(&i.0[..i.len()]).expect("built from a str"),
            Repr::Heap(a) => a,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        if s.len() <= INLINE {
            let mut buf = [0u8; 24];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            buf[23] = s.len() as u8;
            Value(Repr::Inline(Inline(buf)))
        } else {
            Value(Repr::Heap(s.into()))
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            Value::from(s.as_str())
        } else {
            Value(Repr::Heap(s.into()))
        }
    }
}

impl Default for Value {
    fn default() -> Self {
        Value::from("")
    }
}

impl Deref for Value {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Value {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            // Inline buffers are zero-padded, so word comparison is content
            // comparison (and needs no memcmp call).
            (Repr::Inline(a), Repr::Inline(b)) => a.words() == b.words(),
            (Repr::Heap(a), Repr::Heap(b)) => Arc::ptr_eq(a, b) || a == b,
            // Representation is canonical by length: inline never equals heap.
            _ => false,
        }
    }
}
impl Eq for Value {}

impl Hash for Value {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Inline(i) => {
                let [a, b, c] = i.words();
                state.write_u64(a);
                state.write_u64(b);
                state.write_u64(c);
            }
            Repr::Heap(a) => {
                state.write(a.as_bytes());
                state.write_u8(0xff);
            }
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command run by an RMW object (`execute`) in the Vivace model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RmwCommand {
    /// Parses the value as a decimal `u64` (empty = 0), stores n+1, returns it.
    Increment,
    /// Stores old + s, returns the new value.
    Append(Value),
    /// If value == from stores `to` and returns "true", else returns "false".
    Cas {
        /// Expected value.
        from: Value,
        /// New value.
        to: Value,
    },
}

/// What an operation asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Register / RW-object read.
    Read,
    /// Register / RW-object write.
    Write(Value),
    /// Register compare-and-set.
    Cas {
        /// Expected value.
        from: Value,
        /// New value.
        to: Value,
    },
    /// Key-value get.
    Get,
    /// Key-value put.
    Put(Value),
    /// Key-value append.
    Append(Value),
    /// Vivace RMW execute(command).
    Execute(RmwCommand),
}

impl Command {
    /// Short operation name, as in the input formats.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Read => "read",
            Command::Write(_) => "write",
            Command::Cas { .. } => "cas",
            Command::Get => "get",
            Command::Put(_) => "put",
            Command::Append(_) => "append",
            Command::Execute(_) => "execute",
        }
    }
}

/// Input of a format-neutral operation: a key (index into
/// [`crate::formats::History::keys`]) and a command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpInput {
    /// Key index.
    pub key: u32,
    /// The command.
    pub command: Command,
}

/// Outcome of a format-neutral operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpOutput {
    /// Completed; the returned value if any (`None` for writes, for a read of
    /// nil, or when the result was not recorded).
    Ok(Option<Value>),
    /// Definitely did not take effect. For a register `cas` (Jepsen's
    /// `:fail :cas`) it also means the value differed from `from`.
    Fail,
    /// May or may not have taken effect (timeouts, Jepsen `:info`, Vivace
    /// aborts `⊥`). Such operations stay pending to the end of the history.
    Unknown,
}

fn show(v: &str) -> String {
    const MAX: usize = 120;
    if v.chars().count() <= MAX {
        format!("{v:?}")
    } else {
        let tail: String = v
            .chars()
            .rev()
            .take(MAX)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("\"…{}\" ({} chars)", tail.escape_debug(), v.chars().count())
    }
}

fn describe_command(c: &Command) -> String {
    match c {
        Command::Read => "read()".into(),
        Command::Get => "get()".into(),
        Command::Write(v) => format!("write({})", show(v)),
        Command::Put(v) => format!("put({})", show(v)),
        Command::Append(v) => format!("append({})", show(v)),
        Command::Cas { from, to } => format!("cas({}, {})", show(from), show(to)),
        Command::Execute(RmwCommand::Increment) => "execute(increment)".into(),
        Command::Execute(RmwCommand::Append(s)) => format!("execute(append({}))", show(s)),
        Command::Execute(RmwCommand::Cas { from, to }) => {
            format!("execute(cas({}, {}))", show(from), show(to))
        }
    }
}

/// Human-readable "command -> outcome".
pub fn describe(input: &OpInput, output: &OpOutput) -> String {
    let out = match output {
        OpOutput::Ok(Some(v)) => show(v),
        OpOutput::Ok(None) => match input.command {
            Command::Read => "nil".into(),
            _ => "ok".into(),
        },
        OpOutput::Fail => "fail".into(),
        OpOutput::Unknown => "unknown".into(),
    };
    format!("{} -> {}", describe_command(&input.command), out)
}

/// Why a history cannot be checked with a model.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// An operation the model does not define.
    #[error("operation {op} is not supported by model {model}")]
    Unsupported {
        /// Model name.
        model: &'static str,
        /// Operation name.
        op: &'static str,
    },
}

/// The built-in models, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelKind {
    /// Single register (read/write/cas), initially nil; keys are partitions.
    Register,
    /// Key-value map (get/put/append), "" initially, partitioned per key.
    Kv,
    /// Vivace: RW register (read/write) and RMW object (execute) per key.
    Vivace,
}

impl ModelKind {
    /// Model name.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::Kv => "kv",
            ModelKind::Vivace => "vivace",
        }
    }

    /// Whether the model defines this command.
    pub fn validate(self, input: &OpInput) -> Result<(), ModelError> {
        let ok = matches!(
            (self, &input.command),
            (
                ModelKind::Register,
                Command::Read | Command::Write(_) | Command::Cas { .. }
            ) | (
                ModelKind::Kv,
                Command::Get | Command::Put(_) | Command::Append(_)
            ) | (
                ModelKind::Vivace,
                Command::Read | Command::Write(_) | Command::Execute(_)
            )
        );
        if ok {
            Ok(())
        } else {
            Err(ModelError::Unsupported {
                model: self.name(),
                op: input.command.name(),
            })
        }
    }
}

/// A register per key: read, write, cas; initial value nil.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegisterModel;

impl Model for RegisterModel {
    type State = Option<Value>;
    type Input = OpInput;
    type Output = OpOutput;

    fn init(&self) -> Self::State {
        None
    }

    fn step(&self, s: &Self::State, input: &OpInput, output: &OpOutput) -> Option<Self::State> {
        match (&input.command, output) {
            (Command::Read, OpOutput::Ok(v)) => (s == v).then(|| s.clone()),
            (Command::Read, _) => Some(s.clone()),
            (Command::Write(v), OpOutput::Fail) => {
                let _ = v;
                Some(s.clone())
            }
            (Command::Write(v), _) => Some(Some(v.clone())),
            (Command::Cas { from, to }, OpOutput::Ok(_)) => {
                (s.as_ref() == Some(from)).then(|| Some(to.clone()))
            }
            (Command::Cas { from, .. }, OpOutput::Fail) => {
                (s.as_ref() != Some(from)).then(|| s.clone())
            }
            (Command::Cas { from, to }, OpOutput::Unknown) => {
                if s.as_ref() == Some(from) {
                    Some(Some(to.clone()))
                } else {
                    Some(s.clone())
                }
            }
            _ => None,
        }
    }

    fn partition_key(&self, input: &OpInput) -> Option<u64> {
        Some(input.key as u64)
    }

    fn hash_state(&self, s: &Self::State) -> u64 {
        fast_hash(s)
    }

    fn describe_operation(&self, input: &OpInput, output: &OpOutput) -> String {
        describe(input, output)
    }

    fn describe_state(&self, s: &Self::State) -> String {
        s.as_deref().map_or("nil".into(), show)
    }
}

fn kv_step(s: &Value, command: &Command, output: &OpOutput) -> Option<Value> {
    match (command, output) {
        (Command::Get, OpOutput::Ok(v)) => reads(s, v).then(|| s.clone()),
        (Command::Get, _) | (_, OpOutput::Fail) => Some(s.clone()),
        (Command::Put(v), _) => Some(v.clone()),
        (Command::Append(v), _) => Some(concat(s, v)),
        _ => None,
    }
}

/// Whether a read returning `v` (nil = "") is consistent with state `s`.
#[inline]
fn reads(s: &Value, v: &Option<Value>) -> bool {
    match v {
        Some(v) => v == s,
        None => s.is_empty(),
    }
}

fn concat(a: &str, b: &str) -> Value {
    let mut st = String::with_capacity(a.len() + b.len());
    st.push_str(a);
    st.push_str(b);
    st.into()
}

/// Key-value map with get, put, append; every key starts as "". Partitioned
/// per key (the state is one key's value).
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

impl Model for KvModel {
    type State = Value;
    type Input = OpInput;
    type Output = OpOutput;

    fn share_states(&self) -> bool {
        true
    }

    fn init(&self) -> Value {
        "".into()
    }

    fn step(&self, s: &Value, input: &OpInput, output: &OpOutput) -> Option<Value> {
        kv_step(s, &input.command, output)
    }

    fn partition_key(&self, input: &OpInput) -> Option<u64> {
        Some(input.key as u64)
    }

    fn hash_state(&self, s: &Value) -> u64 {
        fast_hash(s)
    }

    fn describe_operation(&self, input: &OpInput, output: &OpOutput) -> String {
        describe(input, output)
    }

    fn describe_state(&self, s: &Value) -> String {
        show(s)
    }
}

/// State of [`KvUnsplitModel`]: every key's value, with an incrementally
/// maintained hash.
#[derive(Clone, Debug)]
pub struct KvMap {
    values: Vec<Value>,
    hash: u64,
}

impl PartialEq for KvMap {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.values.iter().zip(&other.values).all(|(a, b)| a == b)
    }
}
impl Eq for KvMap {}

/// Key-value map checked as one object (no partitioning): the state is the
/// whole map. Slower than [`KvModel`]; useful as a benchmark and a
/// cross-check.
#[derive(Clone, Copy, Debug)]
pub struct KvUnsplitModel {
    /// Number of keys (key indices are `0..keys`).
    pub keys: usize,
}

fn key_hash(k: usize, v: &str) -> u64 {
    mix64(fast_hash(v) ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

impl Model for KvUnsplitModel {
    type State = KvMap;
    type Input = OpInput;
    type Output = OpOutput;

    fn init(&self) -> KvMap {
        let empty: Value = "".into();
        KvMap {
            values: vec![empty; self.keys],
            hash: (0..self.keys).fold(0, |h, k| h ^ key_hash(k, "")),
        }
    }

    fn step(&self, s: &KvMap, input: &OpInput, output: &OpOutput) -> Option<KvMap> {
        let k = input.key as usize;
        let old = s.values.get(k)?;
        let new = kv_step(old, &input.command, output)?;
        if *old == new {
            return Some(s.clone());
        }
        let mut next = s.clone();
        next.hash ^= key_hash(k, old) ^ key_hash(k, &new);
        next.values[k] = new;
        Some(next)
    }

    fn hash_state(&self, s: &KvMap) -> u64 {
        s.hash
    }

    fn describe_operation(&self, input: &OpInput, output: &OpOutput) -> String {
        format!("[key #{}] {}", input.key, describe(input, output))
    }

    fn describe_state(&self, s: &KvMap) -> String {
        let parts: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("#{k}={}", show(v)))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// The Vivace model: per key, an RW register (read/write) and an RMW object
/// (execute) sharing one value, initially "". See [`RmwCommand`] for the
/// command set. A failed (`Fail`) operation had no effect and constrains
/// nothing; an unknown one may have taken effect. `increment` of a value that
/// is not a decimal `u64` (or that would overflow) cannot complete `Ok`; with
/// an unknown outcome it leaves the value unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct VivaceModel;

/// Applies an RMW command: (new value, returned value); `None` if it cannot
/// run on this value.
pub fn apply_rmw(value: &Value, command: &RmwCommand) -> Option<(Value, Value)> {
    match command {
        RmwCommand::Increment => {
            let n: u64 = if value.is_empty() {
                0
            } else {
                if !value.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                value.parse().ok()?
            };
            let v: Value = n.checked_add(1)?.to_string().into();
            Some((v.clone(), v))
        }
        RmwCommand::Append(s) => {
            let v = concat(value, s);
            Some((v.clone(), v))
        }
        RmwCommand::Cas { from, to } => {
            if value == from {
                Some((to.clone(), "true".into()))
            } else {
                Some((value.clone(), "false".into()))
            }
        }
    }
}

impl Model for VivaceModel {
    type State = Value;
    type Input = OpInput;
    type Output = OpOutput;

    fn share_states(&self) -> bool {
        true
    }

    fn init(&self) -> Value {
        "".into()
    }

    fn step(&self, s: &Value, input: &OpInput, output: &OpOutput) -> Option<Value> {
        match (&input.command, output) {
            (_, OpOutput::Fail) => Some(s.clone()),
            (Command::Read, OpOutput::Ok(v)) => reads(s, v).then(|| s.clone()),
            (Command::Read, OpOutput::Unknown) => Some(s.clone()),
            (Command::Write(v), _) => Some(v.clone()),
            (Command::Execute(c), OpOutput::Ok(ret)) => {
                let (new, r) = apply_rmw(s, c)?;
                match ret {
                    Some(x) if **x != *r => None,
                    _ => Some(new),
                }
            }
            (Command::Execute(c), OpOutput::Unknown) => {
                Some(apply_rmw(s, c).map_or_else(|| s.clone(), |(n, _)| n))
            }
            _ => None,
        }
    }

    fn partition_key(&self, input: &OpInput) -> Option<u64> {
        Some(input.key as u64)
    }

    fn hash_state(&self, s: &Value) -> u64 {
        fast_hash(s)
    }

    fn describe_operation(&self, input: &OpInput, output: &OpOutput) -> String {
        describe(input, output)
    }

    fn describe_state(&self, s: &Value) -> String {
        show(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inp(command: Command) -> OpInput {
        OpInput { key: 0, command }
    }
    fn v(s: &str) -> Value {
        s.into()
    }

    #[test]
    fn values_inline_and_shared_compare_by_content() {
        let short = v("abc");
        let long = "x".repeat(40);
        let a = Value::from(long.as_str());
        let b = Value::from(long.clone());
        assert_eq!(a, b);
        assert_eq!(fast_hash(&a), fast_hash(&b));
        assert_ne!(a, short);
        assert_eq!(&*short, "abc");
        assert_eq!(a.as_str(), long);
        let c = concat(&short, &"y".repeat(30));
        assert_eq!(c.len(), 33);
        assert_eq!(Value::from(c.to_string()), c);
        assert_ne!(fast_hash(&v("ab")), fast_hash(&v("ba")));
    }

    #[test]
    fn register_cas_semantics() {
        let m = RegisterModel;
        let cas = inp(Command::Cas {
            from: v("1"),
            to: v("2"),
        });
        assert_eq!(
            m.step(&Some(v("1")), &cas, &OpOutput::Ok(None)),
            Some(Some(v("2")))
        );
        assert_eq!(m.step(&Some(v("3")), &cas, &OpOutput::Ok(None)), None);
        assert_eq!(m.step(&Some(v("1")), &cas, &OpOutput::Fail), None);
        assert_eq!(m.step(&None, &cas, &OpOutput::Fail), Some(None));
        assert_eq!(m.step(&None, &cas, &OpOutput::Unknown), Some(None));
        let read = inp(Command::Read);
        assert_eq!(m.step(&None, &read, &OpOutput::Ok(None)), Some(None));
        assert_eq!(m.step(&None, &read, &OpOutput::Ok(Some(v("1")))), None);
        assert_eq!(
            m.step(&Some(v("4")), &read, &OpOutput::Fail),
            Some(Some(v("4")))
        );
    }

    #[test]
    fn vivace_commands() {
        let m = VivaceModel;
        let inc = inp(Command::Execute(RmwCommand::Increment));
        assert_eq!(
            m.step(&v(""), &inc, &OpOutput::Ok(Some(v("1")))),
            Some(v("1"))
        );
        assert_eq!(
            m.step(&v("41"), &inc, &OpOutput::Ok(Some(v("42")))),
            Some(v("42"))
        );
        assert_eq!(m.step(&v("41"), &inc, &OpOutput::Ok(Some(v("41")))), None);
        assert_eq!(m.step(&v("x"), &inc, &OpOutput::Ok(None)), None);
        assert_eq!(m.step(&v("x"), &inc, &OpOutput::Unknown), Some(v("x")));
        assert_eq!(m.step(&v("41"), &inc, &OpOutput::Unknown), Some(v("42")));
        let app = inp(Command::Execute(RmwCommand::Append(v("b"))));
        assert_eq!(
            m.step(&v("a"), &app, &OpOutput::Ok(Some(v("ab")))),
            Some(v("ab"))
        );
        assert_eq!(m.step(&v("a"), &app, &OpOutput::Ok(Some(v("a")))), None);
        let cas = inp(Command::Execute(RmwCommand::Cas {
            from: v("a"),
            to: v("c"),
        }));
        assert_eq!(
            m.step(&v("a"), &cas, &OpOutput::Ok(Some(v("true")))),
            Some(v("c"))
        );
        assert_eq!(m.step(&v("a"), &cas, &OpOutput::Ok(Some(v("false")))), None);
        assert_eq!(
            m.step(&v("b"), &cas, &OpOutput::Ok(Some(v("false")))),
            Some(v("b"))
        );
        assert_eq!(m.step(&v("b"), &cas, &OpOutput::Fail), Some(v("b")));
        let read = inp(Command::Read);
        assert_eq!(
            m.step(&v(""), &read, &OpOutput::Ok(Some(v("")))),
            Some(v(""))
        );
        assert_eq!(m.step(&v("c"), &read, &OpOutput::Ok(Some(v("")))), None);
    }

    #[test]
    fn kv_unsplit_hash_matches_equality() {
        let m = KvUnsplitModel { keys: 3 };
        let s0 = m.init();
        let a = |k: u32, x: &str| OpInput {
            key: k,
            command: Command::Append(v(x)),
        };
        let s1 = m.step(&s0, &a(1, "x"), &OpOutput::Ok(None)).unwrap();
        let s2 = m.step(&s1, &a(2, "y"), &OpOutput::Ok(None)).unwrap();
        let t1 = m.step(&s0, &a(2, "y"), &OpOutput::Ok(None)).unwrap();
        let t2 = m.step(&t1, &a(1, "x"), &OpOutput::Ok(None)).unwrap();
        assert_eq!(s2, t2);
        assert_eq!(m.hash_state(&s2), m.hash_state(&t2));
        assert_ne!(s1, t1);
        assert_eq!(m.step(&s0, &a(3, "z"), &OpOutput::Ok(None)), None);
    }
}
