//! # The directory service (Section 3.1)
//!
//! Each container's metadata (algorithm, replica set, local sets) and its
//! [`Epoch`] is the value of the RW object [`metadata_key`]`(prefix)`,
//! `dir/<prefix>`, in the *directory container*: an Algorithm 1 container
//! whose own metadata is fixed in the configuration (epoch 0). Clients read
//! a container's metadata from there once and cache it
//! ([`crate::client::ClientState::cache`]).
//!
//! Every request of a client for such a container carries the epoch of its
//! cached metadata ([`Msg::InEpoch`]); a replica that does not serve that
//! epoch answers [`Msg::Stale`], and the client re-reads the directory and
//! resumes the operation in the new epoch: a read starts over, a write is
//! redone **with the same timestamp and value**, an execute returns ⊥
//! (see [`crate::client::Client`]).
//!
//! Changing a container's replica set from epoch `e` to `e + 1` is
//! [`Reconfig`], the administrator's state machine (sans IO, like the
//! actors; the runtime drives it):
//!
//! 1. **SEAL** epoch `e` at the old replica set, and page through the
//!    container's keys at each replica ([`Msg::Seal`] / [`Msg::AckSeal`]):
//!    a sealed replica answers STALE to epoch-`e` requests but still takes
//!    W-REMOTE, the background propagation from the local replicas.
//! 2. **COPY** each key's newest `(ts, val)` over a majority of sealed
//!    replicas ([`Msg::CopyValues`] / [`Msg::AckCopyValues`]), asking
//!    again for values still propagating (a replica may hold a timestamp
//!    whose value is still ⊥).
//! 3. **INSTALL** the copied state at the new replica set, page by page,
//!    then the epoch itself ([`Msg::Install`] / [`Msg::AckInstall`]), and
//!    wait for a majority.
//! 4. Only then **PUBLISH** the new metadata: an ordinary write of the
//!    directory object, which the runtime does ([`Step::Installed`] says
//!    when).
//!
//! Every operation that completed in epoch `e` had each of its phases
//! acknowledged by a majority before the seal, so the sealed majority the
//! copy reads sees it (quorum intersection); every client that learns
//! `e + 1` finds the copied state installed. `proofs/src/reconfig.rs`
//! model-checks this protocol on its own (`vivace-proofs reconfig`).

