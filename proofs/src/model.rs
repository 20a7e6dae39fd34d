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
use crate::linearizability::{is_linearizable, HistOp, Register, RmwObject};
use crate::shared::Hashed;
use stateright::actor::{Actor, Command, Out};
use stateright::{Model, Property};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use vivace_spec::client::{Client, ClientState, Phase};
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
    /// Messages in flight from the server that may crash (`crash_only`)
    /// that this execution will never deliver: the crash will lose them
    /// (see `VivaceModel::ample`). Still in flight for every property; the
    /// crash removes them. A sorted multiset.
    pub doomed: Vec<Envelope>,
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
    /// A message from the server that may crash is set aside: this
    /// execution never delivers it, and the crash will lose it.
    Doom(Envelope),
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
}

impl VivaceModel {
    /// Builds the model of `cfg`.
    pub fn new(cfg: ModelConfig) -> VivaceModel {
        let (deployment, actors) = cfg.build();
        VivaceModel {
            cfg,
            deployment,
            actors,
            history_log: None,
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
        id: Id,
        f: impl FnOnce(&Node, &mut Cow<NodeState>, &mut Out<Node>),
        delivered: Option<&Envelope>,
    ) {
        let i = usize::from(id);
        let before = state.nodes[i].clone();
        let mut cow = Cow::Borrowed(&*before);
        let mut out = Out::new();
        f(&self.actors[i], &mut cow, &mut out);
        if let Cow::Owned(next) = cow {
            state.nodes[i] = Hashed::new(next);
        }
        self.apply_out(state, id, out);
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
    fn apply_out(&self, state: &mut State, id: Id, out: Out<Node>) {
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
            self.step_actor(
                state,
                dst,
                |a, s, o| a.on_msg(dst, s, src, msg, o),
                Some(&env),
            );
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

    /// Removes messages whose delivery can no longer change anything: replies
    /// to a phase the client has left (request ids only grow) or already
    /// counted, and W-REMOTE acknowledgements for a finished propagation.
    /// Delivering them would be a step that changes nothing but the network,
    /// so removing them keeps every reachable actor state and history.
    /// Likewise a parked R-DATA / OR-DATA whose client has left that phase:
    /// all it can still do is send such a dead reply.
    ///
    /// The same holds for the coordinators a delegate runs for clients
    /// (Section 3.4.2): a reply to a delegated operation's phase it has
    /// left is dead, and so is its request once that reply is dead and
    /// the handler inert.
    fn collect_dead(&self, state: &mut State) {
        // Whether actor `dst` still waits for a reply from `src` to `req`
        // (`data`: the reply is R-DATA's, see `Client::awaits`): a client,
        // or a delegate's coordinator of a client's operation.
        let live_reply = |nodes: &[Hashed<NodeState>], dst: Id, src: Id, req, data| match &*nodes
            [usize::from(dst)]
        {
            NodeState::Client(c) => c
                .current
                .as_ref()
                .is_some_and(|cur| Client::awaits(cur, src, req, data)),
            NodeState::Server(s) => s.delegations.values().any(|d| {
                d.current
                    .as_ref()
                    .is_some_and(|cur| Client::awaits(cur, src, req, data))
            }),
            NodeState::Clock(_) => true,
        };
        let nodes = &state.nodes;
        let live = |env: &Envelope| match &*nodes[usize::from(env.dst)] {
            NodeState::Client(_) => live_reply(
                nodes,
                env.dst,
                env.src,
                env.msg.req(),
                env.msg.is_read_data(),
            ),
            NodeState::Server(s) => match env.msg {
                Msg::AckWRemote { req } => s
                    .local_buf
                    .values()
                    .any(|p| p.req == req && !p.acks.from.contains(env.src)),
                // A reply to a delegated operation's phase.
                _ if env.msg.is_reply() => live_reply(
                    nodes,
                    env.dst,
                    env.src,
                    env.msg.req(),
                    env.msg.is_read_data(),
                ),
                // A request (of a client, or of a delegate's coordinator)
                // whose reply is dead and whose handler can no longer
                // change the server. Propagation (W-LOCAL, W-REMOTE) and
                // DELEGATE are kept by `inert_forever` as they must be.
                _ if env.src != self.cfg.clock_id() => {
                    live_reply(
                        nodes,
                        env.src,
                        env.dst,
                        env.msg.req(),
                        env.msg.is_read_data(),
                    ) || !inert_forever(s, env.src, &env.msg)
                }
                _ => true,
            },
            NodeState::Clock(_) => true,
        };
        state.net.retain(&live);
        state.doomed.retain(&live);
        for i in 0..self.cfg.servers.len() {
            let NodeState::Server(s) = &*state.nodes[i] else {
                continue;
            };
            let me = Id::from(i);
            // A parked EXEC still changes the server when it is applied,
            // so it is kept until that can no longer happen.
            let keep = |p: &vivace_spec::replica::Parked| {
                live_reply(&state.nodes, p.from, me, p.req, !p.rmw)
                    || p.exec.as_ref().is_some_and(|e| {
                        !s.objects.get(&p.key).is_some_and(|o| exec_inert(o, e.ots))
                    })
            };
            if s.parked.iter().all(keep) {
                continue;
            }
            let kept = s.parked.iter().filter(|p| keep(p)).cloned().collect();
            let mut s = s.clone();
            s.parked = kept;
            state.nodes[i] = Hashed::new(NodeState::Server(s));
        }
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
            doomed: Vec::new(),
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
            self.apply_out(&mut state, Id::from(i), out);
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
        vec![state]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        if let Some(env) = self.ample(state) {
            actions.push(Action::Deliver(env.clone()));
            if state.drops_left > 0 {
                actions.push(Action::Drop(env.clone()));
            }
            if self.crashable(state) == Some(env.src) {
                actions.push(Action::Doom(env.clone()));
            }
            return;
        }
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
                    && self.cfg.crash_only.map_or(true, |k| k == i)
                {
                    actions.push(Action::Crash(Id::from(i)));
                }
            }
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        match action {
            Action::Deliver(env) => {
                let at = state.net.binary_search(&env).ok()?;
                state.net.remove(at);
                let Envelope { src, dst, msg } = env.clone();
                self.step_actor(
                    &mut state,
                    dst,
                    |a, s, o| a.on_msg(dst, s, src, msg, o),
                    Some(&env),
                );
            }
            Action::Drop(env) => {
                let at = state.net.binary_search(&env).ok()?;
                state.net.remove(at);
                state.drops_left -= 1;
            }
            Action::Doom(env) => {
                let at = state.net.binary_search(&env).ok()?;
                let env = state.net.remove(at);
                let at = state.doomed.binary_search(&env).unwrap_or_else(|e| e);
                state.doomed.insert(at, env);
            }
            Action::Timeout(id) => {
                if !quiet(&state, id) {
                    state.spurious_left -= 1;
                }
                disarm(&mut state.timers, id);
                self.step_actor(
                    &mut state,
                    id,
                    |a, s, o| a.on_timeout(id, s, &vivace_spec::Timer::Retransmit, o),
                    None,
                );
            }
            Action::Crash(id) => {
                state.crashed.insert(id);
                disarm(&mut state.timers, id);
                // A crash loses what the server was sending too: a message
                // still in flight from it may as well not have left yet.
                state.net.retain(|e| e.dst != id && e.src != id);
                state.doomed.retain(|e| e.dst != id && e.src != id);
                // A crashed server never acts again: one canonical state for it.
                state.nodes[usize::from(id)] = Hashed::new(NodeState::Server(Default::default()));
            }
        }
        if self.cfg.collect_dead_messages {
            self.collect_dead(&mut state);
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
            Action::Doom(e) => format!("never deliver {e:?} (the crash will lose it)"),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        crate::properties::for_config(&self.cfg)
    }
}

impl VivaceModel {
    /// Partial-order reduction: a delivery that is invisible to every
    /// `always` property and commutes with every action that can ever be
    /// enabled alongside it may be explored alone (an ample set of one).
    ///
    /// Applies for the algorithms as written or mutated elsewhere than in
    /// the handlers below ([`reduction_sound_with`]), and only where no
    /// timer can fire early (the early-firing budget is spent).
    ///
    /// Losses: while the network may still lose a message, the set explored
    /// is the delivery *and* the loss of the message (a stubborn set with the
    /// delivery as key: nothing outside the set disables it, and both commute
    /// with every step outside it, since losing other messages uses the
    /// budget in any order). A loss is invisible like the delivery: it
    /// changes no history, and `durable` does not count on a W-REMOTE in
    /// flight while its sender still holds the value, or after a majority
    /// acknowledged it. (Lossy networks are not checked for `progress`.)
    ///
    /// Timers (with retransmission): a timer fires only once nothing is in
    /// flight to or from its actor, so the timers of the delivered message's
    /// sender and receiver cannot fire before it. Where timers exist, only
    /// deliveries that send to nobody but the message's sender and actors
    /// no timer depends on are taken (`propagation_commutes`: a
    /// W-LOCAL at replica 1, whose W-REMOTEs go to replicas in no local set,
    /// but not one at a local replica whose W-REMOTE would make replica 1
    /// busy, nor a W-REMOTE that answers a parked read): then no other
    /// actor's quiet, and so no other timer, depends on the delivery (the
    /// receiver was not quiet: the message was in flight to it), and a timer that
    /// fires only adds messages, which commutes with it. Every cycle of the
    /// state graph (a retransmission that changes nothing) goes through a
    /// timer, and a state where a timer is taken is expanded in full.
    ///
    /// While a crash can still happen, it applies only if a single server
    /// `k` may crash (`crash_only`, set by the crash split of `run::check`)
    /// and to deliveries not from `k` (and W-REMOTE from `k`, with its doom,
    /// below). One neither from nor to `k`
    /// commutes with the crash (what it sends to `k` is lost either way:
    /// dropped at the send if `k` crashed first, removed by the crash
    /// otherwise), and the crash leaves it enabled. One to `k` is absorbed
    /// by the crash: delivering it and then crashing `k` gives exactly the
    /// state that crashing `k` gives (the crash resets `k`, removes the
    /// message, and removes what `k` sent in the step), so every execution
    /// that crashes `k` first is matched, state for state after the crash,
    /// by one that takes the delivery first.
    ///
    /// A delivery of a message `m` from `k` conflicts with the crash, which
    /// would lose `m`. For W-REMOTE (the message whose loss matters: it
    /// carries a value) the set explored is the delivery and the *doom* of
    /// `m` (`Action::Doom`): `m` moves to `State::doomed`, where it still
    /// counts as in flight for every property but is never delivered, and
    /// the crash removes it. Doom is invisible (a doomed state equals, for
    /// every property, the state with `m` in flight) and commutes with
    /// every other step. Every execution from here either delivers `m`
    /// before any crash (then it is matched by one that delivers `m` first,
    /// as above) or never does: then it runs unchanged after the doom, and
    /// its states equal the doomed ones (with the crash, exactly: the crash
    /// removes `m` doomed or not). Other messages from `k` are not taken:
    /// dooming acknowledgements and client replies too was measured to add
    /// states, not remove them (`vivace_rmw/crash` with one execute per
    /// client: 4.6 M states without doom, 3.1 M with W-REMOTE, 3.3 M with
    /// acknowledgements too, 3.9 M with client replies too).
    ///
    /// The deliveries taken:
    /// - W-LOCAL, W-REMOTE and ACK-W-REMOTE to a server: each touches only
    ///   its own entry of `local_buf`, or `val`/`remote_buf` in a way that
    ///   commutes with every other handler of that replica (W-TS and OW-TS
    ///   adopt a buffered value or wait for it alike; R-TS and OR-TS read no
    ///   value; R-DATA and OR-DATA park or are answered alike), provided it
    ///   answers no parked read (`propagation_commutes`); none changes the
    ///   history, and each keeps the value of `durable`;
    /// - a reply to a client that does not complete its phase: it only adds
    ///   to the phase's votes, and the phase's data (maxima, C1) does not
    ///   depend on the order replies arrive in (except the parallel
    ///   write-back's data reply, which is never taken: the first one wins).
    ///
    /// Such a delivery never empties the network, so "quiescent" (the
    /// progress property) does not change either.
    /// `sometimes` properties are not preserved (the reduction may always
    /// propagate a value before the write returns), so `run::check` looks
    /// for the unreached ones again without the reduction.
    fn ample<'a>(&self, state: &'a State) -> Option<&'a Envelope> {
        let cfg = &self.cfg;
        if !cfg.partial_order || !reduction_sound_with(cfg.mutation) || state.spurious_left > 0 {
            return None;
        }
        let timers = cfg.options.retransmit || !state.timers.is_empty();
        // While a crash can still happen, only of `crash_only`.
        if state.crashed.len() < cfg.max_crashes && cfg.crash_only.is_none() {
            return None;
        }
        state
            .net
            .iter()
            // From the server that may crash, only W-REMOTE (with its doom).
            .filter(|env| {
                Some(env.src) != self.crashable(state) || matches!(env.msg, Msg::WRemote { .. })
            })
            .find(|env| match &*state.nodes[usize::from(env.dst)] {
                NodeState::Server(s) => match env.msg {
                    Msg::WLocal { .. } => {
                        state.drops_left == 0 && self.propagation_commutes(s, env, timers)
                    }
                    Msg::WRemote { .. } => self.propagation_commutes(s, env, timers),
                    Msg::AckWRemote { .. } => state.net.len() > 1,
                    // A reply to a delegated operation's phase (Section
                    // 3.4.2) that does not complete it: as for a client.
                    _ if env.msg.is_reply() && state.net.len() > 1 => {
                        s.delegations.iter().any(|(&client, d)| {
                            d.current.as_ref().is_some_and(|cur| {
                                let c = Client::coordinator(self.deployment.clone(), client);
                                let before = ClientState {
                                    current: Some(cur.clone()),
                                    ..ClientState::default()
                                };
                                only_counts(&c, &before, env)
                            })
                        })
                    }
                    _ => false,
                },
                NodeState::Client(c) => {
                    let Node::Client(actor) = &self.actors[usize::from(env.dst)] else {
                        return false;
                    };
                    state.net.len() > 1 && only_counts(actor, c, env)
                }
                NodeState::Clock(_) => false,
            })
    }

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

    /// The server that may still crash in `state`, if the crash split
    /// named one (`crash_only`) and it has not crashed yet.
    fn crashable(&self, state: &State) -> Option<Id> {
        let k = self.cfg.crash_only?;
        (state.crashed.len() < self.cfg.max_crashes).then_some(Id::from(k))
    }

    /// Whether delivering the W-LOCAL or W-REMOTE `env` to the server in
    /// state `s` answers no parked read, and, where timers exist, sends
    /// only to the message's sender or to actors no timer depends on
    /// (`timer_depends_on`: without retransmission, servers arm no timer;
    /// with it, servers in no local set and no delegate), so that no timer
    /// of a third actor depends on it. The server's messages to itself are handled in the same step
    /// (see `apply_out`), so their sends count too: a W-REMOTE to itself can
    /// answer a parked read.
    ///
    /// A parked read answered by the propagation does not commute with a
    /// newer W-TS (OW-TS) at the same replica: W-REMOTE first answers it
    /// with the propagated value, W-TS first makes it wait for the newer one.
    fn propagation_commutes(
        &self,
        s: &vivace_spec::replica::ServerState,
        env: &Envelope,
        timers: bool,
    ) -> bool {
        let Node::Server(actor) = &self.actors[usize::from(env.dst)] else {
            return false;
        };
        // Without a parked read nothing can be answered: W-REMOTE then only
        // acknowledges its sender, and W-LOCAL's other sends matter only
        // where timers exist. No handler run needed.
        if s.parked.is_empty() && (!timers || matches!(env.msg, Msg::WRemote { .. })) {
            return true;
        }
        let mut after = s.clone();
        let mut todo = vec![(env.src, env.msg.clone())];
        while let Some((from, msg)) = todo.pop() {
            let mut sends = Vec::new();
            actor.on_msg(&mut after, from, msg, &mut sends);
            for (to, msg) in sends {
                if matches!(
                    msg,
                    Msg::AckRData { .. } | Msg::AckOrData { .. } | Msg::AckExec { .. }
                ) {
                    return false;
                }
                if to == env.dst {
                    todo.push((env.dst, msg));
                } else if timers && to != env.src && self.timer_depends_on(to) {
                    return false;
                }
            }
        }
        true
    }

    /// Whether some timer's firing depends on whether actor `id` is quiet:
    /// its own, if it can arm one, and, with
    /// [`crate::config::ModelConfig::takeover_waits_for_delegate`], its
    /// clients' delegation timers when it is a delegate (they wait for it
    /// to be quiet too, see `delegate_quiet`): a message sent to it
    /// disables them.
    fn timer_depends_on(&self, id: Id) -> bool {
        self.may_arm_timer(id) || (self.cfg.takeover_waits_for_delegate && self.is_delegate(id))
    }

    /// Whether server `id` is some client's delegate (Section 3.4.2).
    fn is_delegate(&self, id: Id) -> bool {
        self.cfg
            .clients
            .iter()
            .any(|c| self.deployment.delegate_of(&crate::config::key(), c.site) == Some(id))
    }

    /// Whether actor `id` can ever arm a retransmission timer: a client; a
    /// server in a local set, with retransmission (it resends W-REMOTE); a
    /// client's delegate (Section 3.4.2), when the operations it
    /// coordinates can need a timer (retransmission, or the fallbacks of
    /// reading from fewer replicas and of executing at replicas).
    fn may_arm_timer(&self, id: Id) -> bool {
        let i = usize::from(id);
        let o = &self.cfg.options;
        match self.actors[i] {
            Node::Client(_) => true,
            Node::Server(_) => {
                let local = self.cfg.local_sets.iter().any(|(_, l)| l.contains(&i));
                (local && o.retransmit)
                    || (self.is_delegate(id)
                        && (o.retransmit || o.fewer_replicas || o.execute_at_replicas))
            }
            Node::Clock(_) => false,
        }
    }
}

/// Whether delivering the client request `msg` to a server in state `s`
/// leaves the server unchanged now and in every later state (its reply
/// aside). Read-only requests never change it (R-DATA and OR-DATA only park,
/// and a parked request with a dead reply is collected too). The others
/// change it only with a timestamp above the replica's, and `ts[key]` and
/// `ots[key]` only grow: W-TS and ABD's store act only on `ts > ts[key]`, OR
/// and OR-TS only on `ots > ots[key]` (equal changes nothing even where a
/// mutant accepts it), OW and OW-TS only on `ots ≥ ots[key]`. W-LOCAL is
/// kept: once its propagation finished, a late copy would start another.
///
/// A DELEGATE (Section 3.4.2) is inert once the delegate has seen one of a
/// request id at least as high from the same client: it ignores it, and
/// the id it keeps only grows.
fn inert_forever(s: &vivace_spec::replica::ServerState, src: Id, msg: &Msg) -> bool {
    use vivace_spec::Ts;
    // An object never touched is in its initial state (ts 0, ots 0, a value).
    let get = |key: &vivace_spec::Key| -> (Ts, Ts, bool) {
        s.objects.get(key).map_or((Ts::ZERO, Ts::ZERO, true), |o| {
            (o.ts, o.ots, o.val.is_some())
        })
    };
    match msg {
        Msg::AbdQuery { .. } | Msg::AbdTsQuery { .. } | Msg::RTs { .. } => true,
        // Parking also serves the key's parked requests that are ready. As
        // written none is ever left waiting when ready (every change that
        // can make one ready serves them); a mutant may break that, so keep
        // the request whenever one is parked on a key with a value or a
        // buffered one.
        Msg::RData { key, .. } | Msg::OrData { key, .. } => {
            let buffered = s.objects.get(key).is_some_and(|o| !o.remote_buf.is_empty());
            !(get(key).2 || buffered) || !s.parked.iter().any(|p| &p.key == key)
        }
        Msg::AbdStore { key, ts, .. } | Msg::WTs { key, ts, .. } => *ts <= get(key).0,
        Msg::Or { key, ots, .. } | Msg::OrTs { key, ots, .. } => *ots <= get(key).1,
        Msg::Ow { key, ots, .. } | Msg::OwTs { key, ots, .. } => *ots < get(key).1,
        Msg::Exec { key, ots, .. } => s.objects.get(key).is_some_and(|o| exec_inert(o, *ots)),
        Msg::Delegate { req, .. } => s.delegations.get(&src).is_some_and(|d| d.req >= *req),
        _ => false,
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

/// Whether the commutations `VivaceModel::ample` relies on hold with this
/// mutation: they concern the server handlers of W-LOCAL, W-REMOTE, W-TS,
/// OW-TS and parked reads, and the order-independence of a phase's votes.
/// Mutations of those handlers break them; mutations of the client's
/// decisions or of the clock do not.
pub fn reduction_sound_with(m: vivace_spec::Mutation) -> bool {
    use vivace_spec::Mutation::*;
    match m {
        None
        | ReadSkipsWriteBack
        | SkipWriteBackC1Only
        | WriteBackPhase1Ts
        | OrDataWaitsForTs
        | OrTsAcceptsEqual
        | WTsBeforeLocalMajority
        | ParallelWriteBackIgnoresC2
        | ParallelWriteBackNoWait
        | FewerReplicasNoFallback
        | ExecNoFallback
        | DelegationNoFallback
        | DelegationFallbackNewTimestamp => true,
        // A replica applying to another value than `mts`'s makes the
        // results of an EXEC phase differ, so their order matters.
        RDataLowerTs | WTsKeepsOldValue | WRemoteStoresLower | ExecAppliesToOtherTs => false,
    }
}

/// Whether the reply `env` only adds to the votes of the current phase of
/// `actor` (a client, or a delegate's coordinator) in state `c`: it
/// answers that phase, sends nothing, and neither completes the
/// operation nor starts another phase. The phase's data (maxima, C1) does
/// not depend on the order replies arrive in, except the parallel
/// write-back's data reply (the first one wins), which never counts.
fn only_counts(actor: &Client, c: &ClientState, env: &Envelope) -> bool {
    let Some(cur) = &c.current else { return false };
    if !env.msg.is_reply() || env.msg.req() != cur.req {
        return false;
    }
    if matches!(cur.phase, Phase::RDataWb { .. }) && env.msg.is_read_data() {
        return false;
    }
    let mut after = c.clone();
    let mut sends = Vec::new();
    actor.on_msg(&mut after, env.src, env.msg.clone(), &mut sends);
    sends.is_empty()
        && after.done.len() == c.done.len()
        && after.current.as_ref().map(|x| x.req) == Some(cur.req)
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
            && state.doomed.is_empty()
            && state.timers.iter().all(|id| {
                let mut cow = Cow::Borrowed(&*state.nodes[usize::from(id)]);
                let mut out = Out::new();
                self.actors[usize::from(id)].on_timeout(
                    id,
                    &mut cow,
                    &vivace_spec::Timer::Retransmit,
                    &mut out,
                );
                !out.into_iter()
                    .any(|c| matches!(c, Command::Send(dst, _) if !state.crashed.contains(dst)))
            })
    }
}
