//! Garbage collection of the model's network, with premises the search
//! checks (docs/proofs.md, "Garbage").
//!
//! A message is *garbage* when its delivery can no longer change anything a
//! property reads: a reply to a phase its requester has left, or a request
//! whose reply would be such a reply and whose delivery changes its
//! receiver not at all (parking it aside). A parked request whose reply is
//! garbage is garbage too. Removing garbage keeps every reachable history,
//! but the argument rests on how the handlers treat it, and the handlers are
//! what is under test. So the collection does not assume it: the
//! [`Auditor`] records every local state and local transition the search
//! takes and every piece of garbage removed, and after the search checks
//! the premises on all of them:
//!
//! - **N** a reply whose requester has moved past its request id changes
//!   nothing, in every local state of the requester the search reached;
//! - **M** a requester only moves forward (a client's request floor never
//!   decreases; a server's awaited request ids are never awaited again);
//! - **R** a collected request stays garbage along every local transition
//!   of its receiver, and what it would send are replies to its requester
//!   under its request id (which **N** then covers);
//! - **P** a collected parked request changes nothing but its own answer,
//!   in every local transition of its server.
//!
//! By induction on the length of an execution, every state the full model
//! reaches is matched by a collected state with the same local states,
//! history and verdicts, up to garbage: so a violation the full model can
//! reach, the collected one reaches too.

use crate::model::Envelope;
use stateright::actor::{Actor, Command, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;
use vivace_spec::replica::{Parked, ServerState};
use vivace_spec::{Id, Msg, Node, NodeState, ReqId, Timer};

use crate::shared::Hashed;

/// The lowest request id a client may still accept a reply to: its current
/// phase's, or, between operations, the next one it will send.
pub fn client_floor(c: &vivace_spec::client::ClientState) -> ReqId {
    c.current.as_ref().map_or(c.next_req, |cur| cur.req)
}

/// Whether a reply from `from` to request `req` of the actor in state
/// `node` can no longer be accepted: a client past that request id; a
/// server with no propagation and no delegated phase under that id, which
/// it issued already (ids are not reused).
pub fn reply_dead(node: &NodeState, _from: Id, req: ReqId) -> bool {
    match node {
        NodeState::Client(c) => req < client_floor(c),
        NodeState::Server(s) => {
            req < s.next_req
                && !s.local_buf.values().any(|p| p.req == req)
                && !s
                    .delegations
                    .values()
                    .any(|d| d.current.as_ref().is_some_and(|cur| cur.req == req))
        }
        NodeState::Clock(_) => false,
    }
}

/// The input of one local transition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// A message from `src`.
    Deliver(Id, Msg),
    /// The retransmission timer.
    Timeout,
}

/// What a local transition does besides changing its actor's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Sends a message.
    Send(Id, Msg),
    /// Arms, or disarms, the retransmission timer.
    Timer(bool),
}

/// Runs one local transition of `actor` (id `id`) in state `s`: the state
/// after it, and its effects.
pub fn step(actor: &Node, id: Id, s: &NodeState, input: &Input) -> (NodeState, Vec<Effect>) {
    let mut cow = Cow::Borrowed(s);
    let mut out = Out::new();
    match input {
        Input::Deliver(src, msg) => actor.on_msg(id, &mut cow, *src, msg.clone(), &mut out),
        Input::Timeout => actor.on_timeout(id, &mut cow, &Timer::Retransmit, &mut out),
    }
    let effects = out
        .into_iter()
        .filter_map(|c| match c {
            Command::Send(dst, m) => Some(Effect::Send(dst, m)),
            Command::SetTimer(..) => Some(Effect::Timer(true)),
            Command::CancelTimer(_) => Some(Effect::Timer(false)),
            Command::ChooseRandom(..) | Command::Save(_) => None,
        })
        .collect();
    (cow.into_owned(), effects)
}

/// What a request `env` does at server state `s`, if it is garbage there:
/// the server changes not at all, apart from parking `env` itself when it
/// is a read (R-DATA, OR-DATA), arms no
/// timer, and sends only replies to `env.src` under `env`'s request id.
/// Returns those replies.
pub fn garbage_only(actor: &Node, s: &NodeState, env: &Envelope) -> Option<Vec<Msg>> {
    let (after, cmds) = step(actor, env.dst, s, &Input::Deliver(env.src, env.msg.clone()));
    let (NodeState::Server(before), NodeState::Server(after)) = (s, &after) else {
        return None;
    };
    // A parked read only ever answers; a parked EXEC applies its command
    // when answered, so parking one is a change of its server.
    let parks_itself = |p: &Parked| p.from == env.src && p.req == env.msg.req() && p.exec.is_none();
    if !same_but_parked(before, after, parks_itself) {
        return None;
    }
    let mut replies = Vec::new();
    for c in cmds {
        match c {
            Effect::Send(dst, m) if dst == env.src && m.req() == env.msg.req() && m.is_reply() => {
                replies.push(m)
            }
            _ => return None,
        }
    }
    Some(replies)
}