use crate::config::{Algorithm, Container, Site};
use crate::msg::{KeyState, Msg};
use crate::quorum::majority;
use crate::replica::Sends;
use crate::types::{Epoch, Id, IdSet, Key, ReqId, Ts, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// Key prefix of the directory container: the metadata of the container
/// with prefix `p` is the object `dir/p`. Configurations may not use a
/// container prefix that starts with it.
pub const PREFIX: &str = "dir/";

/// The directory object that holds the metadata of the container `prefix`.
pub fn metadata_key(prefix: &Key) -> Key {
    let mut k = PREFIX.as_bytes().to_vec();
    k.extend_from_slice(prefix.as_slice());
    Key::from(k)
}

/// Bytes of keys (and per-key overhead, [`ENTRY_BYTES`]) in one
/// [`Msg::AckSeal`] page, so that a page fits one datagram.
pub const SEAL_PAGE_BYTES: usize = 16 * 1024;
/// Bytes of keys and values (and per-key overhead) asked for in one
/// [`Msg::CopyValues`], and carried by one [`Msg::Install`] page: a page
/// holds at least one entry, and one entry always fits a datagram (a key
/// and value are at most 65,000 bytes).
pub const COPY_PAGE_BYTES: usize = 32 * 1024;
/// Encoding overhead counted for each entry of a page besides its key and
/// value: two timestamps, lengths and tags (at most about 40 bytes).
pub const ENTRY_BYTES: usize = 48;
/// INSTALL pages a replica may have unanswered at once.
pub const INSTALL_WINDOW: usize = 8;
/// COPY requests of values some replica listed that may be unanswered at
/// once (each answer can be [`COPY_PAGE_BYTES`]: the window bounds what
/// arrives at the administrator's socket at a time).
pub const COPY_WINDOW: usize = 8;

/// Why directory metadata could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataError(pub String);

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MetadataError {}

fn ids(v: &[Id]) -> String {
    v.iter()
        .map(|i| usize::from(*i).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The value of a directory object: the container's metadata as one line
/// of text, `epoch=2 algorithm=vivace_rw replicas=2,3,4
/// local_sets=0:1,4,5/1:2,3` (node ids; sites by index), readable with an
/// ordinary `get`. The prefix is the object's key, not part of the value.
pub fn encode_metadata(c: &Container) -> Value {
    let local = c
        .local_sets
        .iter()
        .map(|(s, v)| format!("{s}:{}", ids(v)))
        .collect::<Vec<_>>()
        .join("/");
    Value::from(format!(
        "epoch={} algorithm={} replicas={} local_sets={local}",
        c.epoch,
        c.algorithm.name(),
        ids(&c.replicas)
    ))
}

/// Parses [`encode_metadata`]'s text as the metadata of container `prefix`.
pub fn decode_metadata(prefix: &Key, v: &[u8]) -> Result<Container, MetadataError> {
    let bad = |m: String| MetadataError(m);
    let text = std::str::from_utf8(v).map_err(|_| bad("not UTF-8".into()))?;
    let id_list = |s: &str| -> Result<Vec<Id>, MetadataError> {
        if s.is_empty() {
            return Ok(Vec::new());
        }
        s.split(',')
            .map(|x| {
                x.parse::<usize>()
                    .ok()
                    .filter(|&i| i < 64)
                    .map(Id::from)
                    .ok_or_else(|| bad(format!("bad node id {x:?}")))
            })
            .collect()
    };
    let (mut epoch, mut algorithm, mut replicas, mut local_sets) = (None, None, None, Vec::new());
    for field in text.split_whitespace() {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| bad(format!("field {field:?} is not name=value")))?;
        match name {
            "epoch" => {
                epoch = Some(
                    value
                        .parse::<Epoch>()
                        .map_err(|_| bad(format!("bad epoch {value:?}")))?,
                )
            }
            "algorithm" => {
                algorithm = Some(
                    Algorithm::from_name(value)
                        .ok_or_else(|| bad(format!("unknown algorithm {value:?}")))?,
                )
            }
            "replicas" => replicas = Some(id_list(value)?),
            "local_sets" => {
                for set in value.split('/').filter(|s| !s.is_empty()) {
                    let (site, members) = set
                        .split_once(':')
                        .ok_or_else(|| bad(format!("local set {set:?} is not site:ids")))?;
                    let site: Site = site
                        .parse()
                        .map_err(|_| bad(format!("bad site {site:?}")))?;
                    local_sets.push((site, id_list(members)?));
                }
            }
            other => return Err(bad(format!("unknown field {other:?}"))),
        }
    }
    let epoch = epoch.ok_or_else(|| bad("no epoch".into()))?;
    if epoch == 0 {
        return Err(bad(
            "epoch 0 is for fixed metadata, not the directory's".into()
        ));
    }
    let replicas = replicas.ok_or_else(|| bad("no replicas".into()))?;
    if replicas.is_empty() {
        return Err(bad("empty replica set".into()));
    }
    Ok(Container {
        prefix: prefix.clone(),
        algorithm: algorithm.ok_or_else(|| bad("no algorithm".into()))?,
        replicas,
        local_sets,
        epoch,
    })
}

/// A reconfiguration: container `from.prefix` moves from the metadata
/// `from` (epoch `e`) to `to` (epoch `e + 1`, same prefix and algorithm).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconfig {
    /// The published metadata.
    pub from: Container,
    /// The new metadata.
    pub to: Container,
}

/// Where a reconfiguration is.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// SEAL sent to the old replica set; listings coming in.
    #[default]
    Sealing,
    /// A majority sealed and listed; fetching the values of the newest
    /// timestamps.
    Copying,
    /// INSTALL pages going to the new replica set.
    Installing,
    /// A majority of the new replica set serves the new epoch: publish it.
    /// The remaining replicas of the new set are still being installed.
    Installed,
    /// It cannot finish.
    Failed(ReconfigFailure),
}

