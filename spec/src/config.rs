//! Static configuration of a deployment (Section 3.1): which algorithm an
//! object uses, its replica set and the local replica set of each site; the
//! switches of the optimizations; and, for the proofs only, deliberate bugs.

use crate::types::{Epoch, Id, Key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The four algorithms of the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ABD, prior work: RW objects, all messages normal.
    Abd,
    /// Algorithm 1: Vivace's RW objects.
    VivaceRw,
    /// Algorithm 2, prior work: RMW objects in a LAN, all messages normal.
    LanRmw,
    /// Algorithm 3: Vivace's RMW objects.
    VivaceRmw,
}

impl Algorithm {
    /// Every algorithm, in the paper's order.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Abd,
        Algorithm::VivaceRw,
        Algorithm::LanRmw,
        Algorithm::VivaceRmw,
    ];
    /// The name used in code, configs and JSON: `abd`, `vivace_rw`, `lan_rmw`, `vivace_rmw`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Abd => "abd",
            Algorithm::VivaceRw => "vivace_rw",
            Algorithm::LanRmw => "lan_rmw",
            Algorithm::VivaceRmw => "vivace_rmw",
        }
    }
    /// Parses [`Algorithm::name`].
    pub fn from_name(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == s)
    }
    /// True for the RMW algorithms (objects with `execute`).
    pub fn is_rmw(self) -> bool {
        matches!(self, Algorithm::LanRmw | Algorithm::VivaceRmw)
    }
    /// True for the algorithms that use a local replica set.
    pub fn uses_local_set(self) -> bool {
        matches!(self, Algorithm::VivaceRw | Algorithm::VivaceRmw)
    }
}

/// A site (data center).
pub type Site = u8;

/// How a writer obtains a new timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TimestampMode {
    /// From the synchronized clock (the clock role), as the paper assumes.
    Clock,
    /// ABD's original clock-free write (footnote 3): ask a majority for their
    /// timestamps first and take `(max.time + 1, me)`. ABD and Algorithm 1
    /// (whose writes ask with the prioritized R-TS); Algorithms 2 and 3
    /// still read the clock for their ordering timestamps.
    QueryMajority,
}

/// Metadata of a container: every key with the prefix shares it (Section 3.1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Container {
    /// Key prefix that selects the container.
    pub prefix: Key,
    /// Algorithm of the container's objects.
    pub algorithm: Algorithm,
    /// The replica set `nodes[key]`.
    pub replicas: Vec<Id>,
    /// The local replica set of each site, `local_nodes[key, site]`.
    pub local_sets: Vec<(Site, Vec<Id>)>,
    /// The epoch of this metadata (Section 3.1, the directory service):
    /// `0` when the metadata is fixed (as for every container of a
    /// configuration without a directory, and for the directory's own
    /// container); from 1 on, the metadata lives in the directory object
    /// [`crate::directory::metadata_key`] and every request for the
    /// container carries its epoch ([`crate::Msg::InEpoch`]).
    pub epoch: Epoch,
}

impl Container {
    /// `local_nodes[key, site]` (empty if the site has none).
    pub fn local_set(&self, site: Site) -> &[Id] {
        self.local_sets
            .iter()
            .find(|(s, _)| *s == site)
            .map(|(_, ids)| ids.as_slice())
            .unwrap_or(&[])
    }
}

/// All containers known from the configuration. Without a directory
/// service this is all the metadata there is; with one (Section 3.1), it
/// holds the directory's own container (epoch 0, fixed) and each other
/// container's initial metadata (epoch 1), of which clients use only the
/// prefix (the container id) and read the metadata itself from the
/// directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Directory {
    /// Containers; the longest matching prefix wins.
    pub containers: Vec<Container>,
}

impl Directory {
    /// A directory with one container holding every key.
    pub fn single(
        algorithm: Algorithm,
        replicas: Vec<Id>,
        local_sets: Vec<(Site, Vec<Id>)>,
    ) -> Directory {
        Directory {
            containers: vec![Container {
                prefix: Key::empty(),
                algorithm,
                replicas,
                local_sets,
                epoch: 0,
            }],
        }
    }
    /// The container of `key`, if any.
    pub fn lookup(&self, key: &Key) -> Option<&Container> {
        self.containers
            .iter()
            .filter(|c| key.as_slice().starts_with(c.prefix.as_slice()))
            .max_by_key(|c| c.prefix.len())
    }
}

/// Optimization switches (Section 3.4) and behaviour options. Everything off
/// is the pseudocode exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Options {
    /// Retransmit unanswered requests on a timer (needed on a lossy network).
    pub retransmit: bool,
    /// Section 3.4.1: skip the read's write-back when (C1) every phase-one
    /// reply carried `mts` and (C2) the data's timestamp is `mts`.
    pub writeback_skip: bool,
    /// Section 3.4.1: when (C1) fails, write `mts` back (W-TS) in parallel
    /// with the R-DATA phase; the read then completes in two phases when
    /// (C2) holds, and writes back the data's newer timestamp when not.
    pub parallel_writeback: bool,
    /// Section 3.4.1: send R-DATA to one replica that reported `mts` (one
    /// in the client's site if any, else the first in the container's
    /// replica order: the policy is orthogonal to the algorithm), and to
    /// every replica when the retransmission timer fires first (the
    /// fallback; the timer is armed for it even without `retransmit`).
    pub fewer_replicas: bool,
    /// Section 3.4.2: Algorithm 3's execute sends the command, not the
    /// value: after OR-TS, EXEC carries the command and `mts` to every
    /// replica, which applies it to the value of exactly `mts` (waiting for
    /// it, or rejecting on a newer timestamp) and keeps the new value in
    /// `exec_buf` until OW-TS adopts it. The replicas in the client's site
    /// (else the first replica) send the command's result back. When the
    /// timer fires first, the execute falls back to Algorithm 3's OR-DATA
    /// (the timer is armed for it even without `retransmit`).
    pub execute_at_replicas: bool,
    /// Section 3.4.2, delegating to a replica (Algorithms 1 and 3): the
    /// client sends the whole operation in one DELEGATE to its *delegate*,
    /// a server of its own site (a replica there, else the first of the
    /// site's local set), which coordinates it and answers with
    /// ACK-DELEGATE. A write's or execute's timestamp is still taken by
    /// the client and travels in DELEGATE, so that the client's fallback
    /// can use the same one: when the timer fires first (the delegate
    /// crashed, or is slow), the client coordinates the operation itself
    /// (the timer is armed for it even without `retransmit`).
    pub delegation: bool,
}

