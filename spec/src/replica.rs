//! The server: the replica role (`upon receive` handlers of every algorithm)
//! and the local-replica role (W-LOCAL and its background propagation). One
//! server may hold both roles, as replica 1 does in the paper's Figure 5.

use crate::client::{Client, ClientState, Current};
use crate::config::{Mutation, Shared};
use crate::coverage::{hit, Branch as B};
use crate::directory::{ENTRY_BYTES, SEAL_PAGE_BYTES};
use crate::msg::Msg;
use crate::msg::{KeyState, SealedKey};
use crate::object::{apply, Command};
use crate::quorum::{majority, Tally, Votes};
use crate::types::{Epoch, Id, IdSet, Key, ReqId, Ts, Value};
use crate::Timer;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Per-key state of the replica role.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Object {
    /// `ts[key]`: timestamp of the current value.
    pub ts: Ts,
    /// `ots[key]`: ordering timestamp (RMW algorithms).
    pub ots: Ts,
    /// `val[key]`; `None` is ⊥: the timestamp is known but its value has not
    /// arrived from the local replicas yet.
    pub val: Option<Value>,
    /// `remote_buf[key]`: values that arrived by W-REMOTE ahead of their W-TS.
    pub remote_buf: BTreeMap<Ts, Value>,
    /// Section 3.4.2's temporary buffer (executing commands at replicas):
    /// for an ordering timestamp `ots`, the value this replica computed by
    /// applying the execute's command, and the command's result, kept
    /// until OW-TS of `ots` adopts the value.
    pub exec_buf: BTreeMap<Ts, (Value, Value)>,
}

impl Default for Object {
    fn default() -> Self {
        Object {
            ts: Ts::ZERO,
            ots: Ts::ZERO,
            val: Some(Value::empty()),
            remote_buf: BTreeMap::new(),
            exec_buf: BTreeMap::new(),
        }
    }
}

/// One background propagation of the local-replica role: the `async
/// sendwait(W-REMOTE ...)` of W-LOCAL, whose entry in `local_buf` is deleted
/// once a majority of replicas acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Propagation {
    /// The value being propagated.
    pub val: Value,
    /// Request id of the W-REMOTE messages.
    pub req: ReqId,
    /// ACK-W-REMOTE received.
    pub acks: Votes,
    /// For a container of the directory service (Section 3.1): the epoch
    /// of the W-LOCAL that started (or last renewed) the propagation, and
    /// that epoch's replica set, which the W-LOCAL carried; the W-REMOTE go
    /// there. `None`: the container's fixed replica set.
    pub to: Option<(Epoch, IdSet)>,
}

/// A replica's epoch for one container of the directory service (Section
/// 3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Installed {
    /// The epoch it was installed in.
    pub epoch: Epoch,
    /// Sealed: it no longer serves `epoch` (it answers STALE), though it
    /// still takes W-REMOTE.
    pub sealed: bool,
    /// The administrator that sealed it: a SEAL of the same epoch from
    /// another one is not granted, so that at most one administrator
    /// gathers a sealed majority of an epoch and installs its successor.
    pub sealed_by: Option<Id>,
}

/// What an EXEC asks for besides the value of `mts` (Section 3.4.2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExecArgs {
    /// The execute's ordering timestamp: the new value's timestamp.
    pub ots: Ts,
    /// The command.
    pub command: Command,
    /// Whether to send the command's result back.
    pub result: bool,
}

/// A blocking request ("wait until ts[key] ≥ ts and val[key] ≠ ⊥") parked
/// until the value arrives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Parked {
    /// Who asked.
    pub from: Id,
    /// Their request id.
    pub req: ReqId,
    /// The key.
    pub key: Key,
    /// The timestamp asked for.
    pub ts: Ts,
    /// R-DATA (Algorithm 1) or OR-DATA / EXEC (Algorithm 3).
    pub rmw: bool,
    /// An EXEC (Section 3.4.2): `ts` is its `mts`.
    pub exec: Option<ExecArgs>,
}

/// Section 3.4.2, delegating to a replica: what a delegate knows of one
/// client's operations.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delegation {
    /// Request id of the client's latest DELEGATE: ACK-DELEGATE echoes it,
    /// and a DELEGATE with a lower or equal id (a late copy of one the
    /// client has moved past) is ignored.
    pub req: ReqId,
    /// The operation this server coordinates for the client, phase by
    /// phase as the client would; `None` once answered.
    pub current: Option<Current>,
}

