//! The client role: it coordinates each operation itself, phase by phase, as
//! the `read`, `write` and `execute` functions of the pseudocode do. Each
//! `sendwait` is one [`Phase`]; replies are matched to it by request id.

use crate::config::{Algorithm, Container, Mutation, Shared, Site, TimestampMode};
use crate::coverage::{hit, Branch as B};
use crate::directory::{decode_metadata, metadata_key};
use crate::msg::{Msg, Op, Ret};
use crate::object::apply;
use crate::quorum::{majority, Tally, Votes};
use crate::replica::{unacked, Sends};
use crate::types::{Epoch, Id, IdSet, Key, ReqId, Ts, Value};
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

/// How long a retransmission timer waits (the model ignores it).
pub const RETRANSMIT_AFTER: Range<Duration> =
    Duration::from_millis(200)..Duration::from_millis(400);

/// How long a client waits before it reads the directory again when the
/// metadata it read is not newer than the epoch a replica said was stale
/// (the reconfiguration has not published the new epoch yet), or when the
/// directory had no metadata for the container. The model ignores it.
pub const DIRECTORY_RETRY_AFTER: Range<Duration> =
    Duration::from_millis(10)..Duration::from_millis(20);

/// How long a client waits for its delegate's answer before it
/// coordinates the operation itself (Section 3.4.2): longer than a whole
/// operation under congestion, so that a slow delegate is not doubled.
pub const DELEGATION_TIMEOUT: Range<Duration> =
    Duration::from_millis(1500)..Duration::from_millis(2000);

/// Where an operation is: which `sendwait` it waits on, and what it has
/// learnt so far. Fields: `mts` the highest timestamp seen, `c1` whether
/// every reply so far carried it (condition C1 of Section 3.4.1), `ots` the
/// operation's ordering timestamp, `ret`/`result` what to return at the end.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// `ts ← clock()`.
    Clock,
    /// ABD clock-free write: highest timestamp of a majority so far.
    AbdTsQuery { max: Ts },
    /// Algorithm 1 clock-free write: R-TS to a majority, highest timestamp
    /// so far; the write then takes `(max.time + 1, me)`, as ABD's does.
    RTsForWrite { max: Ts },
    /// ABD read phase 1: the newest `(ts, val)` so far, and whether every
    /// reply carried it (C1).
    AbdQuery { best: (Ts, Value), c1: bool },
    /// ABD store (a write, or a read's write-back); then return `ret`.
    AbdStore { ret: Ret },
    /// Algorithm 1 read phase 1: `mts` so far, (C1), and (reading from
    /// fewer replicas only) the replicas that reported `mts`.
    RTs { mts: Ts, c1: bool, with_mts: IdSet },
    /// Algorithm 1 read phase 2: data of `mts` or newer from any one replica
    /// (`Current::to` holds who was asked).
    RData { mts: Ts, c1: bool },
    /// Phase 2 with the parallel write-back (Section 3.4.1, (C1) failed):
    /// R-DATA to `data_to` and W-TS of `mts` to every replica under one
    /// request id; `votes` count the W-TS acknowledgements, `data` is the
    /// first data reply (of exactly `mts`: a newer one moves the read to
    /// its third phase at once) and whether it came from the client's site.
    RDataWb {
        mts: Ts,
        data: Option<(Value, bool)>,
        data_to: IdSet,
    },
    /// W-TS of `ts` to a majority (a write's phase 2 or a read's
    /// write-back); then return `ret`.
    WTs { ts: Ts, ret: Ret },
    /// W-LOCAL to a local majority with timestamp `ts`; for Algorithm 3,
    /// `result` is the execute's result, to return after OW-TS.
    WLocal { ts: Ts, result: Option<Value> },
    /// Algorithm 2 phase 1 (OR): newest `(ts, val)` among the accepting replies.
    Or { ots: Ts, best: (Ts, Option<Value>) },
    /// Algorithm 2 phase 2 (OW); then return `result`.
    Ow { result: Value },
    /// Algorithm 3 phase 1 (OR-TS): `mts` so far.
    OrTs { ots: Ts, mts: Ts },
    /// Algorithm 3 phase 2 (OR-DATA) for the data of `mts`.
    OrData { ots: Ts },
    /// Section 3.4.2, executing commands at replicas: EXEC of the command
    /// and `mts` to every replica; `result` is the command's result, from
    /// the first reply that carries it.
    Exec {
        ots: Ts,
        mts: Ts,
        result: Option<Value>,
    },
    /// Section 3.4.2, delegating to a replica: DELEGATE sent to the
    /// delegate (`Current::to`), waiting for ACK-DELEGATE; `ts` is the
    /// timestamp it carries (none for a read), which the fallback reuses.
    Delegated { ts: Option<Ts> },
    /// Algorithm 3 phase 4 (OW-TS of `ots`); then return `result`.
    /// `at_replicas`: the replicas executed the command (Section 3.4.2).
    OwTs {
        ots: Ts,
        result: Value,
        at_replicas: bool,
    },
}

/// The operation in progress.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Current {
    /// The object.
    pub key: Key,
    /// The operation.
    pub op: Op,
    /// Its algorithm (from the container).
    pub algorithm: Algorithm,
    /// The phase it waits on.
    pub phase: Phase,
    /// Request id of the phase.
    pub req: ReqId,
    /// Replies to the phase.
    pub votes: Votes,
    /// Who the phase's request went to.
    pub to: IdSet,
    /// The request, kept for retransmission (only when retransmitting).
    pub request: Option<Msg>,
    /// The client took the operation over from its delegate (Section
    /// 3.4.2): it coordinates the rest itself and delegates no more.
    pub taken_over: bool,
    /// The directory service (Section 3.1): a write's timestamp, kept once
    /// taken so that a write refused as STALE is redone with it in the new
    /// epoch. Only for containers with epochs (always `None` otherwise).
    pub redo_ts: Option<Ts>,
}