/// `a` and `b` are equal but for parked requests of `b` that `extra` admits.
fn same_but_parked(a: &ServerState, b: &ServerState, extra: impl Fn(&Parked) -> bool) -> bool {
    if a.parked.len() == b.parked.len() {
        return a == b;
    }
    if !a.parked.is_subset(&b.parked) || !b.parked.difference(&a.parked).all(extra) {
        return false;
    }
    let mut b = b.clone();
    b.parked = a.parked.clone();
    *a == b
}

/// A premise of the collection that failed, with what shows it.
#[derive(Clone, Debug)]
pub struct Breach {
    /// Which premise (N, M, R or P).
    pub premise: &'static str,
    /// The actor.
    pub actor: usize,
    /// What happened.
    pub what: String,
}

const SHARDS: usize = 16;

#[derive(Default)]
struct PerActor {
    states: HashSet<Hashed<NodeState>>,
    transitions: HashSet<(Hashed<NodeState>, Input)>,
    replies: HashSet<Envelope>,
    requests: HashSet<Envelope>,
    parked: HashSet<Parked>,
}

/// Records what the search did with garbage and checks the premises that
/// make removing it sound (see the module doc).
pub struct Auditor {
    shards: Vec<Mutex<BTreeMap<usize, PerActor>>>,
}

impl Default for Auditor {
    fn default() -> Self {
        Auditor {
            shards: (0..SHARDS).map(|_| Mutex::new(BTreeMap::new())).collect(),
        }
    }
}

fn shard_of<T: Hash>(actor: usize, x: &T) -> usize {
    let mut h = ahash::RandomState::with_seeds(5, 6, 7, 8).build_hasher();
    actor.hash(&mut h);
    x.hash(&mut h);
    (h.finish() as usize) % SHARDS
}

impl Auditor {
    fn with<R>(&self, actor: usize, key: &impl Hash, f: impl FnOnce(&mut PerActor) -> R) -> R {
        let mut shard = self.shards[shard_of(actor, key)]
            .lock()
            .expect("no search thread panicked");
        f(shard.entry(actor).or_default())
    }

    /// A local state an actor was in.
    pub fn state(&self, actor: usize, s: &Hashed<NodeState>) {
        self.with(actor, s, |a| {
            if !a.states.contains(s) {
                a.states.insert(s.clone());
            }
        });
    }

    /// A local transition the search took.
    pub fn transition(&self, actor: usize, s: &Hashed<NodeState>, input: Input) {
        let key = (s.clone(), input);
        let shard = shard_of(actor, &key);
        let mut shard = self.shards[shard]
            .lock()
            .expect("no search thread panicked");
        shard.entry(actor).or_default().transitions.insert(key);
    }

    /// A message removed as garbage.
    pub fn dropped(&self, env: &Envelope) {
        let actor = usize::from(env.dst);
        self.with(actor, env, |a| {
            if env.msg.is_reply() {
                a.replies.insert(env.clone());
            } else {
                a.requests.insert(env.clone());
            }
        });
    }

    /// A parked request removed as garbage at server `actor`.
    pub fn parked(&self, actor: usize, p: &Parked) {
        self.with(actor, p, |a| {
            a.parked.insert(p.clone());
        });
    }