/// State of a server.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerState {
    /// Replica role: objects by key.
    pub objects: BTreeMap<Key, Object>,
    /// Local-replica role: `local_buf[key][ts]`, with its propagation.
    pub local_buf: BTreeMap<(Key, Ts), Propagation>,
    /// Parked R-DATA / OR-DATA requests.
    pub parked: BTreeSet<Parked>,
    /// Delegate role (Section 3.4.2): the operations coordinated for
    /// clients, by client.
    pub delegations: BTreeMap<Id, Delegation>,
    /// Next request id for W-REMOTE and for the phases of the delegated
    /// operations (one counter, so a reply names what it answers).
    pub next_req: ReqId,
    /// The directory service (Section 3.1): the epoch this replica serves
    /// for each container (by prefix) whose metadata the directory holds.
    /// Empty without a directory.
    pub epochs: BTreeMap<Key, Installed>,
}

/// Key bytes in one [`Msg::AckAudit`], so that a page fits a datagram.
pub const AUDIT_PAGE_BYTES: usize = 16 * 1024;

/// Commands a handler emits: sends and timers (the sans-IO output).
pub type Sends = Vec<(Id, Msg)>;

/// The server actor's configuration.
#[derive(Clone, Debug)]
pub struct Server {
    /// The deployment it belongs to.
    pub deployment: Shared,
}

impl Server {
    /// The state a server starts in: installed, unsealed, in epoch 1 of
    /// every container of the directory service whose configured replica
    /// set (epoch 1's) holds `id`; otherwise empty.
    pub fn initial(&self, id: Id) -> ServerState {
        let epochs = self
            .deployment
            .directory
            .containers
            .iter()
            .filter(|c| c.epoch > 0 && c.replicas.contains(&id))
            .map(|c| {
                let i = Installed {
                    epoch: c.epoch,
                    sealed: false,
                    sealed_by: None,
                };
                (c.prefix.clone(), i)
            })
            .collect();
        ServerState {
            epochs,
            ..ServerState::default()
        }
    }

    /// The prefix and fixed epoch of the container of `key`, if any.
    fn container_of(&self, key: &Key) -> Option<(&Key, Epoch)> {
        self.deployment
            .directory
            .lookup(key)
            .map(|c| (&c.prefix, c.epoch))
    }

    /// The replicas a propagation goes to.
    fn propagation_targets(&self, key: &Key, p: &Propagation) -> Vec<Id> {
        match p.to {
            Some((_, set)) => set.iter().collect(),
            None => self.replicas(key).to_vec(),
        }
    }

    fn replicas(&self, key: &Key) -> &[Id] {
        self.deployment
            .directory
            .lookup(key)
            .map(|c| c.replicas.as_slice())
            .unwrap_or(&[])
    }

    fn mutation(&self) -> Mutation {
        self.deployment.mutation
    }

    /// Whether the server needs its retransmission timer: to resend
    /// W-REMOTE (with retransmission), or for a delegated operation's
    /// phase (see [`Client::needs_timer`]).
    pub fn needs_timer(&self, state: &ServerState) -> bool {
        (self.deployment.options.retransmit && !state.local_buf.is_empty())
            || state.delegations.iter().any(|(&c, d)| {
                d.current.as_ref().is_some_and(|cur| {
                    let s = ClientState {
                        current: Some(cur.clone()),
                        ..ClientState::default()
                    };
                    Client::coordinator(self.deployment.clone(), c).needs_timer(&s)
                })
            })
    }

    /// Runs `f` on the coordinator of `client`'s delegated operation, with
    /// the server's request counter, then answers the client if the
    /// operation completed (Section 3.4.2).
    fn coordinate(
        &self,
        state: &mut ServerState,
        client: Id,
        req: ReqId,
        current: Option<Current>,
        out: &mut Sends,
        f: impl FnOnce(&Client, &mut ClientState, &mut Sends),
    ) {
        let coordinator = Client::coordinator(self.deployment.clone(), client);
        let mut cs = ClientState {
            current,
            next_req: state.next_req,
            ..ClientState::default()
        };
        f(&coordinator, &mut cs, out);
        state.next_req = cs.next_req;
        if let Some(ret) = cs.done.pop() {
            out.push((client, Msg::AckDelegate { req, ret }));
        }
        state.delegations.insert(
            client,
            Delegation {
                req,
                current: cs.current,
            },
        );
    }