impl Current {
    /// Operation `op` on `key` of a container of `algorithm`, before its
    /// first phase.
    pub fn new(key: Key, op: Op, algorithm: Algorithm) -> Current {
        Current {
            key,
            op,
            algorithm,
            phase: Phase::Clock,
            req: 0,
            votes: Votes::default(),
            to: IdSet::EMPTY,
            request: None,
            taken_over: false,
            redo_ts: None,
        }
    }

    /// A read's data phase (with or without the parallel write-back): the
    /// timestamp its R-DATA asks for and the replicas it went to.
    pub fn data_asked(&self) -> Option<(Ts, IdSet)> {
        match &self.phase {
            Phase::RData { mts, .. } => Some((*mts, self.to)),
            Phase::RDataWb { mts, data_to, .. } => Some((*mts, *data_to)),
            _ => None,
        }
    }
}

/// State of a client.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientState {
    /// Results of the completed operations, in order.
    pub done: Vec<Ret>,
    /// The operation in progress.
    pub current: Option<Current>,
    /// Next request id.
    pub next_req: ReqId,
    /// The client's delegate let an operation's timer run out (Section
    /// 3.4.2): the client coordinates its operations itself until the
    /// runtime clears this (see [`Client::trust_delegate`]), instead of
    /// waiting out the timer on every operation while its delegate is down.
    pub delegate_timed_out: bool,
    /// The directory service (Section 3.1): the metadata read from the
    /// directory, by container prefix (the cache).
    pub cache: BTreeMap<Key, Container>,
    /// A read of the directory in progress (it is `current` then), or
    /// waiting for its timer to be redone (`current` is `None` then), and
    /// what to do once it returns newer metadata.
    pub lookup: Option<Box<Lookup>>,
    /// Counts of the directory service's events at this client.
    pub directory: DirectoryStats,
}

/// A read of a container's metadata from the directory (Section 3.1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lookup {
    /// The container.
    pub prefix: Key,
    /// The epoch a replica said is stale: the metadata read must be newer.
    pub stale: Option<Epoch>,
    /// What to do with the metadata.
    pub then: Then,
    /// The last read found no metadata (the directory was not initialized).
    pub empty: bool,
    /// The last read returned nothing newer: read again on the timer.
    pub waiting: bool,
}

/// What a client does once the directory returned the metadata it needed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Then {
    /// Invoke this operation, with its timestamp if it has one: a new
    /// operation, a read started over, or a write redone with the same
    /// timestamp and value.
    Invoke {
        /// The key.
        key: Key,
        /// The operation.
        op: Op,
        /// The write's timestamp, if taken.
        ts: Option<Ts>,
    },
    /// Return ⊥: an execute refused as STALE (it may or may not have taken
    /// effect).
    Abort,
}

/// What the directory service made a client do, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DirectoryStats {
    /// Reads of the directory.
    pub reads: u64,
    /// Operations a STALE interrupted.
    pub stale: u64,
    /// Reads (and clock-free writes still asking for their timestamp)
    /// started over in the new epoch.
    pub restarted: u64,
    /// Writes redone with the same timestamp and value.
    pub redone: u64,
    /// Executes that returned ⊥.
    pub aborted: u64,
}

impl DirectoryStats {
    /// Adds another client's counts.
    pub fn add(&mut self, o: &DirectoryStats) {
        self.reads += o.reads;
        self.stale += o.stale;
        self.restarted += o.restarted;
        self.redone += o.redone;
        self.aborted += o.aborted;
    }
}

/// The client actor's configuration.
#[derive(Clone, Debug)]
pub struct Client {
    /// The deployment it belongs to.
    pub deployment: Shared,
    /// Its own id.
    pub id: Id,
    /// Its site.
    pub site: Site,
    /// The node id written into its timestamps (normally its own id).
    pub ts_node: u32,
    /// Operations to run one after another from the start (the model's
    /// workload; the runtime invokes operations itself).
    pub script: Vec<(Key, Op)>,
    /// Whether it sends its operations to a delegate (Section 3.4.2):
    /// `Options::delegation` for a client, never for the coordinator a
    /// delegate runs on a client's behalf.
    pub delegates: bool,
}

impl Client {
    /// A client with its own id in its timestamps.
    pub fn new(deployment: Shared, id: Id, script: Vec<(Key, Op)>) -> Client {
        let site = deployment.site(id);
        Client {
            delegates: deployment.options.delegation,
            deployment,
            id,
            site,
            ts_node: usize::from(id) as u32,
            script,
        }
    }

    /// The coordinator a delegate runs for `client` (Section 3.4.2): the
    /// client's own logic, in the client's site (the delegate's), with the
    /// client's node id in its timestamps, and no delegation of its own.
    pub fn coordinator(deployment: Shared, client: Id) -> Client {
        Client {
            delegates: false,
            script: Vec::new(),
            ..Client::new(deployment, client, Vec::new())
        }
    }

    /// This client's delegate for the operation `cur`, unless it took the
    /// operation over, its delegate timed out, or it delegates nothing.
    fn delegate(&self, s: &ClientState, cur: &Current) -> Option<Id> {
        if !self.delegates || cur.taken_over || s.delegate_timed_out {
            return None;
        }
        self.deployment.delegate_of(&cur.key, self.site)
    }

    /// Sends the next operations to the delegate again, after its timer
    /// ran out on one (the runtime calls it some time later: the delegate
    /// may be back).
    pub fn trust_delegate(&self, s: &mut ClientState) {
        s.delegate_timed_out = false;
    }

    /// Sends the operation to `delegate` (Section 3.4.2).
    fn send_delegate(
        &self,
        s: &mut ClientState,
        cur: &mut Current,
        delegate: Id,
        ts: Option<Ts>,
        out: &mut Sends,
    ) {
        let msg = Msg::Delegate {
            req: s.next_req,
            key: cur.key.clone(),
            op: cur.op.clone(),
            ts,
        };
        self.send_phase(s, cur, Phase::Delegated { ts }, &[delegate], msg, out);
        // DELEGATE is never resent: the timer takes the operation over.
        cur.request = None;
    }

