//! # The directory service's reconfiguration, model checked before it is built
//!
//! Section 3.1 keeps each container's metadata (its replica set among it) in
//! a directory service that clients cache; the paper's prototype did not
//! build it. What matters for safety is what happens when a container's
//! replica set changes while clients hold the old metadata: an operation
//! must not complete on the old replicas after their state was copied to
//! the new ones, and the new ones must start from every completed write.
//! This model checks the protocol README.md ("The directory service")
//! describes, on its own, before spec and runtime implement it:
//!
//! - **Epochs.** The metadata of the container is an epoch; epoch 1's
//!   replicas are servers 0, 1, 2 and epoch 2's are 1, 2, 3. Every request
//!   carries the client's epoch; a server that does not serve it (not
//!   installed in it, or sealed) answers `STALE`, and the client re-reads
//!   the directory and resumes the operation in the epoch it finds.
//! - **Reconfiguration** (the admin): SEAL epoch 1 at its replicas and wait
//!   for a majority of them, each answering with its `(ts, val)`; INSTALL
//!   the newest at epoch 2's replicas and wait for a majority; then
//!   PUBLISH epoch 2 in the directory.
//! - **Resuming.** A read's query starts over; a store phase (a write's,
//!   or a read's write-back) is resent with **the same** timestamp and
//!   value, so a store half done in epoch 1 and redone in epoch 2 is one
//!   write.
//! - **The directory** is one node, an atomic register: it stands for a
//!   directory object replicated with Algorithm 1, which the main models
//!   prove linearizable, and linearizability is local (an object built of
//!   linearizable objects can treat each as atomic).
//! - **The register** is ABD-style: values travel with their timestamps.
//!   The value-timestamp split of Algorithm 1 only adds that the copy must
//!   wait for a value still propagating, which the main models check for
//!   the algorithm itself.
//!
//! Mutants ([`ReconfigMutation`]) drop each step and must be refuted.
//!
//! The clients run one after another (client 0 writes, then client 1
//! reads), concurrently with the reconfiguration: with both concurrent the
//! search passed 11.6 M states for one write and one read (88 s), and a
//! reader that reads twice was out of reach. So the rule that a store is
//! resumed with the same timestamp is argued (README), not yet refuted as
//! a mutant: its counterexample needs a write pending across the change
//! while another client reads, writes and reads again.

use crate::linearizability::{is_linearizable, HistOp, Register};
use serde::Serialize;
use stateright::{Model, Property};
use std::collections::BTreeMap;
use vivace_spec::{Bytes, Op, Ret};

/// A timestamp: `(time, writer)`, the writer being client index + 1; the
/// initial value has `(0, 0)`.
pub type Ts = (u8, u8);
/// A configuration of the container's metadata.
pub type Epoch = u8;
/// A value: 0 is the initial (empty) value, client `c` writes `c + 1`.
pub type Val = u8;

/// The replica set of each epoch (server indices).
pub fn replicas(epoch: Epoch) -> &'static [u8] {
    match epoch {
        1 => &[0, 1, 2],
        _ => &[1, 2, 3],
    }
}

/// Servers in the model.
pub const SERVERS: u8 = 4;

fn majority(epoch: Epoch) -> usize {
    replicas(epoch).len() / 2 + 1
}

/// A deliberate bug in the reconfiguration, for the mutants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum ReconfigMutation {
    /// The protocol as described.
    #[default]
    None,
    /// SEAL does not stop the old replicas: they keep serving epoch 1
    /// after the copy, so a write can complete where epoch 2 never looks.
    NoSeal,
    /// The admin copies from the first SEAL answer instead of a majority.
    CopyFromOne,
    /// INSTALL activates the new replicas without the copied state.
    InstallWithoutCopy,
}

impl ReconfigMutation {
    /// Every mutation, each of which the checker must refute.
    pub const ALL: [ReconfigMutation; 3] = [
        ReconfigMutation::NoSeal,
        ReconfigMutation::CopyFromOne,
        ReconfigMutation::InstallWithoutCopy,
    ];
}