    /// Handles one message.
    ///
    /// The directory service (Section 3.1): a request for a container with
    /// epochs must come in [`Msg::InEpoch`], in the epoch this replica
    /// serves for it (installed there, not sealed); otherwise the answer is
    /// [`Msg::Stale`]. A W-LOCAL is not refused (the local-replica role has
    /// no epoch): it propagates to the replica set it carries.
    pub fn on_msg(&self, state: &mut ServerState, src: Id, msg: Msg, out: &mut Sends) {
        let (epoch, replicas, msg) = match msg {
            Msg::InEpoch {
                epoch,
                replicas,
                msg,
            } => (Some(epoch), replicas, *msg),
            m => (None, None, m),
        };
        if matches!(msg, Msg::InEpoch { .. }) {
            return; // never nested (the decoder refuses it too)
        }
        let Some((prefix, 1..)) = msg.request_key().and_then(|k| self.container_of(k)) else {
            // A container of fixed metadata (the wrapper, if any, says
            // nothing), or not a client's request.
            return self.handle(state, src, msg, None, out);
        };
        if let Msg::WLocal { .. } = msg {
            let to = match (epoch, replicas) {
                (Some(e), Some(r)) => Some((e, r)),
                _ => None,
            };
            return self.handle(state, src, msg, to, out);
        }
        let installed = state.epochs.get(prefix).copied();
        match (installed, epoch) {
            (Some(i), Some(e)) if i.epoch == e && !i.sealed => {
                self.handle(state, src, msg, None, out)
            }
            _ => {
                let i = installed.unwrap_or_default();
                out.push((
                    src,
                    Msg::Stale {
                        req: msg.req(),
                        epoch: i.epoch,
                        sealed: i.sealed,
                    },
                ));
            }
        }
    }