    /// The metadata of `key`'s container: the configuration's when it is
    /// fixed (epoch 0), else the copy read from the directory, if any.
    pub fn container<'a>(&'a self, s: &'a ClientState, key: &Key) -> Option<&'a Container> {
        let c = self.deployment.directory.lookup(key)?;
        if c.epoch == 0 {
            Some(c)
        } else {
            s.cache.get(&c.prefix)
        }
    }

    /// The prefix of `key`'s container if it has epochs and the client has
    /// not read its metadata yet.
    fn needs_metadata(&self, s: &ClientState, key: &Key) -> Option<Key> {
        let c = self.deployment.directory.lookup(key)?;
        (c.epoch > 0 && !s.cache.contains_key(&c.prefix)).then(|| c.prefix.clone())
    }

    /// The epoch and replica set that requests for `key` carry, for a
    /// container of the directory service.
    fn epoch_of(&self, s: &ClientState, key: &Key) -> Option<(Epoch, IdSet)> {
        self.container(s, key)
            .filter(|c| c.epoch > 0)
            .map(|c| (c.epoch, c.replicas.iter().copied().collect()))
    }

    fn replicas(&self, s: &ClientState, key: &Key) -> Vec<Id> {
        self.container(s, key)
            .map(|c| c.replicas.clone())
            .unwrap_or_default()
    }

    fn local_set(&self, s: &ClientState, key: &Key) -> Vec<Id> {
        self.container(s, key)
            .map(|c| c.local_set(self.site).to_vec())
            .unwrap_or_default()
    }

    fn mutation(&self) -> Mutation {
        self.deployment.mutation
    }

    fn ts(&self, time: u64) -> Ts {
        Ts {
            time,
            node: self.ts_node,
        }
    }

    /// Starts the first scripted operation.
    pub fn on_start(&self, out: &mut Sends) -> ClientState {
        let mut s = ClientState::default();
        self.next_scripted(&mut s, out);
        s
    }

    fn next_scripted(&self, s: &mut ClientState, out: &mut Sends) {
        if let Some((key, op)) = self.script.get(s.done.len()) {
            self.invoke(s, key.clone(), op.clone(), out);
        }
    }

    /// Invokes `op` on `key`. An operation that does not exist for the
    /// object's type, or a key of no container, completes at once with
    /// [`Ret::Aborted`] having taken no effect.
    pub fn invoke(&self, s: &mut ClientState, key: Key, op: Op, out: &mut Sends) {
        self.invoke_at(s, key, op, None, out)
    }

    /// [`Client::invoke`] with the operation's timestamp already taken
    /// (`ts`: a delegated write's or execute's, Section 3.4.2): its first
    /// phase is then the one after the timestamp.
    pub fn invoke_at(
        &self,
        s: &mut ClientState,
        key: Key,
        op: Op,
        ts: Option<Ts>,
        out: &mut Sends,
    ) {
        if let Some(prefix) = self.needs_metadata(s, &key) {
            let then = Then::Invoke { key, op, ts };
            return self.look_up(s, prefix, None, then, out);
        }
        let Some(algorithm) = self.container(s, &key).map(|c| c.algorithm) else {
            s.done.push(Ret::Aborted);
            return;
        };
        let valid = matches!(
            (algorithm.is_rmw(), &op),
            (true, Op::Execute(_)) | (false, Op::Read | Op::Write(_))
        );
        if !valid {
            s.done.push(Ret::Aborted);
            return;
        }
        let mut cur = Current::new(key, op.clone(), algorithm);
        match ts {
            Some(ts) if !matches!(op, Op::Read) => self.after_timestamp(s, &mut cur, ts, out),
            _ => self.begin(s, &mut cur, out),
        }
        s.current = Some(cur);
    }

    /// The first phase of the operation `cur`.
    fn begin(&self, s: &mut ClientState, cur: &mut Current, out: &mut Sends) {
        let (key, op) = (cur.key.clone(), cur.op.clone());
        let replicas = self.replicas(s, &key);
        match (&op, cur.algorithm) {
            (Op::Read, _) if self.delegate(s, cur).is_some() => {
                let delegate = self.delegate(s, cur).expect("matched");
                self.send_delegate(s, cur, delegate, None, out);
            }
            (Op::Read, Algorithm::Abd) => {
                let phase = Phase::AbdQuery {
                    best: (Ts::ZERO, Value::empty()),
                    c1: true,
                };
                let req = s.next_req;
                self.send_phase(s, cur, phase, &replicas, Msg::AbdQuery { req, key }, out);
            }
            (Op::Write(_), Algorithm::Abd)
                if self.deployment.timestamps == TimestampMode::QueryMajority =>
            {
                let req = s.next_req;
                let phase = Phase::AbdTsQuery { max: Ts::ZERO };
                self.send_phase(s, cur, phase, &replicas, Msg::AbdTsQuery { req, key }, out);
            }
            (Op::Write(_), Algorithm::VivaceRw)
                if self.deployment.timestamps == TimestampMode::QueryMajority =>
            {
                let req = s.next_req;
                let phase = Phase::RTsForWrite { max: Ts::ZERO };
                self.send_phase(s, cur, phase, &replicas, Msg::RTs { req, key }, out);
            }
            (Op::Read, Algorithm::VivaceRw) => {
                let req = s.next_req;
                let phase = Phase::RTs {
                    mts: Ts::ZERO,
                    c1: true,
                    with_mts: IdSet::EMPTY,
                };
                self.send_phase(s, cur, phase, &replicas, Msg::RTs { req, key }, out);
            }
            _ => {
                // ts ← clock()
                let req = s.next_req;
                let clock = [self.deployment.clock];
                self.send_phase(s, cur, Phase::Clock, &clock, Msg::ClockReq { req }, out);
            }
        }
    }

    /// Sends `msg` to `to` and makes `phase` the current one.
    fn send_phase(
        &self,
        s: &mut ClientState,
        cur: &mut Current,
        phase: Phase,
        to: &[Id],
        msg: Msg,
        out: &mut Sends,
    ) {
        debug_assert_eq!(msg.req(), s.next_req);
        let msg = in_epoch(self.epoch_of(s, &cur.key), msg);
        cur.req = s.next_req;
        s.next_req += 1;
        cur.phase = phase;
        cur.votes = Votes::default();
        cur.to = to.iter().copied().collect();
        for &dst in to {
            out.push((dst, msg.clone()));
        }
        cur.request = self.deployment.options.retransmit.then_some(msg);
    }

