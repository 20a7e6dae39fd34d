//! The model: spec's actors in a network that Stateright explores.
//!
//! This is Stateright's actor model rebuilt for what the proofs need and
//! `ActorModel` cannot express: recording invocations and returns that
//! happen *inside* a client (the client is the coordinator), bounded loss
//! with bounded retransmission, canonical crashed servers, and dropping
//! messages whose delivery can no longer change anything.
//!
//! A state holds every actor's state, the network as a sorted multiset of
//! envelopes (unordered, non-duplicating), the armed timers, the crashed
//! servers, the loss and retransmission budgets, and the history of client
//! operations with its linearizability verdict.

use crate::config::ModelConfig;
use crate::garbage::{garbage_only, reply_dead, Auditor, Input};
use crate::linearizability::{is_linearizable, HistOp, Register, RmwObject};
use crate::shared::Hashed;
use stateright::actor::{Actor, Command, Out};
use stateright::{Model, Property};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use vivace_spec::client::Phase;
use vivace_spec::{Deployment, Id, IdSet, Msg, Node, NodeState, Op, Ret, Value};

/// A message in flight.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Envelope {
    /// Sender.
    pub src: Id,
    /// Receiver.
    pub dst: Id,
    /// The message.
    pub msg: Msg,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}→{} {:?}",
            self.msg.name(),
            usize::from(self.src),
            usize::from(self.dst),
            self.msg
        )
    }
}

/// The history of client operations: one list per client.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct History {
    /// Operations of each client, in invocation order.
    pub ops: Vec<Vec<HistOp>>,
    /// Set once a completed history failed the linearizability check. A
    /// history that is not linearizable stays so whatever follows, so the
    /// check runs only when an operation returns.
    pub violated: bool,
}

/// A state of the model.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct State {
    /// Every actor's state, indexed by id; shared between states until an
    /// actor changes.
    pub nodes: Vec<Hashed<NodeState>>,
    /// Messages in flight: a sorted multiset.
    pub net: Vec<Envelope>,
    /// Actors with a retransmission timer armed.
    pub timers: IdSet,
    /// Crashed servers.
    pub crashed: IdSet,
    /// Messages the network may still lose.
    pub drops_left: u8,
    /// Spurious timer firings still allowed (a timer may always fire once
    /// nothing is in flight to or from its actor).
    pub spurious_left: u8,
    /// Client operations.
    pub history: Hashed<History>,
    /// The groups of interchangeable servers of the symmetry reduction (the
    /// same in every state of a model), if it is on.
    pub groups: Option<Arc<crate::symmetry::Groups>>,
}

/// A step of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Deliver a message.
    Deliver(Envelope),
    /// The network loses a message.
    Drop(Envelope),
    /// An actor's retransmission timer fires.
    Timeout(Id),
    /// A server crashes.
    Crash(Id),
}

/// Something a step did that a `sometimes` property asks for and no state
/// shows: recorded outside the state (see [`VivaceModel::witnessed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A parked R-DATA was answered by a later step than its own delivery.
    WaitingReadAnswered = 0,
    /// A parked OR-DATA was answered by a later step than its own delivery.
    WaitingOrDataAnswered = 1,
}

/// The model of one configuration.
pub struct VivaceModel {
    /// The configuration.
    pub cfg: ModelConfig,
    /// The deployment the actors share.
    pub deployment: Arc<Deployment>,
    /// The actors, indexed by id: servers, then clients, then the clock.
    pub actors: Vec<Node>,
    /// If set, every state the search generates adds its history here (the
    /// operations, their real-time order and results): used by the tests
    /// that compare the histories reachable with and without a reduction.
    pub history_log: Option<Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>>,
    /// Checks the premises of garbage collection (with
    /// [`ModelConfig::collect_dead_messages`]).
    pub auditor: Option<Arc<Auditor>>,
    /// The [`Event`]s some step of the search did.
    pub events: [std::sync::atomic::AtomicBool; 2],
}