/// A node of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// Server `i`.
    Server(u8),
    /// Client `i`.
    Client(u8),
    /// The directory (an atomic register holding the published epoch).
    Directory,
    /// The administrator that changes the replica set.
    Admin,
}

/// A message.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Msg {
    /// Send me your `(ts, val)`.
    Query {
        req: u8,
        epoch: Epoch,
    },
    QueryAck {
        req: u8,
        ts: Ts,
        val: Val,
    },
    /// Store `(ts, val)` if newer.
    Store {
        req: u8,
        epoch: Epoch,
        ts: Ts,
        val: Val,
    },
    StoreAck {
        req: u8,
    },
    /// The server does not serve the request's epoch.
    Stale {
        req: u8,
    },
    DirRead,
    DirAck {
        epoch: Epoch,
    },
    /// Stop serving `epoch`; answer with your `(ts, val)`.
    Seal {
        epoch: Epoch,
    },
    SealAck {
        ts: Ts,
        val: Val,
    },
    /// Serve `epoch`, starting from `(ts, val)` if newer than yours.
    Install {
        epoch: Epoch,
        ts: Ts,
        val: Val,
    },
    InstallAck,
    /// The directory's new metadata.
    Publish {
        epoch: Epoch,
    },
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Envelope {
    /// Sender.
    pub src: Node,
    /// Receiver.
    pub dst: Node,
    /// The message.
    pub msg: Msg,
}

/// A server's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerState {
    /// The epoch it serves, if any.
    pub active: Option<Epoch>,
    /// Sealed: it serves no epoch any more until installed in a new one.
    pub sealed: bool,
    /// Timestamp of its value.
    pub ts: Ts,
    /// Its value.
    pub val: Val,
}

/// Where a client's operation is.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for the directory; `stale` is the epoch that refused it.
    Directory { stale: Option<Epoch> },
    /// Query: the newest `(ts, val)` so far.
    Query { best: (Ts, Val) },
    /// Store of `(ts, val)`; then return `ret`.
    Store { ts: Ts, val: Val },
}

/// A client's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientState {
    /// The cached epoch (none before the first directory read).
    pub cache: Option<Epoch>,
    /// Index of the operation in progress in the script.
    pub op: usize,
    /// Its phase (`None`: finished).
    pub phase: Option<Phase>,
    /// The phase to resume after a directory read.
    pub resume: Option<Phase>,
    /// Servers whose reply the phase counted (bit per server).
    pub votes: u8,
    /// The operation saw a `STALE` and then completed in another epoch.
    pub moved: bool,
}

/// The administrator's progress.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AdminState {
    /// SEAL sent; answers so far and the newest `(ts, val)` among them.
    Sealing { acks: u8, best: (Ts, Val) },
    /// INSTALL sent; acknowledgements so far.
    Installing { acks: u8 },
    /// PUBLISH sent.
    Done,
}

/// A state of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Servers by index.
    pub servers: Vec<ServerState>,
    /// Clients by index.
    pub clients: Vec<ClientState>,
    /// The administrator.
    pub admin: AdminState,
    /// The directory's published epoch.
    pub directory: Epoch,
    /// Messages in flight, with their multiplicity.
    pub net: BTreeMap<Envelope, u8>,
    /// Each client's operations, invoked and completed.
    pub history: Vec<Vec<HistOp>>,
    /// The history stopped being linearizable.
    pub violated: bool,
    /// Some operation refused in one epoch completed in the next.
    pub moved: bool,
}

/// The model: the clients' operations and the mutation.
#[derive(Clone, Debug)]
pub struct ReconfigModel {
    /// Each client's operations, in order: `None` a read, `Some(v)` a write of `v`.
    pub scripts: Vec<Vec<Option<Val>>>,
    /// The deliberate bug, if any.
    pub mutation: ReconfigMutation,
    /// Each client invokes its first operation only once the previous
    /// client finished: the clients run one after another, concurrently
    /// with the reconfiguration. (Concurrency among clients is the
    /// register algorithm's business, which the main models check; this
    /// keeps the search small.)
    pub sequential: bool,
}