    /// Reads the metadata of container `prefix` from the directory (an
    /// ordinary read of [`metadata_key`]`(prefix)`), then does `then`.
    /// `stale`: the epoch a replica refused, which the metadata read must
    /// be newer than.
    fn look_up(
        &self,
        s: &mut ClientState,
        prefix: Key,
        stale: Option<Epoch>,
        then: Then,
        out: &mut Sends,
    ) {
        s.lookup = Some(Box::new(Lookup {
            prefix,
            stale,
            then,
            empty: false,
            waiting: false,
        }));
        self.read_directory(s, out);
    }

    /// Starts (again) the directory read of the lookup in progress.
    fn read_directory(&self, s: &mut ClientState, out: &mut Sends) {
        let Some(l) = s.lookup.as_mut() else { return };
        l.waiting = false;
        let key = metadata_key(&l.prefix);
        let Some(algorithm) = self.container(s, &key).map(|c| c.algorithm) else {
            // No directory container: the operation cannot run.
            s.lookup = None;
            s.done.push(Ret::Aborted);
            return;
        };
        s.directory.reads += 1;
        let mut cur = Current::new(key, Op::Read, algorithm);
        cur.taken_over = true; // a directory read is never delegated
        self.begin(s, &mut cur, out);
        s.current = Some(cur);
    }

    /// A directory read returned `ret`: with metadata newer than the stale
    /// epoch, cache it and do what the lookup was for; else read again on
    /// the timer.
    fn learn(&self, s: &mut ClientState, ret: Ret, out: &mut Sends) {
        let Some(l) = s.lookup.as_mut() else { return };
        let found = match &ret {
            Ret::ReadOk(v) if !v.is_empty() => decode_metadata(&l.prefix, v.as_slice()).ok(),
            _ => None,
        };
        l.empty = found.is_none();
        match found {
            Some(c) if l.stale.is_none_or(|e| c.epoch > e) => {
                let l = s.lookup.take().expect("matched above");
                s.cache.insert(l.prefix, c);
                match l.then {
                    Then::Invoke { key, op, ts } => self.invoke_at(s, key, op, ts, out),
                    Then::Abort => {
                        s.done.push(Ret::Aborted);
                        self.next_scripted(s, out);
                    }
                }
            }
            // Not published yet (or no metadata): ask again later.
            _ => l.waiting = true,
        }
    }

    /// Whether the client waits for its timer to read the directory again.
    pub fn waits_for_directory(&self, s: &ClientState) -> bool {
        s.current.is_none() && s.lookup.as_ref().is_some_and(|l| l.waiting)
    }

    /// A replica answered the current phase with STALE (`epoch`,
    /// `sealed`): if the epoch is newer than the operation's, or the
    /// operation's own and sealed, the operation stops and resumes after a
    /// read of the directory finds a newer epoch: a read starts over, a
    /// write is redone with the same timestamp and value, an execute
    /// returns ⊥. A replica that is behind (an older epoch, or none) is not
    /// counted, and the phase goes on. Returns the operation if it goes on.
    fn on_stale(
        &self,
        s: &mut ClientState,
        cur: Current,
        epoch: Epoch,
        sealed: bool,
        out: &mut Sends,
    ) -> Option<Current> {
        let (Some(mine), Some(prefix)) = (
            self.epoch_of(s, &cur.key).map(|(e, _)| e),
            self.deployment
                .directory
                .lookup(&cur.key)
                .map(|c| c.prefix.clone()),
        ) else {
            return Some(cur);
        };
        if epoch < mine || (epoch == mine && !sealed) {
            return Some(cur);
        }
        s.directory.stale += 1;
        let then = match (&cur.op, cur.redo_ts) {
            (Op::Execute(_), _) => {
                s.directory.aborted += 1;
                Then::Abort
            }
            (Op::Write(_), Some(ts)) => {
                s.directory.redone += 1;
                Then::Invoke {
                    key: cur.key,
                    op: cur.op,
                    ts: Some(ts),
                }
            }
            _ => {
                s.directory.restarted += 1;
                Then::Invoke {
                    key: cur.key,
                    op: cur.op,
                    ts: None,
                }
            }
        };
        self.look_up(s, prefix, Some(mine), then, out);
        None
    }

    /// Handles a reply. Replies to an earlier phase are ignored.
    pub fn on_msg(&self, s: &mut ClientState, src: Id, msg: Msg, out: &mut Sends) {
        let Some(mut cur) = s.current.take() else {
            return;
        };
        if !msg.is_reply() || !Self::awaits(&cur, src, msg.req(), msg.is_read_data()) {
            s.current = Some(cur);
            return;
        }
        if let Msg::Stale { epoch, sealed, .. } = msg {
            let goes_on = if cur.to.contains(src) {
                self.on_stale(s, cur, epoch, sealed, out)
            } else {
                Some(cur)
            };
            if goes_on.is_some() {
                s.current = goes_on;
            }
            return;
        }
        match self.step(s, &mut cur, src, msg, out) {
            Some(ret) if s.lookup.is_some() => self.learn(s, ret, out),
            Some(ret) => {
                s.done.push(ret);
                self.next_scripted(s, out);
            }
            None => s.current = Some(cur),
        }
    }

    /// Whether the current phase still waits for a reply from `src` to
    /// request `req` (`data`: an R-DATA reply; the parallel write-back's
    /// phase takes the first one, from any replica, besides the W-TS
    /// acknowledgements).
    /// The model uses this to drop replies, and requests, that can no
    /// longer change anything.
    pub fn awaits(cur: &Current, src: Id, req: ReqId, is_data: bool) -> bool {
        req == cur.req
            && match cur.phase {
                Phase::RDataWb { ref data, .. } if is_data => data.is_none(),
                _ => !cur.votes.from.contains(src),
            }
    }