/// A deliberate bug, for the proofs' mutants: each drops a step the paper
/// says is needed. The runtime refuses every value but [`Mutation::None`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Mutation {
    /// The algorithm as written.
    #[default]
    None,
    /// Algorithm 1/3 write: send W-TS (OW-TS) after the first ACK-W-LOCAL
    /// instead of after a local majority.
    WTsBeforeLocalMajority,
    /// R-DATA answers at once with whatever it has, even a timestamp lower
    /// than requested (no wait).
    RDataLowerTs,
    /// W-TS adopts the new timestamp but keeps the old value instead of ⊥.
    WTsKeepsOldValue,
    /// R-DATA at a replica that holds the timestamp asked for without its
    /// value answers with ⊥ as the empty value, as ABD's query does,
    /// instead of waiting for the value.
    RDataServesBottom,
    /// A read never writes back (ABD and Algorithm 1).
    ReadSkipsWriteBack,
    /// Section 3.4.1 write-back skipping on (C1) alone, without (C2).
    SkipWriteBackC1Only,
    /// OR-TS accepts an ordering timestamp equal to the stored one (`>=`
    /// instead of `>`).
    OrTsAcceptsEqual,
    /// W-REMOTE stores its value even when its timestamp is lower than the
    /// replica's current one.
    WRemoteStoresLower,
    /// A read writes back its phase-one `mts` instead of the timestamp of the
    /// data it returns.
    WriteBackPhase1Ts,
    /// Parallel write-back (Section 3.4.1) completing on a data reply of a
    /// newer timestamp than the `mts` it wrote back: (C2) not checked.
    ParallelWriteBackIgnoresC2,
    /// Parallel write-back completing on the data reply without waiting
    /// for a majority to acknowledge the W-TS of `mts`.
    ParallelWriteBackNoWait,
    /// Reading from fewer replicas without the fallback: the R-DATA phase
    /// never widens to every replica when its one replica does not answer.
    FewerReplicasNoFallback,
    /// Algorithm 3's OR-DATA exactly as the paper writes it: it waits until
    /// `ts[key] ≥ ts`, and is not answered from `remote_buf` (see
    /// `Server::serve_parked`).
    OrDataWaitsForTs,
    /// Executing commands at replicas (Section 3.4.2), a replica applying
    /// the command to whatever value it holds instead of the value of
    /// exactly `mts` (no wait for it, no reject of a newer one).
    ExecAppliesToOtherTs,
    /// Executing commands at replicas without the fallback: an execute
    /// whose EXEC phase cannot complete (its result's replica crashed, or
    /// a majority waits for a value no one will send) waits for ever.
    ExecNoFallback,
    /// Delegating to a replica without the fallback: a client whose
    /// delegate crashed waits for ever.
    DelegationNoFallback,
    /// Delegating to a replica with a fallback that takes a new timestamp
    /// (a new ordering timestamp for an execute) instead of the one the
    /// client gave its delegate: the operation can then take effect twice,
    /// once by the delegate and once by the client.
    DelegationFallbackNewTimestamp,
}

/// What every actor of a deployment knows: the directory, the sites of the
/// nodes, the options and the mutation. Shared by reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deployment {
    /// Container metadata.
    pub directory: Directory,
    /// Site of each node, indexed by id.
    pub sites: Vec<Site>,
    /// Id of the node that plays the clock role for clients.
    pub clock: Id,
    /// How writers get timestamps.
    pub timestamps: TimestampMode,
    /// Optimizations and retransmission.
    pub options: Options,
    /// Deliberate bug ([`Mutation::None`] outside the proofs).
    pub mutation: Mutation,
}

/// Shared deployment.
pub type Shared = Arc<Deployment>;

impl Deployment {
    /// Site of node `id`.
    pub fn site(&self, id: Id) -> Site {
        self.sites[usize::from(id)]
    }

    /// The delegate of a client in `site` for `key` (Section 3.4.2): the
    /// first replica of the key's container in that site, else the first
    /// of the site's local set; `None` where delegation is off, the
    /// container's algorithm is a prior one (ABD and Algorithm 2 are never
    /// delegated: they are the baselines), or the site has no server of
    /// the container.
    pub fn delegate_of(&self, key: &Key, site: Site) -> Option<Id> {
        if !self.options.delegation {
            return None;
        }
        let c = self.directory.lookup(key)?;
        if !c.algorithm.uses_local_set() {
            return None;
        }
        c.replicas
            .iter()
            .copied()
            .find(|&r| self.site(r) == site)
            .or_else(|| c.local_set(site).first().copied())
    }
}
