//! A linearizability tester for the small histories of a model state.
//!
//! Stateright's `LinearizabilityTester` allows one operation in flight per
//! client but has no notion of an operation that "may or may not have taken
//! effect". Vivace needs it twice: an aborted RMW operation (⊥, Section 2)
//! and an operation still pending when the history ends (its client may be
//! waiting on a crashed quorum). Both are *optional*: a linearization may
//! place them anywhere after their invocation, or leave them out.
//!
//! Real-time order is kept the way Stateright keeps it: each operation
//! records, for every client, how many of that client's operations had
//! completed when it was invoked. Those must be linearized before it.

use std::collections::HashSet;
use std::hash::Hash;
use vivace_spec::object::apply;
use vivace_spec::{Op, Ret, Value};

/// One operation of a client's history.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HistOp {
    /// The operation.
    pub op: Op,
    /// For each client, how many of its operations had completed when this
    /// one was invoked.
    pub after: Vec<u8>,
    /// Its result; `None` while pending.
    pub ret: Option<Ret>,
    /// The read's or execute's data came from a server in the client's site.
    pub data_local: bool,
    /// When the write or execute completed, no replica of the replica set
    /// held its value yet: it was only at local replicas (Section 3.2).
    pub value_only_local: bool,
    /// The read returned without a write-back phase (Section 3.4.1).
    pub write_back_skipped: bool,
    /// The read returned in two phases, its write-back in parallel with
    /// the data phase (Section 3.4.1).
    pub parallel_write_back: bool,
    /// The read's data phase had asked one replica (reading from fewer
    /// replicas, Section 3.4.1).
    pub data_from_one: bool,
    /// The read's data phase fell back to every replica.
    pub fell_back: bool,
    /// The execute's command ran at the replicas (Section 3.4.2).
    pub executed_at_replicas: bool,
}

impl HistOp {
    /// An operation just invoked.
    pub fn invoked(op: Op, after: Vec<u8>) -> HistOp {
        HistOp {
            op,
            after,
            ret: None,
            data_local: false,
            value_only_local: false,
            write_back_skipped: false,
            parallel_write_back: false,
            data_from_one: false,
            fell_back: false,
            executed_at_replicas: false,
        }
    }

    /// May be left out of a linearization: pending, or aborted (⊥).
    pub fn optional(&self) -> bool {
        matches!(self.ret, None | Some(Ret::Aborted))
    }
}

/// The sequential object an algorithm implements: a pure step function.
pub trait SequentialSpec: Clone + Eq + Hash {
    /// Applies `op`; `ret` is what the operation returned, or `None` when
    /// any return is acceptable (pending or aborted). Returns the next state,
    /// or `None` if `ret` is impossible from this state.
    fn step(&self, op: &Op, ret: Option<&Ret>) -> Option<Self>;
}

/// A read/write register holding a value (initially empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Register(pub Value);

impl SequentialSpec for Register {
    fn step(&self, op: &Op, ret: Option<&Ret>) -> Option<Self> {
        match (op, ret) {
            (Op::Write(v), None | Some(Ret::WriteOk)) => Some(Register(v.clone())),
            (Op::Read, None) => Some(self.clone()),
            (Op::Read, Some(Ret::ReadOk(v))) if *v == self.0 => Some(self.clone()),
            _ => None,
        }
    }
}

/// An RMW object: a state machine over a value running [`vivace_spec::Command`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RmwObject(pub Value);

impl SequentialSpec for RmwObject {
    fn step(&self, op: &Op, ret: Option<&Ret>) -> Option<Self> {
        let Op::Execute(cmd) = op else { return None };
        let (next, result) = apply(&self.0, cmd);
        match ret {
            None | Some(Ret::Aborted) => Some(RmwObject(next)),
            Some(Ret::ExecuteOk(r)) if *r == result => Some(RmwObject(next)),
            _ => None,
        }
    }
}

