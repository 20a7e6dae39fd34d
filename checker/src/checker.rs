//! The linearizability search: Wing & Gong's algorithm with Lowe's
//! memoization (porcupine's `checkSingle`), run per partition on a small pool
//! of threads.

use crate::model::{mix64, Model, Operation};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Verdict of a check. A timeout is never reported as `Ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckResult {
    /// The history is linearizable.
    Ok,
    /// The history is not linearizable.
    Illegal,
    /// The check did not finish (deadline reached, or cancelled).
    Unknown,
}

/// Options of [`analyze`].
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Give up (result [`CheckResult::Unknown`]) after this long.
    pub timeout: Option<Duration>,
    /// Worker threads; 0 means `std::thread::available_parallelism()`.
    pub threads: usize,
    /// Re-run the first illegal partition to explain it.
    pub explain: bool,
    /// Give up (result [`CheckResult::Unknown`]) when the process's resident
    /// memory exceeds this many bytes (checked about every 65536 search
    /// steps; Linux only, ignored elsewhere).
    pub max_rss: Option<u64>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            timeout: None,
            threads: 0,
            explain: true,
            max_rss: None,
        }
    }
}

/// What happened to one partition (one key).
#[derive(Clone, Debug)]
pub struct PartitionOutcome {
    /// The partition key, `None` when the model does not partition.
    pub key: Option<u64>,
    /// Indices (into the history) of the partition's operations.
    pub ops: Vec<usize>,
    /// Verdict for this partition (`Unknown` if it was cancelled because
    /// another partition was illegal, or the deadline passed).
    pub result: CheckResult,
    /// A linearization (history indices, in order) when `result` is `Ok`;
    /// for the explained illegal partition, the longest partial linearization.
    pub linearization: Vec<usize>,
}

/// Why a history is not linearizable.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// Index into [`Analysis::partitions`] of the failing partition.
    pub partition: usize,
    /// The longest partial linearization the search found (history indices).
    pub longest: Vec<usize>,
    /// Operations (history indices) that were candidates to come next after
    /// `longest` and could not.
    pub stuck: Vec<usize>,
}

/// Which limit stopped an unfinished check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The deadline passed.
    Timeout,
    /// The memory limit was exceeded.
    Memory,
}

/// Full result of [`analyze`].
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Overall verdict.
    pub result: CheckResult,
    /// Per-partition outcomes, in order of first appearance of the key.
    pub partitions: Vec<PartitionOutcome>,
    /// Present when the history is illegal and explanation was asked for
    /// (and the re-run finished before the deadline).
    pub explanation: Option<Explanation>,
    /// When the result is `Unknown`: which limit stopped the check.
    pub stopped_by: Option<Limit>,
}

/// Checks a history; no explanation. Uses all available cores.
pub fn check_operations<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    timeout: Option<Duration>,
) -> CheckResult {
    let opts = CheckOptions {
        timeout,
        threads: 0,
        explain: false,
        max_rss: None,
    };
    analyze(model, history, &opts).result
}

/// Splits a history into partitions by [`Model::partition_key`], keeping the
/// order of first appearance.
pub fn partition<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
) -> Vec<(Option<u64>, Vec<usize>)> {
    let mut index: HashMap<Option<u64>, usize> = HashMap::new();
    let mut parts: Vec<(Option<u64>, Vec<usize>)> = Vec::new();
    for (i, op) in history.iter().enumerate() {
        let k = model.partition_key(&op.input);
        let p = *index.entry(k).or_insert_with(|| {
            parts.push((k, Vec::new()));
            parts.len() - 1
        });
        parts[p].1.push(i);
    }
    parts
}

/// Checks a history: partitions it, checks the partitions concurrently,
/// stops at the first illegal one and (if asked) re-runs it to explain it.
pub fn analyze<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    opts: &CheckOptions,
) -> Analysis {
    let deadline = opts.timeout.and_then(|t| Instant::now().checked_add(t));
    let parts = partition(model, history);
    let n = parts.len();
    let stop = AtomicBool::new(false);
    let memory_hit = AtomicBool::new(false);
    let limits = Limits {
        stop: &stop,
        deadline,
        max_rss: opts.max_rss,
        memory_hit: &memory_hit,
    };
    let results: Vec<Slot> = (0..n).map(|_| Mutex::new(None)).collect();
    let first_illegal: Mutex<Option<usize>> = Mutex::new(None);
    let queue: Mutex<VecDeque<(usize, Option<Search<M>>)>> =
        Mutex::new((0..n).map(|i| (i, None)).collect());
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    }
    .min(n)
    .max(1);

    let worker = || loop {
        let item = queue.lock().expect("queue lock").pop_front();
        let Some((idx, search)) = item else { break };
        let mut search =
            search.unwrap_or_else(|| Search::new(model, history, &parts[idx].1, false));
        let status = search.run(SLICE, &limits);
        let verdict = match status {
            RunStatus::Paused => {
                queue
                    .lock()
                    .expect("queue lock")
                    .push_back((idx, Some(search)));
                continue;
            }
            RunStatus::Ok => CheckResult::Ok,
            RunStatus::Illegal => {
                stop.store(true, Ordering::SeqCst);
                let mut f = first_illegal.lock().expect("lock");
                if f.is_none() {
                    *f = Some(idx);
                }
                CheckResult::Illegal
            }
            RunStatus::Stopped => CheckResult::Unknown,
        };
        let lin = if verdict == CheckResult::Ok {
            search.linearization(&parts[idx].1)
        } else {
            Vec::new()
        };
        *results[idx].lock().expect("lock") = Some((verdict, lin));
    };

    if threads <= 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(worker);
            }
        });
    }

    let mut partitions: Vec<PartitionOutcome> = parts
        .into_iter()
        .zip(results)
        .map(|((key, ops), r)| {
            let (result, linearization) = r
                .into_inner()
                .expect("lock")
                .unwrap_or((CheckResult::Unknown, Vec::new()));
            PartitionOutcome {
                key,
                ops,
                result,
                linearization,
            }
        })
        .collect();

    let first_illegal = first_illegal.into_inner().expect("lock");
    let result = if first_illegal.is_some() {
        CheckResult::Illegal
    } else if partitions.iter().all(|p| p.result == CheckResult::Ok) {
        CheckResult::Ok
    } else {
        CheckResult::Unknown
    };

    let mut explanation = None;
    if let (Some(idx), true) = (first_illegal, opts.explain) {
        let ops = &partitions[idx].ops;
        let mut search = Search::new(model, history, ops, true);
        let never = AtomicBool::new(false);
        let explain_limits = Limits {
            stop: &never,
            ..limits
        };
        if search.run(u64::MAX, &explain_limits) == RunStatus::Illegal {
            let longest: Vec<usize> = search.best.iter().map(|&o| ops[o as usize]).collect();
            let stuck = search.best_stuck.iter().map(|&o| ops[o as usize]).collect();
            partitions[idx].linearization = longest.clone();
            explanation = Some(Explanation {
                partition: idx,
                longest,
                stuck,
            });
        }
    }

    let stopped_by = (result == CheckResult::Unknown).then(|| {
        if memory_hit.load(Ordering::SeqCst) {
            Limit::Memory
        } else {
            Limit::Timeout
        }
    });
    Analysis {
        result,
        partitions,
        explanation,
        stopped_by,
    }
}

/// A partition's verdict and linearization, once known.
type Slot = Mutex<Option<(CheckResult, Vec<usize>)>>;

/// Limits every search checks periodically.
#[derive(Clone, Copy)]
struct Limits<'a> {
    /// Set when the whole check must stop (illegal partition, memory).
    stop: &'a AtomicBool,
    deadline: Option<Instant>,
    max_rss: Option<u64>,
    memory_hit: &'a AtomicBool,
}

/// Bitset equality without a `memcmp` call (bitsets are a few words).
#[inline]
fn words_eq(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Resident memory of this process (Linux), in bytes.
fn current_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Steps of one time slice before a partition yields to the others.
const SLICE: u64 = 1 << 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunStatus {
    Ok,
    Illegal,
    Paused,
    Stopped,
}

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("IdHasher only hashes u64 keys")
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

const HEAD: u32 = 0;
const TAIL: u32 = 1;
const NONE: u32 = u32::MAX;

#[inline]
fn call_node(op: u32) -> u32 {
    2 + 2 * op
}
#[inline]
fn ret_node(op: u32) -> u32 {
    3 + 2 * op
}

/// The state of one partition's search; resumable, so that partitions can
/// share the worker threads fairly.
struct Search<'a, M: Model> {
    model: &'a M,
    ops: Vec<&'a Operation<M::Input, M::Output>>,
    /// Doubly linked list of call and return entries in time order.
    next: Vec<u32>,
    prev: Vec<u32>,
    cur: u32,
    /// Linearized operations, with the state before each.
    stack: Vec<(u32, M::State)>,
    state: M::State,
    /// Linearized set as a bitset, and its Zobrist hash.
    bits: Vec<u64>,
    bits_hash: u64,
    zobrist: Vec<u64>,
    /// Memoization cache: combined hash -> first entry of a chain.
    cache: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    entries: Vec<(M::State, u32)>,
    /// State hash -> an entry holding that state (for sharing equal states).
    interned: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    share: bool,
    entry_bits: Vec<u64>,
    explain: bool,
    best: Vec<u32>,
    best_stuck: Vec<u32>,
    best_set: bool,
    /// Lowest stack depth since `best` was last recorded.
    low_water: usize,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(
        model: &'a M,
        history: &'a [Operation<M::Input, M::Output>],
        indices: &[usize],
        explain: bool,
    ) -> Self {
        let ops: Vec<_> = indices.iter().map(|&i| &history[i]).collect();
        let n = ops.len() as u32;
        // (time, kind, op): calls (0) sort before returns (1) at equal times.
        let mut events: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, 0, i as u32));
            events.push((op.return_time().max(op.call), 1, i as u32));
        }
        events.sort_unstable();
        let nodes = 2 + 2 * n as usize;
        let mut next = vec![NONE; nodes];
        let mut prev = vec![NONE; nodes];
        let mut last = HEAD;
        for &(_, kind, op) in &events {
            let node = if kind == 0 {
                call_node(op)
            } else {
                ret_node(op)
            };
            next[last as usize] = node;
            prev[node as usize] = last;
            last = node;
        }
        next[last as usize] = TAIL;
        prev[TAIL as usize] = last;
        let words = ops.len().div_ceil(64);
        let zobrist = (0..n as u64)
            .map(|i| mix64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678))
            .collect();
        let state = model.init();
        Search {
            model,
            ops,
            cur: next[HEAD as usize],
            next,
            prev,
            stack: Vec::new(),
            state,
            bits: vec![0; words],
            bits_hash: 0,
            zobrist,
            cache: HashMap::default(),
            entries: Vec::new(),
            interned: HashMap::default(),
            share: model.share_states(),
            entry_bits: Vec::new(),
            explain,
            best: Vec::new(),
            best_stuck: Vec::new(),
            best_set: false,
            low_water: 0,
        }
    }

    fn linearization(&self, indices: &[usize]) -> Vec<usize> {
        self.stack
            .iter()
            .map(|(o, _)| indices[*o as usize])
            .collect()
    }

    #[inline]
    fn lift(&mut self, op: u32) {
        let (c, r) = (call_node(op) as usize, ret_node(op) as usize);
        let (next, prev) = (&mut self.next, &mut self.prev);
        next[prev[c] as usize] = next[c];
        prev[next[c] as usize] = prev[c];
        next[prev[r] as usize] = next[r];
        prev[next[r] as usize] = prev[r];
    }

    #[inline]
    fn unlift(&mut self, op: u32) {
        let (c, r) = (call_node(op), ret_node(op));
        let (next, prev) = (&mut self.next, &mut self.prev);
        next[prev[r as usize] as usize] = r;
        prev[next[r as usize] as usize] = r;
        next[prev[c as usize] as usize] = c;
        prev[next[c as usize] as usize] = c;
    }

    #[inline]
    fn flip(&mut self, op: u32) {
        self.bits[(op / 64) as usize] ^= 1u64 << (op % 64);
    }

    /// Inserts (current bitset, `state`) into the cache. Returns `None` if
    /// the pair was already there, else the state to continue with: an
    /// equal state already in the cache is reused (shared), so that states
    /// reached along many paths are stored once.
    fn cache_insert(&mut self, key: u64, state_key: u64, state: M::State) -> Option<M::State> {
        let w = self.bits.len();
        let idx = self.entries.len() as u32;
        let head = match self.cache.entry(key) {
            Entry::Occupied(mut o) => {
                let mut i = *o.get();
                while i != NONE {
                    let (s, nx) = &self.entries[i as usize];
                    let start = i as usize * w;
                    if words_eq(&self.entry_bits[start..start + w], &self.bits) && *s == state {
                        return None;
                    }
                    i = *nx;
                }
                std::mem::replace(o.get_mut(), idx)
            }
            Entry::Vacant(v) => {
                v.insert(idx);
                NONE
            }
        };
        if !self.share {
            self.entries.push((state.clone(), head));
            self.entry_bits.extend_from_slice(&self.bits);
            return Some(state);
        }
        let state = match self.interned.entry(state_key) {
            Entry::Occupied(o) => {
                let canonical = &self.entries[*o.get() as usize].0;
                if *canonical == state {
                    canonical.clone()
                } else {
                    state
                }
            }
            Entry::Vacant(v) => {
                v.insert(idx);
                state
            }
        };
        self.entries.push((state.clone(), head));
        self.entry_bits.extend_from_slice(&self.bits);
        Some(state)
    }

    fn record_best(&mut self, ret: u32) {
        if self.best_set && self.stack.len() <= self.best.len() {
            return;
        }
        self.best_set = true;
        // Only the part of the stack that changed since the last record is
        // copied: amortized O(1) per search step.
        let keep = self.low_water.min(self.best.len());
        self.best.truncate(keep);
        self.best.extend(self.stack[keep..].iter().map(|(o, _)| *o));
        self.low_water = self.stack.len();
        self.best_stuck.clear();
        let mut e = self.next[HEAD as usize];
        while e != ret && e != TAIL {
            if e & 1 == 0 {
                self.best_stuck.push((e - 2) / 2);
            }
            e = self.next[e as usize];
        }
    }

    /// Runs at most about `budget` steps.
    fn run(&mut self, budget: u64, limits: &Limits) -> RunStatus {
        let mut steps: u64 = 0;
        loop {
            if self.next[HEAD as usize] == TAIL {
                return RunStatus::Ok;
            }
            steps += 1;
            if steps & 1023 == 0 {
                if limits.stop.load(Ordering::Relaxed)
                    || limits.deadline.is_some_and(|d| Instant::now() >= d)
                {
                    return RunStatus::Stopped;
                }
                if steps & 0xffff == 0 {
                    if let (Some(max), Some(rss)) = (limits.max_rss, current_rss()) {
                        if rss > max {
                            limits.memory_hit.store(true, Ordering::SeqCst);
                            limits.stop.store(true, Ordering::SeqCst);
                            return RunStatus::Stopped;
                        }
                    }
                }
                if steps >= budget {
                    return RunStatus::Paused;
                }
            }
            let e = self.cur;
            if e & 1 == 0 {
                // A call entry: try to linearize it now.
                let op = (e - 2) / 2;
                let o = self.ops[op as usize];
                if let Some(ns) = self.model.step(&self.state, &o.input, &o.output) {
                    let bits_hash = self.bits_hash ^ self.zobrist[op as usize];
                    let state_key = mix64(self.model.hash_state(&ns));
                    self.flip(op);
                    if let Some(ns) = self.cache_insert(bits_hash ^ state_key, state_key, ns) {
                        let old = std::mem::replace(&mut self.state, ns);
                        self.stack.push((op, old));
                        self.bits_hash = bits_hash;
                        self.lift(op);
                        self.cur = self.next[HEAD as usize];
                        continue;
                    }
                    self.flip(op);
                }
                self.cur = self.next[e as usize];
            } else {
                // A return entry: its operation cannot be linearized; backtrack.
                if self.explain {
                    self.record_best(e);
                }
                let Some((op, old)) = self.stack.pop() else {
                    return RunStatus::Illegal;
                };
                if self.stack.len() < self.low_water {
                    self.low_water = self.stack.len();
                }
                self.state = old;
                self.flip(op);
                self.bits_hash ^= self.zobrist[op as usize];
                self.unlift(op);
                self.cur = self.next[call_node(op) as usize];
            }
        }
    }
}