    /// Checks every premise on everything recorded; the first breaches
    /// found (at most a few), or none. `actors` are the model's actors.
    pub fn check(&self, actors: &[Node]) -> Vec<Breach> {
        let mut all: BTreeMap<usize, PerActor> = BTreeMap::new();
        for shard in &self.shards {
            let mut shard = shard.lock().expect("no search thread panicked");
            for (actor, p) in std::mem::take(&mut *shard) {
                let a = all.entry(actor).or_default();
                a.states.extend(p.states);
                a.transitions.extend(p.transitions);
                a.replies.extend(p.replies);
                a.requests.extend(p.requests);
                a.parked.extend(p.parked);
            }
        }
        let mut breaches = Vec::new();
        let mut breach = |premise, actor, what: String| {
            if breaches.len() < 5 {
                breaches.push(Breach {
                    premise,
                    actor,
                    what,
                });
            }
        };
        // Every local state: before and after each transition too.
        for (&i, a) in all.iter_mut() {
            let after: Vec<Hashed<NodeState>> = a
                .transitions
                .iter()
                .map(|(s, input)| Hashed::new(step(&actors[i], Id::from(i), s, input).0))
                .collect();
            a.states.extend(after);
            let before: Vec<_> = a.transitions.iter().map(|(s, _)| s.clone()).collect();
            a.states.extend(before);
        }
        // R and P at servers: what garbage would still send goes to its
        // requester's replies, for N.
        let mut synthesized: Vec<Envelope> = Vec::new();
        for (&i, a) in &all {
            let actor = &actors[i];
            let id = Id::from(i);
            for q in &a.requests {
                for s in &a.states {
                    if let Some(replies) = garbage_only(actor, s, q) {
                        synthesized.extend(replies.into_iter().map(|msg| Envelope {
                            src: id,
                            dst: q.src,
                            msg,
                        }));
                    }
                }
                for (s, input) in &a.transitions {
                    if garbage_only(actor, s, q).is_none() {
                        continue;
                    }
                    let (after, _) = step(actor, id, s, input);
                    if garbage_only(actor, &after, q).is_none() {
                        breach(
                            "R",
                            i,
                            format!("{q:?} is garbage at {s:?} but not after {input:?}"),
                        );
                    }
                }
            }
            for p in &a.parked {
                for (s, input) in &a.transitions {
                    match parked_aside(actor, id, s, input, p) {
                        Ok(replies) => {
                            synthesized.extend(replies.into_iter().map(|msg| Envelope {
                                src: id,
                                dst: p.from,
                                msg,
                            }))
                        }
                        Err(why) => breach("P", i, format!("{p:?} at {s:?} on {input:?}: {why}")),
                    }
                }
            }
        }
        for env in synthesized {
            all.entry(usize::from(env.dst))
                .or_default()
                .replies
                .insert(env);
        }
        // M: requesters only move forward; N: a dead reply changes nothing.
        for (&i, a) in &all {
            let actor = &actors[i];
            let id = Id::from(i);
            for (s, input) in &a.transitions {
                let (after, _) = step(actor, id, s, input);
                if let (NodeState::Client(x), NodeState::Client(y)) = (&**s, &after) {
                    if client_floor(y) < client_floor(x) {
                        breach(
                            "M",
                            i,
                            format!("the request floor goes down on {input:?} at {s:?}"),
                        );
                    }
                }
                for r in &a.replies {
                    if reply_dead(s, r.src, r.msg.req()) && !reply_dead(&after, r.src, r.msg.req())
                    {
                        breach(
                            "M",
                            i,
                            format!("{r:?} is dead at {s:?} but not after {input:?}"),
                        );
                    }
                }
            }
            for r in &a.replies {
                for s in &a.states {
                    if !reply_dead(s, r.src, r.msg.req()) {
                        continue;
                    }
                    let input = Input::Deliver(r.src, r.msg.clone());
                    let (after, cmds) = step(actor, id, s, &input);
                    if after != **s || !cmds.is_empty() {
                        breach("N", i, format!("dead {r:?} changes {s:?}"));
                    }
                }
            }
        }
        breaches
    }
}

/// P: transition `input` of server `id` from `s`, with the garbage parked
/// request `p` added, does what it does without `p`, and besides at most
/// answers `p` (removing it, replying to its requester under its id).
/// Returns those replies, or what differs.
fn parked_aside(
    actor: &Node,
    id: Id,
    s: &NodeState,
    input: &Input,
    p: &Parked,
) -> Result<Vec<Msg>, String> {
    let NodeState::Server(base) = s else {
        return Ok(Vec::new());
    };
    if base.parked.contains(p) {
        return Ok(Vec::new());
    }
    let mut with = base.clone();
    with.parked.insert(p.clone());
    let (a0, c0) = step(actor, id, s, input);
    let (a1, c1) = step(actor, id, &NodeState::Server(with), input);
    let (NodeState::Server(mut a0), NodeState::Server(mut a1)) = (a0, a1) else {
        return Err("not a server".into());
    };
    // `input` may be `p`'s own request again (a duplicate): it parks `p`
    // in both runs, and `p` is the garbage compared aside.
    a0.parked.remove(p);
    a1.parked.remove(p);
    if a0 != a1 {
        return Err(format!("the state differs: {a1:?} against {a0:?}"));
    }
    let mut rest: Vec<Effect> = c0;
    let mut replies = Vec::new();
    for c in c1 {
        if let Some(at) = rest.iter().position(|x| *x == c) {
            rest.swap_remove(at);
            continue;
        }
        match c {
            Effect::Send(dst, m) if dst == p.from && m.req() == p.req && m.is_reply() => {
                replies.push(m)
            }
            other => return Err(format!("it also does {other:?}")),
        }
    }
    if !rest.is_empty() {
        return Err(format!("it no longer does {rest:?}"));
    }
    Ok(replies)
}