impl Default for ReconfigModel {
    /// Client 0 writes 1, then client 1 reads.
    fn default() -> Self {
        ReconfigModel {
            scripts: vec![vec![Some(1)], vec![None]],
            mutation: ReconfigMutation::None,
            sequential: true,
        }
    }
}

fn value(v: Val) -> Bytes {
    if v == 0 {
        Bytes::from("")
    } else {
        Bytes::from(format!("{v}"))
    }
}

fn send(net: &mut BTreeMap<Envelope, u8>, src: Node, dst: Node, msg: Msg) {
    *net.entry(Envelope { src, dst, msg }).or_insert(0) += 1;
}

impl ReconfigModel {
    /// The request id of client `c`'s current phase: operation, phase kind
    /// and epoch, so that resuming in the same epoch reuses it (and the
    /// state space stays finite) while replies from another epoch or phase
    /// never count.
    fn req(op: usize, phase: &Phase, epoch: Epoch) -> u8 {
        let kind = match phase {
            Phase::Query { .. } => 0,
            _ => 1,
        };
        (op as u8) * 4 + kind * 2 + (epoch - 1)
    }

    fn hist_op(v: Option<Val>) -> Op {
        match v {
            Some(v) => Op::Write(value(v)),
            None => Op::Read,
        }
    }

    /// Starts `phase` for client `c` in its cached epoch.
    fn start(&self, s: &mut State, c: usize, phase: Phase) {
        let cl = &mut s.clients[c];
        let Some(epoch) = cl.cache else {
            cl.resume = Some(phase);
            cl.phase = Some(Phase::Directory { stale: None });
            send(
                &mut s.net,
                Node::Client(c as u8),
                Node::Directory,
                Msg::DirRead,
            );
            return;
        };
        cl.votes = 0;
        let req = Self::req(cl.op, &phase, epoch);
        let msg = match &phase {
            Phase::Query { .. } => Msg::Query { req, epoch },
            Phase::Store { ts, val } => Msg::Store {
                req,
                epoch,
                ts: *ts,
                val: *val,
            },
            Phase::Directory { .. } => unreachable!("not a replica phase"),
        };
        cl.phase = Some(phase);
        for &r in replicas(epoch) {
            send(
                &mut s.net,
                Node::Client(c as u8),
                Node::Server(r),
                msg.clone(),
            );
        }
    }

    /// Invokes client `c`'s next operation, if any.
    fn invoke_next(&self, s: &mut State, c: usize) {
        let Some(&op) = self.scripts[c].get(s.clients[c].op) else {
            s.clients[c].phase = None;
            if self.sequential && c + 1 < self.scripts.len() {
                self.invoke_next(s, c + 1);
            }
            return;
        };
        let after = s
            .history
            .iter()
            .map(|h| h.iter().filter(|o| o.ret.is_some()).count() as u8)
            .collect();
        s.history[c].push(HistOp::invoked(Self::hist_op(op), after));
        s.clients[c].moved = false;
        self.start(s, c, Phase::Query { best: ((0, 0), 0) });
    }

    fn complete(&self, s: &mut State, c: usize, ret: Ret) {
        let i = s.clients[c].op;
        s.history[c][i].ret = Some(ret);
        s.moved |= s.clients[c].moved;
        if !s.violated && !is_linearizable(Register::default(), &s.history) {
            s.violated = true;
        }
        s.clients[c].op += 1;
        self.invoke_next(s, c);
    }

    fn on_server(&self, s: &mut State, i: u8, src: Node, msg: Msg) {
        let sv = &mut s.servers[i as usize];
        let serves = |sv: &ServerState, epoch| sv.active == Some(epoch) && !sv.sealed;
        let reply = match msg {
            Msg::Query { req, epoch } if serves(sv, epoch) => Msg::QueryAck {
                req,
                ts: sv.ts,
                val: sv.val,
            },
            Msg::Store {
                req,
                epoch,
                ts,
                val,
            } if serves(sv, epoch) => {
                if ts > sv.ts {
                    sv.ts = ts;
                    sv.val = val;
                }
                Msg::StoreAck { req }
            }
            Msg::Query { req, .. } | Msg::Store { req, .. } => Msg::Stale { req },
            Msg::Seal { epoch } => {
                if sv.active == Some(epoch) && self.mutation != ReconfigMutation::NoSeal {
                    sv.sealed = true;
                }
                Msg::SealAck {
                    ts: sv.ts,
                    val: sv.val,
                }
            }
            Msg::Install { epoch, ts, val } => {
                if ts > sv.ts && self.mutation != ReconfigMutation::InstallWithoutCopy {
                    sv.ts = ts;
                    sv.val = val;
                }
                sv.active = Some(epoch);
                sv.sealed = false;
                Msg::InstallAck
            }
            _ => return,
        };
        send(&mut s.net, Node::Server(i), src, reply);
    }