    /// Handles one admitted message; `to` is the propagation target a
    /// W-LOCAL carried (directory service).
    fn handle(
        &self,
        state: &mut ServerState,
        src: Id,
        msg: Msg,
        to: Option<(Epoch, IdSet)>,
        out: &mut Sends,
    ) {
        use Msg::*;
        let mut touched: Option<Key> = None;
        // A request that waits for a value, parked by this delivery.
        let mut fresh: Option<Parked> = None;
        match msg {
            // ---------------- ABD ----------------
            AbdQuery { req, key } => {
                hit(B::AbdQuery);
                let o = state.objects.entry(key).or_default();
                let val = o.val.clone().unwrap_or_else(Value::empty);
                out.push((src, AbdQueryAck { req, ts: o.ts, val }));
            }
            AbdTsQuery { req, key } => {
                let o = state.objects.entry(key).or_default();
                out.push((src, AbdTsQueryAck { req, ts: o.ts }));
            }
            AbdStore { req, key, ts, val } => {
                let o = state.objects.entry(key).or_default();
                if ts > o.ts {
                    hit(B::AbdStoreNewer);
                    o.ts = ts;
                    o.val = Some(val);
                } else {
                    hit(B::AbdStoreOlder);
                }
                out.push((src, AbdStoreAck { req }));
            }

            // ---------------- Algorithm 1 ----------------
            RTs { req, key } => {
                hit(B::RTs);
                let o = state.objects.entry(key).or_default();
                out.push((src, AckRTs { req, ts: o.ts }));
            }
            RData { req, key, ts } => {
                let p = Parked {
                    from: src,
                    req,
                    key,
                    ts,
                    rmw: false,
                    exec: None,
                };
                fresh = Some(p.clone());
                touched = Some(park(state, p));
            }
            WTs { req, key, ts } => {
                let o = state.objects.entry(key.clone()).or_default();
                if ts > o.ts {
                    hit(match buffered(o, ts) {
                        Some(_) => B::WTsNewerFromBuffer,
                        None => B::WTsNewerWaits,
                    });
                    adopt_timestamp(o, ts, self.mutation());
                    touched = Some(key);
                } else {
                    hit(B::WTsOlder);
                }
                out.push((src, AckWTs { req }));
            }
            WLocal { req, key, ts, val } => {
                match state.local_buf.get_mut(&(key.clone(), ts)) {
                    None => {
                        hit(B::WLocalStarts);
                        let preq = state.next_req;
                        state.next_req += 1;
                        let p = Propagation {
                            val,
                            req: preq,
                            acks: Votes::default(),
                            to,
                        };
                        for r in self.propagation_targets(&key, &p) {
                            out.push((
                                r,
                                WRemote {
                                    req: preq,
                                    key: key.clone(),
                                    ts,
                                    val: p.val.clone(),
                                },
                            ));
                        }
                        state.local_buf.insert((key, ts), p);
                    }
                    // The directory service: the write redone in a newer
                    // epoch (same timestamp and value) after a change of
                    // the replica set; the value goes to the new replicas.
                    Some(p) if to.is_some_and(|(e, _)| p.to.is_none_or(|(old, _)| e > old)) => {
                        let (e, set) = to.expect("checked");
                        p.to = Some((e, set));
                        p.acks.from = IdSet(p.acks.from.0 & set.0);
                        for r in set.iter().filter(|r| !p.acks.from.contains(*r)) {
                            out.push((
                                r,
                                WRemote {
                                    req: p.req,
                                    key: key.clone(),
                                    ts,
                                    val: p.val.clone(),
                                },
                            ));
                        }
                    }
                    Some(_) => hit(B::WLocalAgain),
                }
                out.push((src, AckWLocal { req }));
            }
            WRemote { req, key, ts, val } => {
                let mutation = self.mutation();
                let o = state.objects.entry(key.clone()).or_default();
                if ts == o.ts {
                    if o.val.is_none() {
                        hit(B::WRemoteFillsValue);
                        o.val = Some(val);
                        touched = Some(key);
                    } else {
                        hit(B::WRemoteSameTsHasValue);
                    }
                } else if ts > o.ts {
                    hit(B::WRemoteBuffers);
                    o.remote_buf.insert(ts, val);
                    // A parked OR-DATA of exactly `ts` can now be answered.
                    touched = Some(key);
                } else if mutation == Mutation::WRemoteStoresLower {
                    o.val = Some(val);
                } else {
                    hit(B::WRemoteOlder);
                }
                out.push((src, AckWRemote { req }));
            }
            AckWRemote { req } => {
                let found = state.local_buf.iter_mut().find(|(_, p)| p.req == req);
                if let Some((k, p)) = found {
                    let n = match p.to {
                        Some((_, set)) => set.len(),
                        None => self.replicas(&k.0).len(),
                    };
                    let needed = majority(n);
                    if p.acks.record(src, true, needed) == Tally::Accepted {
                        hit(B::AckWRemoteDone);
                        let k = k.clone();
                        state.local_buf.remove(&k);
                    } else {
                        hit(B::AckWRemoteCounts);
                    }
                } else {
                    hit(B::AckWRemoteStale);
                }
            }

            // ---------------- Algorithm 2 ----------------
            Or { req, key, ots } => {
                let o = state.objects.entry(key).or_default();
                if ots > o.ots {
                    hit(B::OrAccepts);
                    o.ots = ots;
                    out.push((
                        src,
                        AckOr {
                            req,
                            ok: true,
                            ts: o.ts,
                            val: o.val.clone(),
                        },
                    ));
                } else {
                    hit(B::OrRejects);
                    out.push((
                        src,
                        AckOr {
                            req,
                            ok: false,
                            ts: Ts::ZERO,
                            val: None,
                        },
                    ));
                }
            }
            Ow { req, key, ots, val } => {
                let o = state.objects.entry(key).or_default();
                let ok = ots >= o.ots;
                hit(if ok { B::OwAccepts } else { B::OwRejects });
                if ok {
                    o.ots = ots;
                    o.ts = ots;
                    o.val = Some(val);
                }
                out.push((src, AckOw { req, ok }));
            }

            // ---------------- Algorithm 3 ----------------
            OrTs { req, key, ots } => {
                let o = state.objects.entry(key.clone()).or_default();
                let accept = match self.mutation() {
                    Mutation::OrTsAcceptsEqual => ots >= o.ots,
                    _ => ots > o.ots,
                };
                hit(if accept {
                    B::OrTsAccepts
                } else {
                    B::OrTsRejects
                });
                if accept {
                    o.ots = ots;
                    // A parked EXEC of a lower `ots` is now rejected.
                    touched = Some(key);
                    out.push((
                        src,
                        AckOrTs {
                            req,
                            ok: true,
                            ts: o.ts,
                        },
                    ));
                } else {
                    out.push((
                        src,
                        AckOrTs {
                            req,
                            ok: false,
                            ts: Ts::ZERO,
                        },
                    ));
                }
            }
            OrData { req, key, ts } => {
                let p = Parked {
                    from: src,
                    req,
                    key,
                    ts,
                    rmw: true,
                    exec: None,
                };
                fresh = Some(p.clone());
                touched = Some(park(state, p));
            }
            Exec {
                req,
                key,
                ots,
                mts,
                command,
                result,
            } => {
                let p = Parked {
                    from: src,
                    req,
                    key,
                    ts: mts,
                    rmw: true,
                    exec: Some(ExecArgs {
                        ots,
                        command,
                        result,
                    }),
                };
                fresh = Some(p.clone());
                touched = Some(park(state, p));
            }
            OwTs { req, key, ots } => {
                let o = state.objects.entry(key.clone()).or_default();
                let ok = ots >= o.ots;
                if ok {
                    o.ots = ots;
                    // A duplicate OW-TS of the timestamp already adopted keeps
                    // the value (the pseudocode would reset it to ⊥ and lose
                    // a value that W-REMOTE already delivered).
                    if ots != o.ts {
                        hit(match buffered(o, ots) {
                            Some(_) => B::OwTsAdoptsFromBuffer,
                            None => B::OwTsAdoptsWaits,
                        });
                        adopt_timestamp(o, ots, self.mutation());
                        touched = Some(key);
                    } else {
                        hit(B::OwTsSameTs);
                    }
                } else {
                    hit(B::OwTsRejects);
                }
                out.push((src, AckOwTs { req, ok }));
            }

            // ---------------- administration ----------------
            Audit { req, after } => {
                let (missing, more) = Self::audit_page(state, after.as_ref());
                out.push((src, AckAudit { req, missing, more }));
            }

            // ---------------- the directory service (Section 3.1) ----------------
            Seal {
                req,
                prefix,
                epoch,
                after,
            } => {
                // Sealed for this administrator: by it, now or before.
                let granted = match state.epochs.get_mut(&prefix) {
                    Some(i) if i.epoch == epoch => {
                        if !i.sealed {
                            i.sealed = true;
                            i.sealed_by = Some(src);
                        }
                        i.sealed_by == Some(src)
                    }
                    _ => false,
                };
                let i = state.epochs.get(&prefix).copied().unwrap_or_default();
                let (keys, more) = if granted {
                    self.seal_page(state, &prefix, after.as_ref())
                } else {
                    (Vec::new(), false)
                };
                out.push((
                    src,
                    AckSeal {
                        req,
                        epoch: i.epoch,
                        sealed: granted,
                        keys,
                        more,
                    },
                ));
            }
            CopyValues { req, keys } => {
                let values = keys
                    .into_iter()
                    .filter_map(|(k, ts)| {
                        let o = state.objects.get(&k)?;
                        let v = if o.ts == ts { o.val.as_ref() } else { None };
                        let v = v.or_else(|| buffered(o, ts))?.clone();
                        Some((k, ts, v))
                    })
                    .collect();
                out.push((src, AckCopyValues { req, values }));
            }
            Install {
                req,
                prefix,
                epoch,
                entries,
                last,
            } => {
                let ok = match state.epochs.get(&prefix) {
                    None => true,
                    Some(i) => epoch > i.epoch || (epoch == i.epoch && !i.sealed),
                };
                if ok {
                    let mut keys = Vec::new();
                    for e in entries {
                        keys.push(e.key.clone());
                        install_key(state, e);
                    }
                    if last {
                        let i = Installed {
                            epoch,
                            sealed: false,
                            sealed_by: None,
                        };
                        state.epochs.insert(prefix.clone(), i);
                    }
                    for k in keys {
                        self.serve_parked(state, &k, None, out);
                    }
                }
                let epoch = state.epochs.get(&prefix).map_or(0, |i| i.epoch);
                out.push((src, AckInstall { req, ok, epoch }));
            }

            // ---------------- Section 3.4.2: delegating to a replica ----------------
            Delegate { req, key, op, ts } => {
                // A newer DELEGATE replaces an unfinished one: its client
                // took that one over and has moved on.
                if state.delegations.get(&src).is_none_or(|d| req > d.req) {
                    self.coordinate(state, src, req, None, out, |c, cs, out| {
                        c.invoke_at(cs, key, op, ts, out)
                    });
                }
            }
            // A reply to a phase of a delegated operation.
            m if m.is_reply() => {
                let mine = state
                    .delegations
                    .iter()
                    .find(|(_, d)| d.current.as_ref().is_some_and(|cur| cur.req == m.req()));
                if let Some((&client, d)) = mine {
                    let (req, current) = (d.req, d.current.clone());
                    self.coordinate(state, client, req, current, out, |c, cs, out| {
                        c.on_msg(cs, src, m, out)
                    });
                }
            }
            _ => {}
        }
        if let Some(key) = touched {
            self.serve_parked(state, &key, fresh.as_ref(), out);
            if let Some(p) = fresh.filter(|p| state.parked.contains(p)) {
                hit(match (&p.exec, p.rmw) {
                    (Some(_), _) => B::ExecWaits,
                    (None, true) => B::OrDataParks,
                    (None, false) => B::RDataParks,
                });
            }
        }
    }