impl VivaceModel {
    /// Builds the model of `cfg`.
    pub fn new(cfg: ModelConfig) -> VivaceModel {
        let (deployment, actors) = cfg.build();
        VivaceModel {
            deployment,
            auditor: cfg
                .collect_dead_messages
                .then(|| Arc::new(Auditor::default())),
            cfg,
            actors,
            history_log: None,
            events: Default::default(),
        }
    }

    fn is_client(&self, id: Id) -> bool {
        matches!(self.actors[usize::from(id)], Node::Client(_))
    }

    fn client_index(&self, id: Id) -> usize {
        usize::from(id) - self.cfg.servers.len()
    }

    /// Runs one actor callback, applies its commands to `state`, and records
    /// what the step did to the client's operations.
    fn step_actor(
        &self,
        state: &mut State,
        touched: &mut IdSet,
        id: Id,
        input: Input,
        delivered: Option<&Envelope>,
    ) {
        let i = usize::from(id);
        touched.insert(id);
        let before = state.nodes[i].clone();
        let mut cow = Cow::Borrowed(&*before);
        let mut out = Out::new();
        let actor = &self.actors[i];
        match &input {
            Input::Deliver(src, msg) => actor.on_msg(id, &mut cow, *src, msg.clone(), &mut out),
            Input::Timeout => {
                actor.on_timeout(id, &mut cow, &vivace_spec::Timer::Retransmit, &mut out)
            }
        }
        if let Cow::Owned(next) = cow {
            if next != *before {
                state.nodes[i] = Hashed::new(next);
            }
        }
        if let (NodeState::Server(b), NodeState::Server(a)) = (&*before, &*state.nodes[i]) {
            // A request parked before this step and answered by it.
            for p in b.parked.difference(&a.parked) {
                if p.exec.is_none()
                    && out.iter().any(
                        |c| matches!(c, Command::Send(to, m) if *to == p.from && m.req() == p.req),
                    )
                {
                    let e = if p.rmw {
                        Event::WaitingOrDataAnswered
                    } else {
                        Event::WaitingReadAnswered
                    };
                    self.events[e as usize].store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        if let Some(a) = &self.auditor {
            a.transition(i, &before, input);
            a.state(i, &state.nodes[i]);
        }
        self.apply_out(state, touched, id, out);
        if self.is_client(id) {
            self.record(state, id, &before, delivered);
        }
    }

    /// Interprets an actor's commands: sends (dropped if the receiver is
    /// crashed) and timers. Two kinds of message are delivered at once, in
    /// the same step, as the runtime does in-process: a message a server
    /// sends to itself (replica 1 is also a local replica), and the clock's
    /// reply (the clock role is answered from the node's own clock). The
    /// clock *request* still travels, so a reading can be taken at any moment
    /// between an operation's invocation and its first data message.
    fn apply_out(&self, state: &mut State, touched: &mut IdSet, id: Id, out: Out<Node>) {
        let mut immediate = Vec::new();
        for c in out {
            match c {
                Command::Send(dst, msg) => {
                    if state.crashed.contains(dst) {
                        continue;
                    }
                    let env = Envelope { src: id, dst, msg };
                    if dst == id || id == self.cfg.clock_id() {
                        immediate.push(env);
                    } else {
                        let at = state.net.binary_search(&env).unwrap_or_else(|e| e);
                        state.net.insert(at, env);
                    }
                }
                Command::SetTimer(..) => {
                    state.timers.insert(id);
                }
                Command::CancelTimer(_) => disarm(&mut state.timers, id),
                Command::ChooseRandom(..) | Command::Save(_) => {}
            }
        }
        for env in immediate {
            let Envelope { src, dst, msg } = env.clone();
            self.step_actor(state, touched, dst, Input::Deliver(src, msg), Some(&env));
        }
    }

    /// Records invocations and returns of client `id` that the last step made.
    fn record(&self, state: &mut State, id: Id, before: &NodeState, delivered: Option<&Envelope>) {
        let c = self.client_index(id);
        let (NodeState::Client(old), NodeState::Client(new)) =
            (before, &*state.nodes[usize::from(id)])
        else {
            return;
        };
        let (old_done, new_done) = (old.done.len(), new.done.len());
        let old_req = old.current.as_ref().map(|cur| cur.req);
        let new_req = new.current.as_ref().map(|cur| cur.req);
        let invoked = (new_done > old_done || old.current.is_none()) && new.current.is_some();
        let data = delivered
            .is_some_and(|e| matches!(e.msg, Msg::AckRData { .. } | Msg::AckOrData { .. }));
        let advanced = new_done > old_done || new_req != old_req;
        // The data phase of a read widened to every replica (the fallback
        // of reading from fewer replicas).
        let asked = |cur: &vivace_spec::client::Current| cur.data_asked().map(|(_, a)| a.len());
        let fell_back = !advanced
            && matches!(
                (old.current.as_ref().and_then(asked), new.current.as_ref().and_then(asked)),
                (Some(a), Some(b)) if b > a
            );
        // The parallel write-back's phase completed: the data it holds.
        // An execute's OW-TS after its command ran at the replicas.
        let at_replicas = matches!(
            old.current.as_ref().map(|cur| &cur.phase),
            Some(Phase::OwTs {
                at_replicas: true,
                ..
            })
        );
        let parallel = match old.current.as_ref().map(|cur| &cur.phase) {
            Some(Phase::RDataWb {
                data: Some((_, local)),
                ..
            }) if advanced => Some(*local),
            _ => None,
        };
        if !(invoked || new_done > old_done || (data && advanced) || fell_back) {
            return;
        }
        let mut h: History = (*state.history).clone();
        if fell_back {
            if let Some(op) = h.ops[c].get_mut(old_done) {
                op.fell_back = true;
            }
        }
        // The data phase completed with this message (or, with the
        // parallel write-back, after its data): note where the data came
        // from and whether one replica was asked.
        let data_done = match (data, advanced, delivered) {
            (true, true, Some(env)) => {
                Some(self.deployment.site(env.src) == self.deployment.site(id))
            }
            _ => parallel,
        };
        if let Some(local) = data_done {
            let one = old.current.as_ref().and_then(asked) == Some(1);
            if let Some(op) = h.ops[c].get_mut(old_done) {
                op.data_local = local;
                op.data_from_one |= one;
            }
        }
        // A read that completes on its data (or ABD query) reply, without
        // a parallel write-back, skipped its write-back.
        let skipped = parallel.is_none()
            && delivered
                .is_some_and(|e| matches!(e.msg, Msg::AckRData { .. } | Msg::AbdQueryAck { .. }));
        for k in old_done..new_done {
            let ret = new.done[k].clone();
            h.ops[c][k].write_back_skipped = skipped && matches!(ret, Ret::ReadOk(_));
            h.ops[c][k].parallel_write_back = parallel.is_some() && matches!(ret, Ret::ReadOk(_));
            h.ops[c][k].executed_at_replicas = at_replicas && matches!(ret, Ret::ExecuteOk(_));
            let only_local = self.value_only_local(state, &h.ops[c][k].op, &ret);
            let op = &mut h.ops[c][k];
            op.ret = Some(ret);
            op.value_only_local = only_local;
            if !h.violated && !self.linearizable(&h.ops) {
                h.violated = true;
            }
        }
        if invoked {
            let cur = new.current.as_ref().expect("invoked");
            let after = completed_counts(&h);
            h.ops[c].push(HistOp::invoked(cur.op.clone(), after));
        }
        state.history = Hashed::new(h);
    }

    fn linearizable(&self, ops: &[Vec<HistOp>]) -> bool {
        if self.cfg.algorithm.is_rmw() {
            is_linearizable(RmwObject::default(), ops)
        } else {
            is_linearizable(Register::default(), ops)
        }
    }

    /// Whether the value a write or execute just wrote is at no live replica
    /// of the replica set yet (neither `val` nor `remote_buf`).
    fn value_only_local(&self, state: &State, op: &Op, ret: &Ret) -> bool {
        let v: &Value = match (op, ret) {
            (Op::Write(v), Ret::WriteOk) => v,
            (Op::Execute(_), Ret::ExecuteOk(v)) => v,
            _ => return false,
        };
        let replicas = &self.deployment.directory.containers[0].replicas;
        !replicas
            .iter()
            .any(|&r| match &*state.nodes[usize::from(r)] {
                NodeState::Server(s) => s
                    .objects
                    .values()
                    .any(|o| o.val.as_ref() == Some(v) || o.remote_buf.values().any(|x| x == v)),
                _ => false,
            })
    }

    /// Removes garbage (see [`crate::garbage`]): replies to a phase their
    /// requester has left; requests whose reply would be such a reply and
    /// whose delivery would change their receiver not at all (but park
    /// them); parked requests whose reply would be such a reply. W-LOCAL
    /// is never garbage: once its propagation finished, a late copy starts
    /// another. What is removed is recorded for the [`Auditor`], which
    /// checks after the search that removing it was sound.
    ///
    /// Only the messages and parked requests of the actors in `touched`
    /// (the ones the last step changed) are looked at: whether a piece of
    /// garbage is garbage depends only on its receiver's and its
    /// requester's states, and the parent state kept the others.
    fn collect_dead(&self, state: &mut State, touched: IdSet) {
        let nodes = &state.nodes;
        let crashed = state.crashed;
        // A crashed requester never accepts a reply again.
        let dead = |requester: Id, from: Id, req| {
            crashed.contains(requester) || reply_dead(&nodes[usize::from(requester)], from, req)
        };
        let garbage = |env: &Envelope| -> bool {
            if !touched.contains(env.src) && !touched.contains(env.dst) {
                return false;
            }
            let dst = &*nodes[usize::from(env.dst)];
            if env.msg.is_reply() {
                return dead(env.dst, env.src, env.msg.req());
            }
            if !matches!(dst, NodeState::Server(_)) || matches!(env.msg, Msg::WLocal { .. }) {
                return false;
            }
            dead(env.src, env.dst, env.msg.req())
                && vivace_spec::coverage::paused(|| {
                    garbage_only(&self.actors[usize::from(env.dst)], dst, env).is_some()
                })
        };
        if !state.net.iter().any(&garbage) && !self.parked_garbage(state, touched) {
            return;
        }
        let mut kept = Vec::with_capacity(state.net.len());
        for env in std::mem::take(&mut state.net) {
            if garbage(&env) {
                if let Some(a) = &self.auditor {
                    a.dropped(&env);
                }
            } else {
                kept.push(env);
            }
        }
        state.net = kept;
        for i in 0..self.cfg.servers.len() {
            let NodeState::Server(s) = &*state.nodes[i] else {
                continue;
            };
            if !s
                .parked
                .iter()
                .any(|p| self.parked_dead(state, touched, i, p))
            {
                continue;
            }
            let (gone, kept): (Vec<_>, Vec<_>) = s
                .parked
                .iter()
                .cloned()
                .partition(|p| self.parked_dead(state, touched, i, p));
            if let Some(a) = &self.auditor {
                for p in &gone {
                    a.parked(i, p);
                }
            }
            let mut s = s.clone();
            s.parked = kept.into_iter().collect();
            state.nodes[i] = Hashed::new(NodeState::Server(s));
        }
    }

    /// Whether some server holds a parked request that is garbage.
    fn parked_garbage(&self, state: &State, touched: IdSet) -> bool {
        (0..self.cfg.servers.len()).any(|i| match &*state.nodes[i] {
            NodeState::Server(s) => s
                .parked
                .iter()
                .any(|p| self.parked_dead(state, touched, i, p)),
            _ => false,
        })
    }

    /// Whether the request `p` parked at server `i` is garbage: its
    /// requester will not accept the reply, and (an EXEC) applying it would
    /// change nothing, as it was applied or will be rejected.
    fn parked_dead(
        &self,
        state: &State,
        touched: IdSet,
        i: usize,
        p: &vivace_spec::replica::Parked,
    ) -> bool {
        if !touched.contains(Id::from(i)) && !touched.contains(p.from) {
            return false;
        }
        let NodeState::Server(s) = &*state.nodes[i] else {
            return false;
        };
        (state.crashed.contains(p.from)
            || reply_dead(&state.nodes[usize::from(p.from)], Id::from(i), p.req))
            && p.exec
                .as_ref()
                .is_none_or(|e| s.objects.get(&p.key).is_some_and(|o| exec_inert(o, e.ots)))
    }

    /// Whether some step of the search did `e`.
    pub fn witnessed(&self, e: Event) -> bool {
        self.events[e as usize].load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether every client finished all its operations.
    pub fn all_finished(&self, state: &State) -> bool {
        self.actors
            .iter()
            .zip(&state.nodes)
            .all(|(a, s)| match (a, &**s) {
                (Node::Client(c), NodeState::Client(s)) => c.finished(s),
                _ => true,
            })
    }
}

impl Model for VivaceModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let mut state = State {
            nodes: Vec::with_capacity(self.actors.len()),
            net: Vec::new(),
            timers: IdSet::EMPTY,
            crashed: IdSet::EMPTY,
            drops_left: self.cfg.network.max_drops(),
            spurious_left: self.cfg.network.max_spurious(),
            history: Hashed::new(History {
                ops: vec![Vec::new(); self.cfg.clients.len()],
                violated: false,
            }),
            groups: self
                .cfg
                .symmetry
                .then(|| Arc::new(crate::symmetry::Groups(self.cfg.symmetric_groups()))),
        };
        let mut outs = Vec::new();
        for (i, a) in self.actors.iter().enumerate() {
            let mut out = Out::new();
            state
                .nodes
                .push(Hashed::new(a.on_start(Id::from(i), &None, &mut out)));
            outs.push(out);
        }
        for (i, out) in outs.into_iter().enumerate() {
            self.apply_out(&mut state, &mut IdSet::EMPTY.clone(), Id::from(i), out);
            // on_start moved each client into its first operation.
            if let NodeState::Client(s) = &*state.nodes[i] {
                if let Some(cur) = &s.current {
                    let op = HistOp::invoked(cur.op.clone(), vec![0; self.cfg.clients.len()]);
                    let mut h = (*state.history).clone();
                    h.ops[self.client_index(Id::from(i))].push(op);
                    state.history = Hashed::new(h);
                }
            }
        }
        if let Some(a) = &self.auditor {
            for (i, n) in state.nodes.iter().enumerate() {
                a.state(i, n);
            }
        }
        vec![state]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        let mut last: Option<&Envelope> = None;
        for env in &state.net {
            if last == Some(env) {
                continue;
            }
            last = Some(env);
            actions.push(Action::Deliver(env.clone()));
            if state.drops_left > 0 {
                actions.push(Action::Drop(env.clone()));
            }
        }
        for id in state.timers.iter() {
            if state.spurious_left > 0 || (quiet(state, id) && self.delegate_quiet(state, id)) {
                actions.push(Action::Timeout(id));
            }
        }
        if state.crashed.len() < self.cfg.max_crashes {
            for i in 0..self.cfg.servers.len() {
                if !state.crashed.contains(Id::from(i))
                    && self.cfg.crashable.as_ref().is_none_or(|c| c.contains(&i))
                {
                    actions.push(Action::Crash(Id::from(i)));
                }
            }
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        // The actors this step changed: garbage can appear only among the
        // messages and parked requests of these (see `collect_dead`).
        let mut touched = IdSet::EMPTY;
        match action {
            Action::Deliver(env) => {
                let at = state.net.binary_search(&env).ok()?;
                state.net.remove(at);
                let Envelope { src, dst, msg } = env.clone();
                self.step_actor(
                    &mut state,
                    &mut touched,
                    dst,
                    Input::Deliver(src, msg),
                    Some(&env),
                );
            }
            Action::Drop(env) => {
                let at = state.net.binary_search(&env).ok()?;
                state.net.remove(at);
                state.drops_left -= 1;
            }
            Action::Timeout(id) => {
                if !quiet(&state, id) {
                    state.spurious_left -= 1;
                }
                disarm(&mut state.timers, id);
                self.step_actor(&mut state, &mut touched, id, Input::Timeout, None);
            }
            Action::Crash(id) => {
                state.crashed.insert(id);
                touched.insert(id);
                disarm(&mut state.timers, id);
                // A crash loses what the server was sending too: a message
                // still in flight from it may as well not have left yet.
                state.net.retain(|e| e.dst != id && e.src != id);
                // A crashed server never acts again: one canonical state for it.
                state.nodes[usize::from(id)] = Hashed::new(NodeState::Server(Default::default()));
            }
        }
        if self.cfg.collect_dead_messages {
            self.collect_dead(&mut state, touched);
        }
        Some(state)
    }

    fn within_boundary(&self, state: &State) -> bool {
        if let Some(log) = &self.history_log {
            let ops: Vec<Vec<_>> = state
                .history
                .ops
                .iter()
                .map(|ops| ops.iter().map(|o| (&o.op, &o.after, &o.ret)).collect())
                .collect();
            log.lock()
                .expect("no search thread panicked")
                .insert(format!("{ops:?}"));
        }
        true
    }

    fn format_action(&self, action: &Action) -> String {
        match action {
            Action::Deliver(e) => format!("deliver {e:?}"),
            Action::Drop(e) => format!("lose {e:?}"),
            Action::Timeout(id) => format!("timer fires at {}", usize::from(*id)),
            Action::Crash(id) => format!("server {} crashes", usize::from(*id)),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        crate::properties::for_config(&self.cfg)
    }
}

impl VivaceModel {
    /// With [`ModelConfig::takeover_waits_for_delegate`], whether the
    /// delegate of client `id`'s delegated operation, if it has one, is
    /// quiet too (nothing in flight to or from it): the client's
    /// delegation timer then fires only once its delegate has stopped
    /// making progress (it crashed, lost a message, or waits for a value),
    /// a timeout longer than any one step of a delegate at work. Without
    /// it (every other configuration), the timer fires at any moment its
    /// client is quiet, while the delegate is still at work.
    fn delegate_quiet(&self, state: &State, id: Id) -> bool {
        if !self.cfg.takeover_waits_for_delegate {
            return true;
        }
        match &*state.nodes[usize::from(id)] {
            NodeState::Client(c) => match c.current.as_ref() {
                Some(cur) if matches!(cur.phase, Phase::Delegated { .. }) => {
                    cur.to.iter().all(|d| quiet(state, d))
                }
                _ => true,
            },
            _ => true,
        }
    }
}

/// Whether an EXEC of ordering timestamp `ots` (Section 3.4.2) leaves the
/// object `o` unchanged now and in every later state: it was applied
/// already (`exec_buf` holds `ots`; the entry goes only when a timestamp
/// at least `ots` is adopted, and then `ts[key] ≥ ots > mts` rejects it),
/// or it is rejected for a newer ordering timestamp (`ots[key]` only
/// grows). As written; the mutant `exec-applies-to-other-ts` can apply a
/// late EXEC again after its OW-TS, so collecting it there only removes
/// executions of a mutant (a refutation found still stands).
fn exec_inert(o: &vivace_spec::replica::Object, ots: vivace_spec::Ts) -> bool {
    o.exec_buf.contains_key(&ots) || o.ots > ots
}

fn completed_counts(h: &History) -> Vec<u8> {
    h.ops
        .iter()
        .map(|ops| ops.iter().filter(|o| o.ret.is_some()).count() as u8)
        .collect()
}

/// Nothing is in flight to or from `id`: a timeout longer than any message
/// delay can fire now.
pub fn quiet(state: &State, id: Id) -> bool {
    !state.net.iter().any(|e| e.src == id || e.dst == id)
}

fn disarm(timers: &mut IdSet, id: Id) {
    timers.0 &= !(1u64 << usize::from(id));
}

impl VivaceModel {
    /// Nothing will ever happen again by itself: no message in flight, and
    /// no armed timer whose firing would send anything to a live node.
    pub fn quiescent(&self, state: &State) -> bool {
        state.net.is_empty()
            && state.timers.iter().all(|id| {
                // A property's look ahead, not a step: not counted.
                let (_, effects) = vivace_spec::coverage::paused(|| {
                    crate::garbage::step(
                        &self.actors[usize::from(id)],
                        id,
                        &state.nodes[usize::from(id)],
                        &Input::Timeout,
                    )
                });
                !effects.into_iter().any(
                    |e| matches!(e, crate::garbage::Effect::Send(dst, _) if !state.crashed.contains(dst)),
                )
            })
    }
}