/// Why a reconfiguration cannot finish.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReconfigFailure {
    /// A replica is installed in a newer epoch than the one this
    /// reconfiguration started from: another one got there first.
    Superseded {
        /// The replica.
        server: Id,
        /// Its epoch.
        epoch: Epoch,
    },
    /// Too many replicas answered that they are not in the expected epoch
    /// (SEAL: not installed in `e`; INSTALL: refused) for a majority to be
    /// reached.
    NoMajority {
        /// SEAL or INSTALL.
        step: &'static str,
        /// Replicas that can still count.
        possible: usize,
        /// A majority.
        needed: usize,
    },
}

impl fmt::Display for ReconfigFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconfigFailure::Superseded { server, epoch } => write!(
                f,
                "server {} is installed in epoch {epoch}: another reconfiguration got there first",
                usize::from(*server)
            ),
            ReconfigFailure::NoMajority {
                step,
                possible,
                needed,
            } => write!(
                f,
                "{step}: only {possible} replicas can still answer, {needed} needed"
            ),
        }
    }
}

/// What one replica of the old set answered to SEAL.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SealProgress {
    /// Some ACK-SEAL came from it (it is sealed, if it was in epoch `e`).
    pub answered: bool,
    /// It is sealed in epoch `e`: its listing counts.
    pub counts: bool,
    /// Its listing is complete (or it does not count).
    pub done: bool,
}

/// A key's newest state over the sealed replicas' listings.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Newest {
    /// The newest timestamp.
    pub ts: Ts,
    /// The newest ordering timestamp.
    pub ots: Ts,
    /// Length of the value of `ts`, if some replica has it.
    pub len: Option<u32>,
    /// Replicas that listed `ts` with its value.
    pub holders: IdSet,
}

/// INSTALL progress of one replica of the new set.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstallProgress {
    /// The next page to send.
    pub next_page: usize,
    /// Pages it acknowledged.
    pub acked: BTreeSet<usize>,
    /// It acknowledged the last INSTALL: it serves the new epoch.
    pub active: bool,
    /// It refused an INSTALL.
    pub refused: bool,
}

/// What a request of the administrator is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// SEAL to this replica.
    Seal(Id),
    /// COPY of these keys; `listed`: from a replica that listed their
    /// values (counted in [`COPY_WINDOW`]); else of values still ⊥ at
    /// every sealed replica, asked of all of them.
    Copy {
        /// The keys still missing.
        keys: Vec<Key>,
        /// Asked of a replica that listed the values.
        listed: bool,
    },
    /// INSTALL of this page (`None`: the last INSTALL, with the epoch) at
    /// this replica.
    Install(Id, Option<usize>),
}

/// A request waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Outstanding {
    /// Where it went (a COPY goes to more replicas when retransmitted).
    pub to: IdSet,
    /// The request.
    pub msg: Msg,
    /// What it is for.
    pub purpose: Purpose,
}

/// Counts of a reconfiguration, for its report.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReconfigStats {
    /// Keys installed (every key some sealed replica listed with a
    /// timestamp or ordering timestamp).
    pub keys: u64,
    /// ACK-SEAL pages received (listings).
    pub seal_pages: u64,
    /// Bytes of keys listed in them.
    pub listed_key_bytes: u64,
    /// COPY requests sent (retransmissions excluded).
    pub copy_requests: u64,
    /// Bytes of keys and values copied (ACK-COPY, the first answer of each key).
    pub copied_bytes: u64,
    /// INSTALL pages sent, over all replicas (retransmissions excluded).
    pub install_pages: u64,
    /// Bytes of keys and values sent by INSTALL, over all replicas.
    pub installed_bytes: u64,
    /// Requests sent again on the timer.
    pub retransmissions: u64,
}