    /// Answers the parked requests on `key` that can now be answered.
    ///
    /// Adapted from the paper (Algorithm 3): an OR-DATA for timestamp `ts`
    /// is also answered, with status true, when `ts[key] < ts` but
    /// `remote_buf` holds the value of exactly `ts`. As written ("wait until
    /// ts[key] ≥ ts"), one crash can block an execute forever: an aborted
    /// execute's OW-TS is adopted by one replica only, which reports that
    /// timestamp to the next execute's OR-TS and then crashes; the other
    /// replicas never adopt it (nobody writes it again), so their OR-DATA
    /// waits forever, although the local replicas did propagate its value
    /// to them. The model checker finds this (mutant
    /// `or-data-waits-for-ts`, refuted by `progress` in `vivace_rmw/crash`).
    /// The answer is the one the crashed replica would have given: the value
    /// a writer stored at a local majority under that timestamp.
    ///
    /// An EXEC (Section 3.4.2) is answered once its outcome is known: see
    /// [`Server::exec_outcome`]. Applying one fills `exec_buf`, which can
    /// make another parked EXEC ready, so this runs until none is.
    fn serve_parked(
        &self,
        state: &mut ServerState,
        key: &Key,
        fresh: Option<&Parked>,
        out: &mut Sends,
    ) {
        loop {
            let Some(o) = state.objects.get(key) else {
                return;
            };
            let ready: Vec<(Parked, Reply)> = state
                .parked
                .iter()
                .filter(|p| &p.key == key)
                .filter_map(|p| self.answer(o, p).map(|r| (p.clone(), r)))
                .collect();
            if ready.is_empty() {
                return;
            }
            let o = state.objects.get_mut(key).expect("looked up above");
            for (p, reply) in ready {
                state.parked.remove(&p);
                let later = fresh != Some(&p);
                hit(match (&reply, &p.exec, p.rmw, later) {
                    (_, Some(_), ..) => match &reply {
                        Reply::Applied { ots, .. } if o.exec_buf.contains_key(ots) => {
                            B::ExecRepeated
                        }
                        Reply::Applied { .. } => B::ExecApplies,
                        Reply::Msg(_) => B::ExecRejects,
                    },
                    (_, None, false, false) => B::RDataAnswersAtOnce,
                    (_, None, false, true) => B::RDataAnsweredLater,
                    (_, None, true, true) => B::OrDataAnsweredLater,
                    (Reply::Msg(Msg::AckOrData { ok: false, .. }), ..) => B::OrDataNewer,
                    (Reply::Msg(Msg::AckOrData { ok: true, .. }), ..) if o.ts < p.ts => {
                        B::OrDataFromBuffer
                    }
                    _ => B::OrDataExact,
                });
                let msg = match reply {
                    Reply::Msg(m) => m,
                    Reply::Applied { ots, new, result } => {
                        let back = p.exec.as_ref().is_some_and(|e| e.result);
                        o.exec_buf.insert(ots, (new, result.clone()));
                        Msg::AckExec {
                            req: p.req,
                            ok: true,
                            result: back.then_some(result),
                        }
                    }
                };
                out.push((p.from, msg));
            }
        }
    }