    fn on_admin(&self, s: &mut State, src: Node, msg: Msg) {
        let Node::Server(i) = src else { return };
        let bit = 1u8 << i;
        match (&mut s.admin, msg) {
            (AdminState::Sealing { acks, best }, Msg::SealAck { ts, val }) => {
                if *acks & bit != 0 {
                    return;
                }
                *acks |= bit;
                if ts > best.0 {
                    *best = (ts, val);
                }
                let needed = match self.mutation {
                    ReconfigMutation::CopyFromOne => 1,
                    _ => majority(1),
                };
                if acks.count_ones() as usize == needed {
                    let (ts, val) = *best;
                    s.admin = AdminState::Installing { acks: 0 };
                    for &r in replicas(2) {
                        let msg = Msg::Install { epoch: 2, ts, val };
                        send(&mut s.net, Node::Admin, Node::Server(r), msg);
                    }
                }
            }
            (AdminState::Installing { acks }, Msg::InstallAck) => {
                *acks |= bit;
                if acks.count_ones() as usize == majority(2) {
                    s.admin = AdminState::Done;
                    send(
                        &mut s.net,
                        Node::Admin,
                        Node::Directory,
                        Msg::Publish { epoch: 2 },
                    );
                }
            }
            _ => {}
        }
    }

    fn on_client(&self, s: &mut State, c: usize, src: Node, msg: Msg) {
        let cl = &s.clients[c];
        let Some(phase) = cl.phase.clone() else {
            return;
        };
        if let (Phase::Directory { stale }, Msg::DirAck { epoch }) = (&phase, &msg) {
            if Some(*epoch) == *stale {
                // Not published yet: ask again.
                send(
                    &mut s.net,
                    Node::Client(c as u8),
                    Node::Directory,
                    Msg::DirRead,
                );
                return;
            }
            let moved = stale.is_some();
            let cl = &mut s.clients[c];
            cl.cache = Some(*epoch);
            cl.moved |= moved;
            let resume = cl
                .resume
                .take()
                .expect("a directory read has a phase to resume");
            self.start(s, c, resume);
            return;
        }
        let (Some(epoch), Node::Server(i)) = (cl.cache, src) else {
            return;
        };
        if let Phase::Directory { .. } = phase {
            return; // a late reply to the phase the directory read interrupted
        }
        let bit = 1u8 << i;
        let current = Self::req(cl.op, &phase, epoch);
        let (req, reply) = match &msg {
            Msg::QueryAck { req, ts, val } => (*req, Some((*ts, *val))),
            Msg::StoreAck { req } | Msg::Stale { req } => (*req, None),
            _ => return,
        };
        if req != current || cl.votes & bit != 0 || !replicas(epoch).contains(&i) {
            return;
        }
        if let Msg::Stale { .. } = msg {
            // Resume after a directory read: a query anew, a store with the
            // same timestamp and value.
            let resume = match phase {
                Phase::Query { .. } => Phase::Query { best: ((0, 0), 0) },
                p => p,
            };
            let cl = &mut s.clients[c];
            cl.resume = Some(resume);
            cl.phase = Some(Phase::Directory { stale: Some(epoch) });
            send(
                &mut s.net,
                Node::Client(c as u8),
                Node::Directory,
                Msg::DirRead,
            );
            return;
        }
        let cl = &mut s.clients[c];
        cl.votes |= bit;
        let done = cl.votes.count_ones() as usize == majority(epoch);
        match phase {
            Phase::Query { mut best } => {
                let (ts, val) = reply.expect("a query reply");
                if ts > best.0 {
                    best = (ts, val);
                }
                cl.phase = Some(Phase::Query { best });
                if done {
                    let next = match self.scripts[c][cl.op] {
                        // A write: a timestamp above the newest seen.
                        Some(v) => Phase::Store {
                            ts: (best.0 .0 + 1, c as u8 + 1),
                            val: v,
                        },
                        // A read: write back what it returns.
                        None => Phase::Store {
                            ts: best.0,
                            val: best.1,
                        },
                    };
                    self.start(s, c, next);
                }
            }
            Phase::Store { val, .. } if done => {
                let ret = match self.scripts[c][cl.op] {
                    Some(_) => Ret::WriteOk,
                    None => Ret::ReadOk(value(val)),
                };
                self.complete(s, c, ret);
            }
            _ => {}
        }
    }
}

