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
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use stateright::actor::{Actor, Command, Out};
use stateright::{Model, Property};
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
        write!(f, "{} {}→{} {:?}", self.msg.name(), usize::from(self.src), usize::from(self.dst), self.msg)
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
    pub nodes: Vec<Arc<NodeState>>,
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
    pub history: History,
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

/// The model of one configuration.
pub struct VivaceModel {
    /// The configuration.
    pub cfg: ModelConfig,
    /// The deployment the actors share.
    pub deployment: Arc<Deployment>,
    /// The actors, indexed by id: servers, then clients, then the clock.
    pub actors: Vec<Node>,
}

impl VivaceModel {
    /// Builds the model of `cfg`.
    pub fn new(cfg: ModelConfig) -> VivaceModel {
        let (deployment, actors) = cfg.build();
        VivaceModel { cfg, deployment, actors }
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
        let before = Arc::clone(&state.nodes[i]);
        let mut cow = Cow::Borrowed(&*before);
        let mut out = Out::new();
        f(&self.actors[i], &mut cow, &mut out);
        if let Cow::Owned(next) = cow {
            state.nodes[i] = Arc::new(next);
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
            self.step_actor(state, dst, |a, s, o| a.on_msg(dst, s, src, msg, o), Some(&env));
        }
    }

    /// Records invocations and returns of client `id` that the last step made.
    fn record(&self, state: &mut State, id: Id, before: &NodeState, delivered: Option<&Envelope>) {
        let c = self.client_index(id);
        let (NodeState::Client(old), NodeState::Client(new)) = (before, &*state.nodes[usize::from(id)]) else {
            return;
        };
        let (old_done, new_done) = (old.done.len(), new.done.len());
        let old_req = old.current.as_ref().map(|cur| cur.req);
        let new_current = new.current.clone();
        let returned: Vec<Ret> = new.done[old_done..].to_vec();
        // The data phase completed with this message: note where the data came from.
        if let Some(env) = delivered {
            let data = matches!(env.msg, Msg::AckRData { .. } | Msg::AckOrData { .. });
            let advanced = new_done > old_done || new_current.as_ref().map(|x| x.req) != old_req;
            if data && advanced {
                let local = self.deployment.site(env.src) == self.deployment.site(id);
                if let Some(op) = state.history.ops[c].get_mut(old_done) {
                    op.data_local = local;
                }
            }
        }
        for (k, ret) in returned.into_iter().enumerate() {
            let only_local = self.value_only_local(state, &state.history.ops[c][old_done + k].op, &ret);
            let op = &mut state.history.ops[c][old_done + k];
            op.ret = Some(ret);
            op.value_only_local = only_local;
            if !state.history.violated && !self.linearizable(&state.history.ops) {
                state.history.violated = true;
            }
        }
        if new_done > old_done || old.current.is_none() {
            if let Some(cur) = new_current {
                let after = self.completed_counts(state);
                state.history.ops[c].push(HistOp::invoked(cur.op, after));
            }
        }
    }

    fn completed_counts(&self, state: &State) -> Vec<u8> {
        state.history.ops.iter().map(|ops| ops.iter().filter(|o| o.ret.is_some()).count() as u8).collect()
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
        !replicas.iter().any(|&r| match &*state.nodes[usize::from(r)] {
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
    fn collect_dead(&self, state: &mut State) {
        let nodes = &state.nodes;
        state.net.retain(|env| match &*nodes[usize::from(env.dst)] {
            NodeState::Client(c) => match &c.current {
                Some(cur) => env.msg.req() == cur.req && !cur.votes.from.contains(env.src),
                None => false,
            },
            NodeState::Server(s) => match env.msg {
                Msg::AckWRemote { req } => s.local_buf.values().any(|p| p.req == req && !p.acks.from.contains(env.src)),
                _ => true,
            },
            NodeState::Clock(_) => true,
        });
    }

    /// Whether every client finished all its operations.
    pub fn all_finished(&self, state: &State) -> bool {
        self.actors.iter().zip(&state.nodes).all(|(a, s)| match (a, &**s) {
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
            history: History { ops: vec![Vec::new(); self.cfg.clients.len()], violated: false },
            groups: self.cfg.symmetry.then(|| Arc::new(crate::symmetry::Groups(self.cfg.symmetric_groups()))),
        };
        let mut outs = Vec::new();
        for (i, a) in self.actors.iter().enumerate() {
            let mut out = Out::new();
            state.nodes.push(Arc::new(a.on_start(Id::from(i), &None, &mut out)));
            outs.push(out);
        }
        for (i, out) in outs.into_iter().enumerate() {
            self.apply_out(&mut state, Id::from(i), out);
            // on_start moved each client into its first operation.
            if let NodeState::Client(s) = &*state.nodes[i] {
                if let Some(cur) = &s.current {
                    let op = HistOp::invoked(cur.op.clone(), vec![0; self.cfg.clients.len()]);
                    state.history.ops[self.client_index(Id::from(i))].push(op);
                }
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
            if state.spurious_left > 0 || quiet(state, id) {
                actions.push(Action::Timeout(id));
            }
        }
        if state.crashed.len() < self.cfg.max_crashes {
            for i in 0..self.cfg.servers.len() {
                if !state.crashed.contains(Id::from(i)) {
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
                self.step_actor(&mut state, dst, |a, s, o| a.on_msg(dst, s, src, msg, o), Some(&env));
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
                self.step_actor(&mut state, id, |a, s, o| a.on_timeout(id, s, &vivace_spec::Timer::Retransmit, o), None);
            }
            Action::Crash(id) => {
                state.crashed.insert(id);
                disarm(&mut state.timers, id);
                // A crash loses what the server was sending too: a message
                // still in flight from it may as well not have left yet.
                state.net.retain(|e| e.dst != id && e.src != id);
                // A crashed server never acts again: one canonical state for it.
                state.nodes[usize::from(id)] = Arc::new(NodeState::Server(Default::default()));
            }
        }
        if self.cfg.collect_dead_messages {
            self.collect_dead(&mut state);
        }
        Some(state)
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
                let mut cow = Cow::Borrowed(&*state.nodes[usize::from(id)]);
                let mut out = Out::new();
                self.actors[usize::from(id)].on_timeout(id, &mut cow, &vivace_spec::Timer::Retransmit, &mut out);
                !out.into_iter().any(|c| matches!(c, Command::Send(dst, _) if !state.crashed.contains(dst)))
            })
    }
}