    /// One reply to the current phase; returns the operation's result when it completes.
    fn step(
        &self,
        s: &mut ClientState,
        cur: &mut Current,
        src: Id,
        msg: Msg,
        out: &mut Sends,
    ) -> Option<Ret> {
        use Msg::*;
        let key = cur.key.clone();
        let replicas = self.replicas(s, &key);
        let n = majority(replicas.len());
        let mutation = self.mutation();
        let skip_enabled = self.deployment.options.writeback_skip;
        let phase = cur.phase.clone();
        match (phase, msg) {
            // ts ← clock(): the first phase of every write and execute.
            (Phase::Clock, ClockResp { time, .. }) => {
                let ts = self.ts(time);
                self.after_timestamp(s, cur, ts, out);
                None
            }
            // Clock-free writes (ABD, Algorithm 1): the highest timestamp of
            // a majority, then `(max.time + 1, me)`.
            (Phase::AbdTsQuery { max }, AbdTsQueryAck { ts, .. })
            | (Phase::RTsForWrite { max }, AckRTs { ts, .. }) => {
                let max = max.max(ts);
                if let Phase::AbdTsQuery { max: m } | Phase::RTsForWrite { max: m } = &mut cur.phase
                {
                    *m = max;
                }
                if cur.votes.record(src, true, n) == Tally::Accepted {
                    let ts = self.ts(max.time + 1);
                    self.after_timestamp(s, cur, ts, out);
                }
                None
            }
            // ABD read: query, then write back the newest pair.
            (Phase::AbdQuery { mut best, mut c1 }, AbdQueryAck { ts, val, .. }) => {
                if !cur.votes.from.is_empty() && ts != best.0 {
                    c1 = false;
                }
                if cur.votes.from.is_empty() || ts > best.0 {
                    best = (ts, val);
                }
                cur.phase = Phase::AbdQuery {
                    best: best.clone(),
                    c1,
                };
                if cur.votes.record(src, true, n) == Tally::Accepted {
                    let (mts, v) = best;
                    let skip = mutation == Mutation::ReadSkipsWriteBack || (skip_enabled && c1);
                    if skip {
                        return Some(Ret::ReadOk(v));
                    }
                    let req = s.next_req;
                    let msg = AbdStore {
                        req,
                        key,
                        ts: mts,
                        val: v.clone(),
                    };
                    self.send_phase(
                        s,
                        cur,
                        Phase::AbdStore {
                            ret: Ret::ReadOk(v),
                        },
                        &replicas,
                        msg,
                        out,
                    );
                }
                None
            }
            (Phase::AbdStore { ret }, AbdStoreAck { .. }) => {
                (cur.votes.record(src, true, n) == Tally::Accepted).then_some(ret)
            }

            // Algorithm 1 read, phase 1: R-TS to a majority.
            (
                Phase::RTs {
                    mut mts,
                    mut c1,
                    mut with_mts,
                },
                AckRTs { ts, .. },
            ) => {
                if !cur.votes.from.is_empty() && ts != mts {
                    c1 = false;
                }
                if self.deployment.options.fewer_replicas {
                    if cur.votes.from.is_empty() || ts > mts {
                        with_mts = IdSet::EMPTY;
                    }
                    if cur.votes.from.is_empty() || ts >= mts {
                        with_mts.insert(src);
                    }
                }
                mts = if cur.votes.from.is_empty() {
                    ts
                } else {
                    mts.max(ts)
                };
                cur.phase = Phase::RTs { mts, c1, with_mts };
                if cur.votes.record(src, true, n) == Tally::Accepted {
                    hit(if c1 { B::ReadC1Holds } else { B::ReadC1Fails });
                    self.data_phase(s, cur, mts, c1, with_mts, out);
                }
                None
            }
            // Phase 2: the first R-DATA reply.
            (Phase::RData { mts, c1 }, AckRData { ts: dts, val, .. }) => {
                let c2 = dts == mts;
                hit(if c2 {
                    B::ReadDataOfMts
                } else {
                    B::ReadDataNewer
                });
                let skip = match mutation {
                    Mutation::ReadSkipsWriteBack => true,
                    Mutation::SkipWriteBackC1Only => c1,
                    _ => skip_enabled && c1 && c2,
                };
                if skip {
                    hit(B::ReadSkipsWriteBack);
                    return Some(Ret::ReadOk(val));
                }
                hit(B::ReadWritesBack);
                // Phase 3: write back the timestamp of the data returned.
                let wb = if mutation == Mutation::WriteBackPhase1Ts {
                    mts
                } else {
                    dts
                };
                let req = s.next_req;
                let msg = WTs { req, key, ts: wb };
                self.send_phase(
                    s,
                    cur,
                    Phase::WTs {
                        ts: wb,
                        ret: Ret::ReadOk(val),
                    },
                    &replicas,
                    msg,
                    out,
                );
                None
            }
            (Phase::WTs { ret, .. }, AckWTs { .. }) => {
                (cur.votes.record(src, true, n) == Tally::Accepted).then_some(ret)
            }
            // Phase 2 with the parallel write-back: data of `mts` and a
            // majority of W-TS acknowledgements, in either order.
            (
                Phase::RDataWb {
                    mts,
                    data: None,
                    data_to,
                },
                AckRData { ts: dts, val, .. },
            ) => {
                let local = self.deployment.site(src) == self.site;
                if dts != mts && mutation != Mutation::ParallelWriteBackIgnoresC2 {
                    // (C2) fails: write back the data's timestamp, as
                    // Algorithm 1's phase 3 (a majority at `dts > mts`
                    // makes the pending W-TS of `mts` irrelevant).
                    let req = s.next_req;
                    let msg = WTs { req, key, ts: dts };
                    let phase = Phase::WTs {
                        ts: dts,
                        ret: Ret::ReadOk(val),
                    };
                    self.send_phase(s, cur, phase, &replicas, msg, out);
                    return None;
                }
                let ret = Ret::ReadOk(val.clone());
                cur.phase = Phase::RDataWb {
                    mts,
                    data: Some((val, local)),
                    data_to,
                };
                let acked = cur.votes.tally(n) == Tally::Accepted
                    || mutation == Mutation::ParallelWriteBackNoWait;
                acked.then_some(ret)
            }
            (Phase::RDataWb { data, .. }, AckWTs { .. }) => {
                let accepted = cur.votes.record(src, true, n) == Tally::Accepted;
                match data {
                    Some((v, _)) if accepted => Some(Ret::ReadOk(v)),
                    _ => None,
                }
            }

            // W-LOCAL to a majority of the local set (Algorithms 1 and 3).
            (Phase::WLocal { ts, result }, AckWLocal { .. }) => {
                let local_n = match mutation {
                    Mutation::WTsBeforeLocalMajority => 1,
                    _ => majority(self.local_set(s, &key).len()),
                };
                if cur.votes.record(src, true, local_n) == Tally::Accepted {
                    hit(B::WriteLocalMajority);
                    let req = s.next_req;
                    match result {
                        None => {
                            let msg = WTs { req, key, ts };
                            self.send_phase(
                                s,
                                cur,
                                Phase::WTs {
                                    ts,
                                    ret: Ret::WriteOk,
                                },
                                &replicas,
                                msg,
                                out,
                            );
                        }
                        Some(result) => {
                            let msg = OwTs { req, key, ots: ts };
                            let phase = Phase::OwTs {
                                ots: ts,
                                result,
                                at_replicas: false,
                            };
                            self.send_phase(s, cur, phase, &replicas, msg, out);
                        }
                    }
                }
                None
            }

            // Algorithm 2: OR, apply, OW.
            (Phase::Or { ots, mut best }, AckOr { ok, ts, val, .. }) => {
                if ok && (best.1.is_none() || ts > best.0) {
                    best = (ts, val);
                }
                cur.phase = Phase::Or {
                    ots,
                    best: best.clone(),
                };
                match cur.votes.record(src, ok, n) {
                    Tally::Waiting => None,
                    Tally::Rejected => Some(Ret::Aborted),
                    Tally::Accepted => {
                        let mval = best.1.unwrap_or_else(Value::empty);
                        let (val, result) = apply(&mval, self.command(cur));
                        let req = s.next_req;
                        let msg = Ow { req, key, ots, val };
                        self.send_phase(s, cur, Phase::Ow { result }, &replicas, msg, out);
                        None
                    }
                }
            }
            (Phase::Ow { result }, AckOw { ok, .. }) => match cur.votes.record(src, ok, n) {
                Tally::Waiting => None,
                Tally::Rejected => Some(Ret::Aborted),
                Tally::Accepted => Some(Ret::ExecuteOk(result)),
            },

            // Algorithm 3: OR-TS, OR-DATA, apply, W-LOCAL, OW-TS.
            (Phase::OrTs { ots, mut mts }, AckOrTs { ok, ts, .. }) => {
                if ok {
                    mts = mts.max(ts);
                }
                cur.phase = Phase::OrTs { ots, mts };
                match cur.votes.record(src, ok, n) {
                    Tally::Waiting => None,
                    Tally::Rejected => {
                        hit(B::ExecuteOrTsAborts);
                        Some(Ret::Aborted)
                    }
                    Tally::Accepted if self.deployment.options.execute_at_replicas => {
                        self.exec_phase(s, cur, ots, mts, out);
                        None
                    }
                    Tally::Accepted => {
                        let req = s.next_req;
                        let msg = OrData { req, key, ts: mts };
                        self.send_phase(s, cur, Phase::OrData { ots }, &replicas, msg, out);
                        None
                    }
                }
            }
            // Section 3.4.2: a majority applied the command, none rejected,
            // and the result is in hand: OW-TS, as Algorithm 3's phase 4.
            (
                Phase::Exec {
                    ots,
                    mts,
                    mut result,
                },
                AckExec { ok, result: r, .. },
            ) => {
                if result.is_none() && ok {
                    result = r;
                }
                cur.phase = Phase::Exec {
                    ots,
                    mts,
                    result: result.clone(),
                };
                match (cur.votes.record(src, ok, n), result) {
                    (Tally::Rejected, _) => Some(Ret::Aborted),
                    (Tally::Accepted, Some(result)) => {
                        hit(B::ExecuteAtReplicas);
                        let req = s.next_req;
                        let msg = OwTs { req, key, ots };
                        let phase = Phase::OwTs {
                            ots,
                            result,
                            at_replicas: true,
                        };
                        self.send_phase(s, cur, phase, &replicas, msg, out);
                        None
                    }
                    _ => None,
                }
            }
            (Phase::OrData { ots }, AckOrData { ok, val, .. }) => match (ok, val) {
                (true, Some(data)) => {
                    let (val, result) = apply(&data, self.command(cur));
                    let req = s.next_req;
                    let local = self.local_set(s, &key);
                    let msg = WLocal {
                        req,
                        key,
                        ts: ots,
                        val,
                    };
                    self.send_phase(
                        s,
                        cur,
                        Phase::WLocal {
                            ts: ots,
                            result: Some(result),
                        },
                        &local,
                        msg,
                        out,
                    );
                    None
                }
                _ => {
                    hit(B::ExecuteOrDataAborts);
                    Some(Ret::Aborted)
                }
            },
            (Phase::OwTs { result, .. }, AckOwTs { ok, .. }) => {
                match cur.votes.record(src, ok, n) {
                    Tally::Waiting => None,
                    Tally::Rejected => {
                        hit(B::ExecuteOwTsAborts);
                        Some(Ret::Aborted)
                    }
                    Tally::Accepted => {
                        hit(B::ExecuteCompletes);
                        Some(Ret::ExecuteOk(result))
                    }
                }
            }
            // Section 3.4.2: the delegate's answer is the operation's.
            (Phase::Delegated { .. }, AckDelegate { ret, .. }) => {
                hit(B::Delegated);
                Some(ret)
            }
            // A reply of another kind than the phase expects: ignore it.
            _ => None,
        }
    }