impl ReconfigModel {
    /// Whether client `c` would count a reply with request id `req` from
    /// server `i`: it waits on a replica phase of that id, in an epoch of
    /// which `i` is a replica, and has not counted `i` yet. A client never
    /// returns to a request id it left (operation, phase kind and epoch
    /// only move forward), so a reply it would not count now it never will.
    fn awaits(&self, cl: &ClientState, i: u8, req: u8) -> bool {
        match (&cl.phase, cl.cache) {
            (Some(p @ (Phase::Query { .. } | Phase::Store { .. })), Some(epoch)) => {
                Self::req(cl.op, p, epoch) == req
                    && cl.votes & (1 << i) == 0
                    && replicas(epoch).contains(&i)
            }
            _ => false,
        }
    }

    /// Removes messages whose delivery can no longer change anything:
    /// replies a client or the admin would ignore now and for ever, and
    /// queries whose reply would be such (a query changes no server).
    /// Stores are kept: a late store can still change its server.
    fn collect_dead(&self, s: &mut State) {
        let clients = &s.clients;
        let admin = &s.admin;
        s.net.retain(|env, _| match (env.src, env.dst, &env.msg) {
            (Node::Server(i), Node::Client(c), m) => {
                let req = match m {
                    Msg::QueryAck { req, .. } | Msg::StoreAck { req } | Msg::Stale { req } => *req,
                    _ => return true,
                };
                self.awaits(&clients[c as usize], i, req)
            }
            (Node::Client(c), Node::Server(i), Msg::Query { req, .. }) => {
                self.awaits(&clients[c as usize], i, *req)
            }
            (Node::Server(i), Node::Admin, Msg::SealAck { .. }) => {
                matches!(admin, AdminState::Sealing { acks, .. } if acks & (1 << i) == 0)
            }
            (Node::Server(i), Node::Admin, Msg::InstallAck) => {
                matches!(admin, AdminState::Installing { acks } if acks & (1 << i) == 0)
            }
            _ => true,
        });
    }
}

impl Model for ReconfigModel {
    type State = State;
    type Action = Envelope;

    fn init_states(&self) -> Vec<State> {
        let servers = (0..SERVERS)
            .map(|i| ServerState {
                active: replicas(1).contains(&i).then_some(1),
                sealed: false,
                ts: (0, 0),
                val: 0,
            })
            .collect();
        let clients = self
            .scripts
            .iter()
            .map(|_| ClientState {
                cache: None,
                op: 0,
                phase: None,
                resume: None,
                votes: 0,
                moved: false,
            })
            .collect();
        let mut s = State {
            servers,
            clients,
            admin: AdminState::Sealing {
                acks: 0,
                best: ((0, 0), 0),
            },
            directory: 1,
            net: BTreeMap::new(),
            history: vec![Vec::new(); self.scripts.len()],
            violated: false,
            moved: false,
        };
        for &r in replicas(1) {
            send(
                &mut s.net,
                Node::Admin,
                Node::Server(r),
                Msg::Seal { epoch: 1 },
            );
        }
        let first = if self.sequential {
            1
        } else {
            self.scripts.len()
        };
        for c in 0..first {
            self.invoke_next(&mut s, c);
        }
        self.collect_dead(&mut s);
        vec![s]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Envelope>) {
        actions.extend(state.net.keys().cloned());
    }