    /// The answer to parked request `p` given object `o`, if it can be
    /// answered now.
    fn answer(&self, o: &Object, p: &Parked) -> Option<Reply> {
        let mutation = self.mutation();
        if let Some(e) = &p.exec {
            return self.exec_outcome(o, p.ts, e).map(|r| match r {
                Ok((new, result)) => Reply::Applied {
                    ots: e.ots,
                    new,
                    result,
                },
                Err(()) => Reply::Msg(Msg::AckExec {
                    req: p.req,
                    ok: false,
                    result: None,
                }),
            });
        }
        // OR-DATA of `ts` answered from a buffer (see above).
        if p.rmw && o.ts < p.ts && mutation != Mutation::OrDataWaitsForTs {
            if let Some(v) = buffered(o, p.ts) {
                return Some(Reply::Msg(Msg::AckOrData {
                    req: p.req,
                    ok: true,
                    val: Some(v.clone()),
                }));
            }
        }
        let lower_ok = mutation == Mutation::RDataLowerTs && !p.rmw;
        let val = match o.val.clone() {
            Some(v) => v,
            None if mutation == Mutation::RDataServesBottom && !p.rmw => Value::empty(),
            None => return None,
        };
        if o.ts < p.ts && !lower_ok {
            return None;
        }
        Some(Reply::Msg(if !p.rmw {
            Msg::AckRData {
                req: p.req,
                ts: o.ts,
                val,
            }
        } else if o.ts == p.ts {
            // Algorithm 3: the data of exactly `ts`, else status false.
            Msg::AckOrData {
                req: p.req,
                ok: true,
                val: Some(val),
            }
        } else {
            Msg::AckOrData {
                req: p.req,
                ok: false,
                val: None,
            }
        }))
    }