    fn command<'a>(&self, cur: &'a Current) -> &'a crate::object::Command {
        match &cur.op {
            Op::Execute(c) => c,
            _ => unreachable!("RMW phases run only for execute"),
        }
    }

    /// Algorithm 1's read after phase 1: R-DATA to every replica, or to the
    /// one that reported `mts` that reading from fewer replicas picks; with
    /// the parallel write-back, and (C1) failed, W-TS of `mts` at once too.
    fn data_phase(
        &self,
        s: &mut ClientState,
        cur: &mut Current,
        mts: Ts,
        c1: bool,
        with_mts: IdSet,
        out: &mut Sends,
    ) {
        let replicas = self.replicas(s, &cur.key);
        let data_to: Vec<Id> = if self.deployment.options.fewer_replicas {
            let pick = replicas
                .iter()
                .copied()
                .filter(|&r| with_mts.contains(r))
                .min_by_key(|&r| self.deployment.site(r) != self.site);
            pick.into_iter().collect()
        } else {
            replicas.clone()
        };
        let req = s.next_req;
        let key = cur.key.clone();
        let rdata = Msg::RData {
            req,
            key: key.clone(),
            ts: mts,
        };
        if self.deployment.options.parallel_writeback && !c1 {
            hit(B::ReadParallelWriteBack);
            let rdata = in_epoch(self.epoch_of(s, &key), rdata);
            for &dst in &data_to {
                out.push((dst, rdata.clone()));
            }
            let phase = Phase::RDataWb {
                mts,
                data: None,
                data_to: data_to.iter().copied().collect(),
            };
            let msg = Msg::WTs { req, key, ts: mts };
            self.send_phase(s, cur, phase, &replicas, msg, out);
        } else {
            self.send_phase(s, cur, Phase::RData { mts, c1 }, &data_to, rdata, out);
        }
    }

    /// Section 3.4.2: EXEC of the command and `mts` to every replica; the
    /// ones in the client's site (else the first replica) send the result.
    fn exec_phase(
        &self,
        s: &mut ClientState,
        cur: &mut Current,
        ots: Ts,
        mts: Ts,
        out: &mut Sends,
    ) {
        let replicas = self.replicas(s, &cur.key);
        let epoch = self.epoch_of(s, &cur.key);
        let here = |r: &Id| self.deployment.site(*r) == self.site;
        let answer: Vec<Id> = if replicas.iter().any(here) {
            replicas.iter().copied().filter(here).collect()
        } else {
            replicas.iter().copied().take(1).collect()
        };
        let exec = |result| Msg::Exec {
            req: s.next_req,
            key: cur.key.clone(),
            ots,
            mts,
            command: self.command(cur).clone(),
            result,
        };
        let (with, without) = (in_epoch(epoch, exec(true)), exec(false));
        let others: Vec<Id> = unacked(&replicas, answer.iter().copied().collect()).collect();
        for &dst in &answer {
            out.push((dst, with.clone()));
        }
        let phase = Phase::Exec {
            ots,
            mts,
            result: None,
        };
        self.send_phase(s, cur, phase, &others, without, out);
        cur.to = replicas.iter().copied().collect();
    }

    /// Whether the client needs its timer: to retransmit, or for the
    /// fallback of a data phase that asked fewer replicas than all, of an
    /// EXEC phase, or of a delegated operation.
    pub fn needs_timer(&self, s: &ClientState) -> bool {
        let Some(cur) = &s.current else {
            return self.waits_for_directory(s);
        };
        self.deployment.options.retransmit
            || self.fallback_pending(cur, self.replicas(s, &cur.key).len())
            || self.exec_fallback_pending(cur)
            || self.delegation_fallback_pending(cur)
    }

    /// How long the timer waits in the current phase: a delegated
    /// operation waits for its whole coordination
    /// ([`DELEGATION_TIMEOUT`]), every other phase for one round trip
    /// ([`RETRANSMIT_AFTER`]). The model ignores durations.
    pub fn timer_after(&self, s: &ClientState) -> Range<Duration> {
        match s.current.as_ref().map(|cur| &cur.phase) {
            Some(Phase::Delegated { .. }) => DELEGATION_TIMEOUT,
            None if self.waits_for_directory(s) => DIRECTORY_RETRY_AFTER,
            _ => RETRANSMIT_AFTER,
        }
    }

    /// A delegated operation that the timer takes over (Section 3.4.2).
    fn delegation_fallback_pending(&self, cur: &Current) -> bool {
        matches!(cur.phase, Phase::Delegated { .. })
            && self.mutation() != Mutation::DelegationNoFallback
    }

    /// An EXEC phase that the timer moves to OR-DATA (Section 3.4.2).
    fn exec_fallback_pending(&self, cur: &Current) -> bool {
        matches!(cur.phase, Phase::Exec { .. }) && self.mutation() != Mutation::ExecNoFallback
    }

    /// The data phase asked fewer replicas than all (`all` of them) and has
    /// no data yet.
    fn fallback_pending(&self, cur: &Current, all: usize) -> bool {
        if !self.deployment.options.fewer_replicas
            || self.mutation() == Mutation::FewerReplicasNoFallback
        {
            return false;
        }
        let has_data = matches!(cur.phase, Phase::RDataWb { data: Some(_), .. });
        cur.data_asked()
            .is_some_and(|(_, asked)| asked.len() < all && !has_data)
    }

    /// With a new timestamp in hand: the first data phase of a write or
    /// execute, or DELEGATE with the timestamp (Section 3.4.2).
    fn after_timestamp(&self, s: &mut ClientState, cur: &mut Current, ts: Ts, out: &mut Sends) {
        if let Some(delegate) = self.delegate(s, cur) {
            self.send_delegate(s, cur, delegate, Some(ts), out);
            return;
        }
        if self.epoch_of(s, &cur.key).is_some() {
            cur.redo_ts = Some(ts);
        }
        let key = cur.key.clone();
        let req = s.next_req;
        let replicas = self.replicas(s, &key);
        match (&cur.op, cur.algorithm) {
            (Op::Write(v), Algorithm::Abd) => {
                let msg = Msg::AbdStore {
                    req,
                    key,
                    ts,
                    val: v.clone(),
                };
                self.send_phase(
                    s,
                    cur,
                    Phase::AbdStore { ret: Ret::WriteOk },
                    &replicas,
                    msg,
                    out,
                );
            }
            (Op::Write(v), Algorithm::VivaceRw) => {
                let local = self.local_set(s, &key);
                let msg = Msg::WLocal {
                    req,
                    key,
                    ts,
                    val: v.clone(),
                };
                self.send_phase(s, cur, Phase::WLocal { ts, result: None }, &local, msg, out);
            }
            (Op::Execute(_), Algorithm::LanRmw) => {
                let msg = Msg::Or { req, key, ots: ts };
                self.send_phase(
                    s,
                    cur,
                    Phase::Or {
                        ots: ts,
                        best: (Ts::ZERO, None),
                    },
                    &replicas,
                    msg,
                    out,
                );
            }
            (Op::Execute(_), Algorithm::VivaceRmw) => {
                let msg = Msg::OrTs { req, key, ots: ts };
                self.send_phase(
                    s,
                    cur,
                    Phase::OrTs {
                        ots: ts,
                        mts: Ts::ZERO,
                    },
                    &replicas,
                    msg,
                    out,
                );
            }
            _ => unreachable!("invoke checked the operation against the algorithm"),
        }
    }

    /// Retransmission timer: resend the current request to whoever has not
    /// replied; a data phase that asked fewer replicas than all and has no
    /// data yet asks every replica (the fallback of Section 3.4.1).
    /// Returns whether the timer is still needed.
    pub fn on_timeout(&self, s: &mut ClientState, out: &mut Sends) -> bool {
        if self.waits_for_directory(s) {
            self.read_directory(s, out);
            return self.needs_timer(s);
        }
        let Some(key) = s.current.as_ref().map(|c| c.key.clone()) else {
            return false;
        };
        let replicas = self.replicas(s, &key);
        let epoch = self.epoch_of(s, &key);
        let Some(cur) = &mut s.current else {
            return false;
        };
        // Section 3.4.2, delegating to a replica: no ACK-DELEGATE yet, so
        // the client coordinates the operation itself, with the timestamp
        // it gave the delegate. The delegate may still be at work: the two
        // then run one operation, as a retransmission would (a write of
        // the same timestamp and value; an execute of the same ordering
        // timestamp, which at most one of them gets a majority to accept).
        if let (true, Phase::Delegated { ts }) = (self.delegation_fallback_pending(cur), &cur.phase)
        {
            let ts = *ts;
            hit(B::TakenOver);
            let mut cur = s.current.take().expect("matched above");
            cur.taken_over = true;
            s.delegate_timed_out = true;
            match ts {
                Some(_) if self.mutation() == Mutation::DelegationFallbackNewTimestamp => {
                    let req = s.next_req;
                    let clock = [self.deployment.clock];
                    let msg = Msg::ClockReq { req };
                    self.send_phase(s, &mut cur, Phase::Clock, &clock, msg, out);
                }
                Some(ts) => self.after_timestamp(s, &mut cur, ts, out),
                None => self.begin(s, &mut cur, out),
            }
            s.current = Some(cur);
            return self.needs_timer(s);
        }
        // Section 3.4.2's fallback: an EXEC phase still open when the timer
        // fires (the replica that sends the result crashed, or replicas wait
        // for a value no one will send) continues as Algorithm 3 does,
        // with OR-DATA of `mts`; the command is then applied here. The
        // ordering timestamp of OR-TS stays valid: it is still this
        // execute's, and a replica that applied the command computed the
        // same value the client will write.
        if let (true, Phase::Exec { ots, mts, .. }) = (self.exec_fallback_pending(cur), &cur.phase)
        {
            let (ots, mts) = (*ots, *mts);
            hit(B::ExecuteFallsBack);
            let mut cur = s.current.take().expect("matched above");
            let req = s.next_req;
            let msg = Msg::OrData {
                req,
                key: cur.key.clone(),
                ts: mts,
            };
            self.send_phase(s, &mut cur, Phase::OrData { ots }, &replicas, msg, out);
            s.current = Some(cur);
            return self.deployment.options.retransmit;
        }
        let retransmit = self.deployment.options.retransmit;
        let parallel = matches!(cur.phase, Phase::RDataWb { data: None, .. });
        let fallback = self.fallback_pending(cur, replicas.len());
        if let Some((mts, asked)) = cur.data_asked().filter(|_| fallback || parallel) {
            let msg = Msg::RData {
                req: cur.req,
                key: cur.key.clone(),
                ts: mts,
            };
            let msg = in_epoch(epoch, msg);
            if fallback {
                hit(B::ReadFallsBack);
                for dst in unacked(&replicas, asked) {
                    out.push((dst, msg.clone()));
                }
                let all: IdSet = replicas.iter().copied().collect();
                match &mut cur.phase {
                    Phase::RDataWb { data_to, .. } => *data_to = all,
                    _ => {
                        // Later retransmissions go to all of them.
                        cur.to = all;
                        return retransmit;
                    }
                }
            } else if retransmit {
                // The parallel write-back's R-DATA: `request` is its W-TS.
                for dst in asked.iter() {
                    out.push((dst, msg.clone()));
                }
            }
        }
        if !retransmit {
            return false;
        }
        if let Some(msg) = &cur.request {
            hit(B::Retransmits);
            let to: Vec<Id> = cur.to.iter().collect();
            for dst in unacked(&to, cur.votes.from) {
                out.push((dst, msg.clone()));
            }
        }
        true
    }

    /// Whether every scripted operation has completed.
    pub fn finished(&self, s: &ClientState) -> bool {
        s.current.is_none() && s.done.len() >= self.script.len()
    }
}

/// `msg` in epoch `epoch` (with its replica set, for a W-LOCAL) when the
/// container has epochs (Section 3.1) and `msg` is a request to a server;
/// `msg` itself otherwise (the clock's request, for one).
fn in_epoch(epoch: Option<(Epoch, IdSet)>, msg: Msg) -> Msg {
    match epoch {
        Some((epoch, replicas)) if msg.request_key().is_some() => Msg::InEpoch {
            epoch,
            replicas: matches!(msg, Msg::WLocal { .. }).then_some(replicas),
            msg: Box::new(msg),
        },
        _ => msg,
    }
}