    fn next_state(&self, last: &State, env: Envelope) -> Option<State> {
        let mut s = last.clone();
        match s.net.get_mut(&env) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                s.net.remove(&env);
            }
            None => return None,
        }
        match env.dst {
            Node::Server(i) => self.on_server(&mut s, i, env.src, env.msg),
            Node::Admin => self.on_admin(&mut s, env.src, env.msg),
            Node::Client(c) => self.on_client(&mut s, c as usize, env.src, env.msg),
            Node::Directory => match env.msg {
                Msg::DirRead => {
                    let reply = Msg::DirAck { epoch: s.directory };
                    send(&mut s.net, Node::Directory, env.src, reply);
                }
                Msg::Publish { epoch } => s.directory = epoch,
                _ => {}
            },
        }
        self.collect_dead(&mut s);
        Some(s)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(LINEARIZABLE, |_, s: &State| !s.violated),
            Property::sometimes(MOVED, |_, s: &State| s.moved),
            Property::sometimes(PUBLISHED_AND_FINISHED, |m: &ReconfigModel, s: &State| {
                s.directory == 2
                    && s.clients
                        .iter()
                        .enumerate()
                        .all(|(c, cl)| cl.op == m.scripts[c].len())
            }),
        ]
    }
}

/// Name of the safety property.
pub const LINEARIZABLE: &str = "linearizable";
/// Name of a `sometimes` property.
pub const MOVED: &str = "an operation refused in epoch 1 completes in epoch 2";
/// Name of a `sometimes` property.
pub const PUBLISHED_AND_FINISHED: &str = "epoch 2 is published and every client finished";

/// Checks the protocol exhaustively and refutes every mutant, one thread,
/// breadth first; returns the report (with each mutant's counterexample)
/// and whether every verdict is the expected one (`vivace-proofs reconfig`).
pub fn check_all() -> (String, bool) {
    use stateright::{Checker, HasDiscoveries};
    use std::fmt::Write;
    let mut out = String::new();
    let start = std::time::Instant::now();
    let c = ReconfigModel::default()
        .checker()
        .threads(1)
        .spawn_bfs()
        .join();
    let holds = c.is_done() && c.discovery(LINEARIZABLE).is_none();
    let reached = c.discovery(MOVED).is_some() && c.discovery(PUBLISHED_AND_FINISHED).is_some();
    let _ = writeln!(
        out,
        "reconfiguration (epoch 1 {{0,1,2}} -> epoch 2 {{1,2,3}}; client 0 writes, then client 1 reads): {} ({} states, {:.1} s)",
        if c.is_done() { "exhaustive" } else { "NOT exhaustive" },
        c.unique_state_count(),
        start.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  {:>9}  {LINEARIZABLE}",
        if holds { "holds" } else { "violated" }
    );
    for p in [MOVED, PUBLISHED_AND_FINISHED] {
        let v = if c.discovery(p).is_some() {
            "reached"
        } else {
            "unreached"
        };
        let _ = writeln!(out, "  {v:>9}  {p}");
    }
    let mut ok = holds && reached;
    for mutation in ReconfigMutation::ALL {
        let m = ReconfigModel {
            mutation,
            ..ReconfigModel::default()
        };
        let c = m
            .checker()
            .threads(1)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        match c.discovery(LINEARIZABLE) {
            Some(path) => {
                let steps = path.into_actions();
                let _ = writeln!(
                    out,
                    "mutant {mutation:?}: refuted ({} states), counterexample of {} steps:",
                    c.unique_state_count(),
                    steps.len()
                );
                for (i, e) in steps.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "  {:>3}. {:?} -> {:?}: {:?}",
                        i + 1,
                        e.src,
                        e.dst,
                        e.msg
                    );
                }
            }
            None => {
                ok = false;
                let _ = writeln!(out, "mutant {mutation:?}: NOT refuted");
            }
        }
    }
    (out, ok)
}