/// The administrator's state in a reconfiguration.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReconfigState {
    /// Where it is.
    pub step: Step,
    /// Next request id.
    pub next_req: ReqId,
    /// Requests not answered yet, by request id.
    pub outstanding: BTreeMap<ReqId, Outstanding>,
    /// SEAL answers of the old replicas.
    pub seal: BTreeMap<Id, SealProgress>,
    /// The merged listing.
    pub newest: BTreeMap<Key, Newest>,
    /// The values copied, of each key's newest timestamp.
    pub values: BTreeMap<Key, Value>,
    /// COPY batches not sent yet (the window is full): the replica that
    /// listed their values, and the keys.
    pub copy_queue: VecDeque<(Id, Vec<Key>)>,
    /// The INSTALL pages (once copying is over).
    pub pages: Vec<Vec<KeyState>>,
    /// INSTALL progress of the new replicas.
    pub install: BTreeMap<Id, InstallProgress>,
    /// Counts.
    pub stats: ReconfigStats,
}

impl ReconfigState {
    /// Keys whose newest value has not been copied yet (while copying).
    pub fn missing_values(&self) -> Vec<Key> {
        self.newest
            .iter()
            .filter(|(k, n)| n.ts != Ts::ZERO && !self.values.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Replicas of the new set that serve the new epoch.
    pub fn active(&self) -> Vec<Id> {
        self.install
            .iter()
            .filter(|(_, p)| p.active)
            .map(|(&r, _)| r)
            .collect()
    }

    /// Replicas of the old set that acknowledged the seal.
    pub fn sealed(&self) -> Vec<Id> {
        self.seal
            .iter()
            .filter(|(_, p)| p.counts)
            .map(|(&r, _)| r)
            .collect()
    }
}

fn entry_bytes(key: &Key, len: usize) -> usize {
    key.len() + len + ENTRY_BYTES
}

impl Reconfig {
    /// The container's prefix.
    pub fn prefix(&self) -> &Key {
        &self.from.prefix
    }

    /// Sends SEAL of the old epoch to every old replica.
    pub fn start(&self, s: &mut ReconfigState, out: &mut Sends) {
        for &r in &self.from.replicas {
            s.seal.insert(r, SealProgress::default());
            self.send_seal(s, r, None, out);
        }
    }

    fn send(&self, s: &mut ReconfigState, to: &[Id], msg: Msg, purpose: Purpose, out: &mut Sends) {
        debug_assert_eq!(msg.req(), s.next_req);
        s.next_req += 1;
        for &dst in to {
            out.push((dst, msg.clone()));
        }
        s.outstanding.insert(
            msg.req(),
            Outstanding {
                to: to.iter().copied().collect(),
                msg,
                purpose,
            },
        );
    }

    fn send_seal(&self, s: &mut ReconfigState, r: Id, after: Option<Key>, out: &mut Sends) {
        let msg = Msg::Seal {
            req: s.next_req,
            prefix: self.prefix().clone(),
            epoch: self.from.epoch,
            after,
        };
        self.send(s, &[r], msg, Purpose::Seal(r), out);
    }

    fn fail(&self, s: &mut ReconfigState, f: ReconfigFailure) {
        s.step = Step::Failed(f);
        s.outstanding.clear();
    }

    /// Handles an answer of a replica.
    pub fn on_msg(&self, s: &mut ReconfigState, src: Id, msg: Msg, out: &mut Sends) {
        if matches!(s.step, Step::Failed(_)) {
            return;
        }
        let req = msg.req();
        let Some(o) = s.outstanding.get(&req) else {
            return;
        };
        if !o.to.contains(src) {
            return;
        }
        match (o.purpose.clone(), msg) {
            (
                Purpose::Seal(r),
                Msg::AckSeal {
                    epoch,
                    sealed,
                    keys,
                    more,
                    ..
                },
            ) => {
                s.outstanding.remove(&req);
                if epoch > self.from.epoch {
                    return self.fail(s, ReconfigFailure::Superseded { server: r, epoch });
                }
                let p = s.seal.entry(r).or_default();
                p.answered = true;
                if s.step != Step::Sealing {
                    // A straggler: sealed now, its listing is not needed.
                    return;
                }
                if epoch != self.from.epoch || !sealed {
                    p.done = true;
                    p.counts = false;
                } else {
                    p.counts = true;
                    s.stats.seal_pages += 1;
                    let last = keys.last().map(|k| k.key.clone());
                    for k in keys {
                        s.stats.listed_key_bytes += k.key.len() as u64;
                        let n = s.newest.entry(k.key).or_default();
                        if k.ts > n.ts {
                            *n = Newest {
                                ts: k.ts,
                                ots: n.ots,
                                len: None,
                                holders: IdSet::EMPTY,
                            };
                        }
                        n.ots = n.ots.max(k.ots);
                        if k.ts == n.ts {
                            if let Some(len) = k.len {
                                n.len = Some(len);
                                n.holders.insert(r);
                            }
                        }
                    }
                    match (more, last) {
                        (true, Some(after)) => self.send_seal(s, r, Some(after), out),
                        _ => s.seal.entry(r).or_default().done = true,
                    }
                }
                self.after_seal_answer(s, out);
            }
            (Purpose::Copy { keys, listed }, Msg::AckCopyValues { values, .. }) => {
                if s.step != Step::Copying {
                    return;
                }
                for (k, ts, v) in values {
                    let newest = s.newest.get(&k).map(|n| n.ts);
                    if newest == Some(ts) && !s.values.contains_key(&k) {
                        s.stats.copied_bytes += (k.len() + v.len()) as u64;
                        s.values.insert(k, v);
                    }
                }
                let left: Vec<Key> = keys
                    .into_iter()
                    .filter(|k| !s.values.contains_key(k))
                    .collect();
                if left.is_empty() {
                    s.outstanding.remove(&req);
                    self.copy_more(s, out);
                } else if let Some(o) = s.outstanding.get_mut(&req) {
                    // Ask again (on the timer) only for what is missing.
                    o.msg = self.copy_msg(req, &s.newest, &left);
                    o.purpose = Purpose::Copy { keys: left, listed };
                }
                if s.missing_values().is_empty() {
                    self.start_install(s, out);
                }
            }
            (Purpose::Install(r, page), Msg::AckInstall { ok, epoch, .. }) => {
                s.outstanding.remove(&req);
                if !ok {
                    if epoch > self.to.epoch {
                        return self.fail(s, ReconfigFailure::Superseded { server: r, epoch });
                    }
                    s.install.entry(r).or_default().refused = true;
                    let possible = s.install.values().filter(|p| !p.refused).count();
                    let needed = majority(self.to.replicas.len());
                    if possible < needed {
                        self.fail(
                            s,
                            ReconfigFailure::NoMajority {
                                step: "INSTALL",
                                possible,
                                needed,
                            },
                        );
                    }
                    return;
                }
                match page {
                    Some(i) => {
                        s.install.entry(r).or_default().acked.insert(i);
                        self.install_more(s, r, out);
                    }
                    None => s.install.entry(r).or_default().active = true,
                }
                let active = s.install.values().filter(|p| p.active).count();
                if s.step == Step::Installing && active >= majority(self.to.replicas.len()) {
                    s.step = Step::Installed;
                }
            }
            _ => {}
        }
    }

    /// After a SEAL answer: copying starts once a majority sealed and
    /// listed; fails once a majority no longer can.
    fn after_seal_answer(&self, s: &mut ReconfigState, out: &mut Sends) {
        let needed = majority(self.from.replicas.len());
        let listed = s.seal.values().filter(|p| p.counts && p.done).count();
        let possible = s.seal.values().filter(|p| p.counts || !p.done).count();
        if listed >= needed {
            self.start_copy(s, out);
        } else if possible < needed {
            self.fail(
                s,
                ReconfigFailure::NoMajority {
                    step: "SEAL",
                    possible,
                    needed,
                },
            );
        }
    }

    fn copy_msg(&self, req: ReqId, newest: &BTreeMap<Key, Newest>, keys: &[Key]) -> Msg {
        Msg::CopyValues {
            req,
            keys: keys
                .iter()
                .map(|k| (k.clone(), newest.get(k).map_or(Ts::ZERO, |n| n.ts)))
                .collect(),
        }
    }

    /// COPY: the value of each key's newest timestamp, from one replica
    /// that listed it with its value (the least loaded), in batches of at
    /// most [`COPY_PAGE_BYTES`]; a key whose value no sealed replica had
    /// yet is asked of every sealed replica, alone.
    fn start_copy(&self, s: &mut ReconfigState, out: &mut Sends) {
        s.step = Step::Copying;
        // Stop paging the listings of the replicas beyond the majority.
        s.outstanding
            .retain(|_, o| !matches!(o.purpose, Purpose::Seal(r) if s.seal.get(&r).is_some_and(|p| p.answered)));
        let sealed: Vec<Id> = s.sealed();
        let mut load: BTreeMap<Id, usize> = BTreeMap::new();
        let mut batches: BTreeMap<Id, Vec<(Vec<Key>, usize)>> = BTreeMap::new();
        let mut unknown: Vec<Key> = Vec::new();
        for (k, n) in &s.newest {
            if n.ts == Ts::ZERO {
                continue;
            }
            let (Some(len), false) = (n.len, n.holders.is_empty()) else {
                unknown.push(k.clone());
                continue;
            };
            let bytes = entry_bytes(k, len as usize);
            let holder = n
                .holders
                .iter()
                .min_by_key(|h| load.get(h).copied().unwrap_or(0))
                .expect("a holder");
            *load.entry(holder).or_default() += bytes;
            let list = batches.entry(holder).or_default();
            match list.last_mut() {
                Some((keys, size)) if *size + bytes <= COPY_PAGE_BYTES => {
                    keys.push(k.clone());
                    *size += bytes;
                }
                _ => list.push((vec![k.clone()], bytes)),
            }
        }
        for (holder, list) in batches {
            for (keys, _) in list {
                s.copy_queue.push_back((holder, keys));
            }
        }
        // The values no one listed go at once (one key each: their answers
        // come as the values arrive); the others within the window.
        for k in unknown {
            let keys = vec![k];
            let msg = self.copy_msg(s.next_req, &s.newest, &keys);
            s.stats.copy_requests += 1;
            let purpose = Purpose::Copy {
                keys,
                listed: false,
            };
            self.send(s, &sealed, msg, purpose, out);
        }
        self.copy_more(s, out);
        if s.missing_values().is_empty() {
            self.start_install(s, out);
        }
    }

    /// Sends queued COPY batches while fewer than [`COPY_WINDOW`] of
    /// them are unanswered.
    fn copy_more(&self, s: &mut ReconfigState, out: &mut Sends) {
        let in_flight = |s: &ReconfigState| {
            s.outstanding
                .values()
                .filter(|o| matches!(o.purpose, Purpose::Copy { listed: true, .. }))
                .count()
        };
        while in_flight(s) < COPY_WINDOW {
            let Some((holder, keys)) = s.copy_queue.pop_front() else {
                break;
            };
            let msg = self.copy_msg(s.next_req, &s.newest, &keys);
            s.stats.copy_requests += 1;
            let purpose = Purpose::Copy { keys, listed: true };
            self.send(s, &[holder], msg, purpose, out);
        }
    }

    /// INSTALL: the copied state in pages of at most [`COPY_PAGE_BYTES`],
    /// to every replica of the new set, [`INSTALL_WINDOW`] pages at a time;
    /// then the last INSTALL, which makes the replica serve the new epoch.
    fn start_install(&self, s: &mut ReconfigState, out: &mut Sends) {
        s.step = Step::Installing;
        s.outstanding
            .retain(|_, o| matches!(o.purpose, Purpose::Seal(_)));
        let mut pages: Vec<Vec<KeyState>> = Vec::new();
        let mut size = 0;
        for (k, n) in &s.newest {
            let val = s.values.get(k).cloned().unwrap_or_else(Value::empty);
            let bytes = entry_bytes(k, val.len());
            match pages.last_mut() {
                Some(p) if size + bytes <= COPY_PAGE_BYTES => {
                    size += bytes;
                    p.push(KeyState {
                        key: k.clone(),
                        ts: n.ts,
                        ots: n.ots,
                        val,
                    });
                }
                _ => {
                    size = bytes;
                    pages.push(vec![KeyState {
                        key: k.clone(),
                        ts: n.ts,
                        ots: n.ots,
                        val,
                    }]);
                }
            }
        }
        s.stats.keys = s.newest.len() as u64;
        s.pages = pages;
        for &r in &self.to.replicas {
            s.install.insert(r, InstallProgress::default());
            self.install_more(s, r, out);
        }
    }

    /// Sends replica `r` its next pages within the window, or the last
    /// INSTALL once every page was acknowledged.
    fn install_more(&self, s: &mut ReconfigState, r: Id, out: &mut Sends) {
        let Some(p) = s.install.get(&r) else { return };
        if p.active || p.refused {
            return;
        }
        let in_flight = s
            .outstanding
            .values()
            .filter(|o| matches!(o.purpose, Purpose::Install(x, _) if x == r))
            .count();
        if p.acked.len() == s.pages.len() {
            if in_flight == 0 {
                let msg = Msg::Install {
                    req: s.next_req,
                    prefix: self.prefix().clone(),
                    epoch: self.to.epoch,
                    entries: Vec::new(),
                    last: true,
                };
                self.send(s, &[r], msg, Purpose::Install(r, None), out);
            }
            return;
        }
        let mut next = p.next_page;
        let mut room = INSTALL_WINDOW.saturating_sub(in_flight);
        while room > 0 && next < s.pages.len() {
            let entries = s.pages[next].clone();
            s.stats.install_pages += 1;
            s.stats.installed_bytes += entries
                .iter()
                .map(|e| (e.key.len() + e.val.len()) as u64)
                .sum::<u64>();
            let msg = Msg::Install {
                req: s.next_req,
                prefix: self.prefix().clone(),
                epoch: self.to.epoch,
                entries,
                last: false,
            };
            self.send(s, &[r], msg, Purpose::Install(r, Some(next)), out);
            next += 1;
            room -= 1;
        }
        if let Some(p) = s.install.get_mut(&r) {
            p.next_page = next;
        }
    }

    /// The retransmission timer: every request not answered yet goes again
    /// (a COPY to every sealed replica: its first one may not have the
    /// value yet, or may be down). Returns whether anything is still
    /// outstanding.
    pub fn on_timeout(&self, s: &mut ReconfigState, out: &mut Sends) -> bool {
        let sealed: IdSet = s.sealed().into_iter().collect();
        for o in s.outstanding.values_mut() {
            if matches!(o.purpose, Purpose::Copy { .. }) {
                o.to = IdSet(o.to.0 | sealed.0);
            }
            for dst in o.to.iter() {
                out.push((dst, o.msg.clone()));
                s.stats.retransmissions += 1;
            }
        }
        !s.outstanding.is_empty()
    }

    /// Whether every replica of the new set serves the new epoch (or
    /// refused), and every old replica acknowledged the seal.
    pub fn all_done(&self, s: &ReconfigState) -> bool {
        s.step == Step::Installed
            && s.install.values().all(|p| p.active || p.refused)
            && s.seal.values().all(|p| p.answered)
    }
}