    /// Section 3.4.2: what an EXEC of ordering timestamp `e.ots` for the
    /// value of `mts` does at a replica holding `o`, once it can do
    /// anything: `Ok` the new value and result (applied now, or already,
    /// for a repeated EXEC), `Err` a reject (a newer ordering timestamp, or
    /// a newer value than `mts`, was seen), `None` wait for the value of
    /// `mts`. The value of `mts` is `val` when `ts[key] = mts`, or one
    /// buffered under `mts` (W-REMOTE's `remote_buf`, or another EXEC's
    /// `exec_buf`: every replica that applies the execute of `mts` computes
    /// the same value).
    pub fn exec_outcome(
        &self,
        o: &Object,
        mts: Ts,
        e: &ExecArgs,
    ) -> Option<Result<(Value, Value), ()>> {
        if let Some(done) = o.exec_buf.get(&e.ots) {
            return Some(Ok(done.clone()));
        }
        if o.ots > e.ots {
            return Some(Err(()));
        }
        if self.mutation() == Mutation::ExecAppliesToOtherTs {
            if let Some(v) = &o.val {
                return Some(Ok(apply(v, &e.command)));
            }
        }
        if o.ts > mts {
            return Some(Err(()));
        }
        let v = if o.ts == mts { o.val.as_ref() } else { None };
        v.or_else(|| buffered(o, mts))
            .map(|v| Ok(apply(v, &e.command)))
    }

    /// Retransmission timer: resend W-REMOTE to the replicas that have not
    /// acknowledged, and let every delegated operation's coordinator do
    /// what its timer does (resend, or fall back). Returns whether the
    /// timer is still needed.
    pub fn on_timeout(&self, state: &mut ServerState, _timer: &Timer, out: &mut Sends) -> bool {
        let active: Vec<(Id, ReqId, Current)> = state
            .delegations
            .iter()
            .filter_map(|(&c, d)| d.current.clone().map(|cur| (c, d.req, cur)))
            .collect();
        for (client, req, cur) in active {
            self.coordinate(state, client, req, Some(cur), out, |c, cs, out| {
                c.on_timeout(cs, out);
            });
        }
        self.resend_propagations(state, out);
        self.needs_timer(state)
    }

    /// Resends W-REMOTE to the replicas that have not acknowledged (with
    /// retransmission).
    fn resend_propagations(&self, state: &ServerState, out: &mut Sends) {
        if !self.deployment.options.retransmit {
            return;
        }
        for ((key, ts), p) in &state.local_buf {
            hit(B::Retransmits);
            for r in self.propagation_targets(key, p) {
                if !p.acks.from.contains(r) {
                    out.push((
                        r,
                        Msg::WRemote {
                            req: p.req,
                            key: key.clone(),
                            ts: *ts,
                            val: p.val.clone(),
                        },
                    ));
                }
            }
        }
    }