/// Whether the per-client histories `ops` are linearizable with respect to
/// the sequential object starting at `init`. Exhaustive search with
/// memoization over (object state, how far each client is decided); no
/// recursion.
pub fn is_linearizable<S: SequentialSpec>(init: S, ops: &[Vec<HistOp>]) -> bool {
    let n = ops.len();
    let start = (init, vec![0usize; n]);
    let mut seen: HashSet<(S, Vec<usize>)> = HashSet::new();
    let mut stack = vec![start];
    while let Some((state, idx)) = stack.pop() {
        if idx.iter().zip(ops).all(|(i, h)| *i == h.len()) {
            return true;
        }
        if !seen.insert((state.clone(), idx.clone())) {
            continue;
        }
        for c in 0..n {
            let Some(op) = ops[c].get(idx[c]) else {
                continue;
            };
            let mut next_idx = idx.clone();
            next_idx[c] += 1;
            // Left out: it never took effect.
            if op.optional() {
                stack.push((state.clone(), next_idx.clone()));
            }
            // Linearized next: everything that completed before it was
            // invoked must already be decided.
            let ready = op
                .after
                .iter()
                .enumerate()
                .all(|(d, &k)| d == c || idx[d] >= k as usize);
            if !ready {
                continue;
            }
            let ret = if op.optional() { None } else { op.ret.as_ref() };
            if let Some(next) = state.step(&op.op, ret) {
                stack.push((next, next_idx));
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use vivace_spec::{Bytes, Command};

    fn op(op: Op, after: &[u8], ret: Option<Ret>) -> HistOp {
        HistOp {
            ret,
            ..HistOp::invoked(op, after.to_vec())
        }
    }
    fn w(s: &str) -> Op {
        Op::Write(Bytes::from(s))
    }
    fn r(s: &str) -> Option<Ret> {
        Some(Ret::ReadOk(Bytes::from(s)))
    }
    fn inc(s: &str) -> Option<Ret> {
        Some(Ret::ExecuteOk(Bytes::from(s)))
    }
    const INC: Op = Op::Execute(Command::Increment);

    #[test]
    fn register_table() {
        let ok = Some(Ret::WriteOk);
        // (client 0 ops, client 1 ops, linearizable?)
        let rows: Vec<(Vec<HistOp>, Vec<HistOp>, bool)> = vec![
            // concurrent write and read: the read may see either value
            (
                vec![op(w("a"), &[0, 0], ok.clone())],
                vec![op(Op::Read, &[0, 0], r("a"))],
                true,
            ),
            (
                vec![op(w("a"), &[0, 0], ok.clone())],
                vec![op(Op::Read, &[0, 0], r(""))],
                true,
            ),
            // read invoked after the write completed must see it
            (
                vec![op(w("a"), &[0, 0], ok.clone())],
                vec![op(Op::Read, &[1, 0], r(""))],
                false,
            ),
            // a pending write may or may not have taken effect
            (
                vec![op(w("a"), &[0, 0], None)],
                vec![op(Op::Read, &[0, 0], r("a"))],
                true,
            ),
            (
                vec![op(w("a"), &[0, 0], None)],
                vec![op(Op::Read, &[0, 0], r(""))],
                true,
            ),
            // a value nobody wrote
            (
                vec![op(w("a"), &[0, 0], ok.clone())],
                vec![op(Op::Read, &[0, 0], r("b"))],
                false,
            ),
            // new-old inversion: 1 reads b then a, after b's writer finished writing a then b
            (
                vec![
                    op(w("a"), &[0, 0], ok.clone()),
                    op(w("b"), &[1, 0], ok.clone()),
                ],
                vec![op(Op::Read, &[0, 0], r("b")), op(Op::Read, &[0, 1], r("a"))],
                false,
            ),
        ];
        for (i, (a, b, expected)) in rows.into_iter().enumerate() {
            assert_eq!(
                is_linearizable(Register::default(), &[a, b]),
                expected,
                "row {i}"
            );
        }
    }

    #[test]
    fn rmw_aborts_may_or_may_not_take_effect() {
        let ab = Some(Ret::Aborted);
        // (client 0, client 1, linearizable?)
        let rows: Vec<(Vec<HistOp>, Vec<HistOp>, bool)> = vec![
            // two increments both returning 1: a lost update
            (
                vec![op(INC, &[0, 0], inc("1"))],
                vec![op(INC, &[0, 0], inc("1"))],
                false,
            ),
            (
                vec![op(INC, &[0, 0], inc("1"))],
                vec![op(INC, &[0, 0], inc("2"))],
                true,
            ),
            // an aborted increment that took effect
            (
                vec![op(INC, &[0, 0], ab.clone())],
                vec![op(INC, &[1, 0], inc("2"))],
                true,
            ),
            // ... or did not
            (
                vec![op(INC, &[0, 0], ab.clone())],
                vec![op(INC, &[1, 0], inc("1"))],
                true,
            ),
            // but a completed increment cannot be undone
            (
                vec![op(INC, &[0, 0], inc("1"))],
                vec![op(INC, &[1, 0], inc("1"))],
                false,
            ),
        ];
        for (i, (a, b, expected)) in rows.into_iter().enumerate() {
            assert_eq!(
                is_linearizable(RmwObject::default(), &[a, b]),
                expected,
                "row {i}"
            );
        }
    }
}