    /// One page of the keys of container `prefix` after `after`, for
    /// ACK-SEAL: each key some request touched (a timestamp or ordering
    /// timestamp above zero), with its timestamps and the length of its
    /// value (`None`: ⊥), while the keys and [`ENTRY_BYTES`] each add up
    /// to at most [`SEAL_PAGE_BYTES`] (at least one); and whether more follow.
    pub fn seal_page(
        &self,
        state: &ServerState,
        prefix: &Key,
        after: Option<&Key>,
    ) -> (Vec<SealedKey>, bool) {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.clone()),
            _ => Bound::Included(prefix.clone()),
        };
        let keys = state
            .objects
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.as_slice().starts_with(prefix.as_slice()))
            .filter(|(k, _)| self.container_of(k).is_some_and(|(p, _)| p == prefix))
            .filter(|(_, o)| o.ts != Ts::ZERO || o.ots != Ts::ZERO);
        let mut page = Vec::new();
        let mut bytes = 0;
        for (k, o) in keys {
            let cost = k.len() + ENTRY_BYTES;
            if !page.is_empty() && bytes + cost > SEAL_PAGE_BYTES {
                return (page, true);
            }
            bytes += cost;
            page.push(SealedKey {
                key: k.clone(),
                ts: o.ts,
                ots: o.ots,
                len: o.val.as_ref().map(|v| v.len() as u32),
            });
        }
        (page, false)
    }

    /// One page of [`Self::missing_values`] after `after`: entries in key
    /// order while their keys add up to at most [`AUDIT_PAGE_BYTES`] (at
    /// least one), and whether more follow.
    pub fn audit_page(state: &ServerState, after: Option<&Key>) -> (Vec<(Key, Ts)>, bool) {
        let mut page = Vec::new();
        let mut bytes = 0;
        let rest = Self::missing_values(state).filter(|(k, _)| after.is_none_or(|a| *k > a));
        for (k, ts) in rest {
            if !page.is_empty() && bytes + k.len() > AUDIT_PAGE_BYTES {
                return (page, true);
            }
            bytes += k.len();
            page.push((k.clone(), ts));
        }
        (page, false)
    }

    /// The keys whose replica holds a timestamp without its value: after a
    /// site disaster, the data that was lost (Section 4.3).
    pub fn missing_values(state: &ServerState) -> impl Iterator<Item = (&Key, Ts)> {
        state
            .objects
            .iter()
            .filter(|(_, o)| o.val.is_none())
            .map(|(k, o)| (k, o.ts))
    }
}

/// How a parked request is answered.
enum Reply {
    /// With this message.
    Msg(Msg),
    /// An EXEC applied: buffer `new` under `ots`, answer with `result`.
    Applied { ots: Ts, new: Value, result: Value },
}

/// A value held under timestamp `ts` ahead of its OW-TS (W-TS): propagated
/// by W-REMOTE, or computed by an EXEC (Section 3.4.2).
fn buffered(o: &Object, ts: Ts) -> Option<&Value> {
    o.remote_buf
        .get(&ts)
        .or_else(|| o.exec_buf.get(&ts).map(|(v, _)| v))
}

/// Parks a request that waits for a value (R-DATA, OR-DATA, EXEC) until
/// it can be answered; returns the key, whose parked requests the caller
/// then serves.
fn park(state: &mut ServerState, p: Parked) -> Key {
    state.objects.entry(p.key.clone()).or_default();
    let key = p.key.clone();
    state.parked.insert(p);
    key
}

/// W-TS / OW-TS with a timestamp newer than `ts[key]`: adopt it, take the
/// value from `remote_buf` if it arrived first, else set ⊥ and wait for it.
/// Entries below the new timestamp are deleted: no handler can use them any
/// more (W-REMOTE and W-TS ignore timestamps below `ts[key]`, and OW-TS needs
/// one at least `ots[key] ≥ ts[key]`). The paper deletes them only when the
/// value is found; deleting them in both cases bounds `remote_buf`.
fn adopt_timestamp(o: &mut Object, ts: Ts, mutation: Mutation) {
    o.ts = ts;
    match buffered(o, ts).cloned() {
        Some(v) => o.val = Some(v),
        None if mutation == Mutation::WTsKeepsOldValue => {}
        None => o.val = None,
    }
    o.remote_buf = o.remote_buf.split_off(&ts);
    o.remote_buf.remove(&ts);
    o.exec_buf = o.exec_buf.split_off(&ts);
    o.exec_buf.remove(&ts);
}

/// INSTALL of one key's copied state (Section 3.1): its timestamp and
/// value where newer than the replica's (buffered values at or below it
/// can no longer be used, as in [`adopt_timestamp`]), and the ordering
/// timestamp raised to at least both timestamps (`ots[key] ≥ ts[key]`, as
/// every RMW handler keeps it).
fn install_key(state: &mut ServerState, e: KeyState) {
    let o = state.objects.entry(e.key).or_default();
    if e.ts > o.ts {
        o.ts = e.ts;
        o.val = Some(e.val);
        o.remote_buf = o.remote_buf.split_off(&e.ts);
        o.remote_buf.remove(&e.ts);
        o.exec_buf = o.exec_buf.split_off(&e.ts);
        o.exec_buf.remove(&e.ts);
    }
    o.ots = o.ots.max(e.ots).max(o.ts);
}

/// Ids of `set` not in `acked`.
pub fn unacked(set: &[Id], acked: IdSet) -> impl Iterator<Item = Id> + '_ {
    set.iter().copied().filter(move |id| !acked.contains(*id))
}
