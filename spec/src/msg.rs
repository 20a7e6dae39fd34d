//! Every message of the four algorithms, named as in the paper, and its
//! network class: the `*( )` marks of the pseudocode (Algorithms 1 and 3);
//! ABD and Algorithm 2 send everything normally. Then the messages of the
//! directory service (Section 3.1): the epoch a client's request carries,
//! STALE, and the administrator's SEAL, COPY and INSTALL.

use crate::object::Command;
use crate::types::{Class, Epoch, IdSet, Key, ReqId, Ts, Value};
use serde::{Deserialize, Deserializer, Serialize};

/// A protocol message. Requests carry a request id that the reply echoes.
///
/// Fields are named as in the pseudocode: `req` the request id, `key`,
/// `ts` a value timestamp, `ots` an ordering timestamp, `val` a value (⊥ is
/// `None`), `ok` the status bit, `time` a clock reading.
#[allow(missing_docs)]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    // ---- clock role (answered in-process by the runtime) ----
    /// Asks the clock for a new time.
    ClockReq { req: ReqId },
    /// A clock reading.
    ClockResp { req: ReqId, time: u64 },

    // ---- ABD (prior work, Section 3.2): all normal ----
    /// Read phase 1: send me your `(ts, val)`.
    AbdQuery { req: ReqId, key: Key },
    /// Reply to [`Msg::AbdQuery`].
    AbdQueryAck { req: ReqId, ts: Ts, val: Value },
    /// Clock-free write phase 0 (footnote 3): send me your timestamp.
    AbdTsQuery { req: ReqId, key: Key },
    /// Reply to [`Msg::AbdTsQuery`].
    AbdTsQueryAck { req: ReqId, ts: Ts },
    /// Store `(ts, val)` if newer (write, and read write-back).
    AbdStore {
        req: ReqId,
        key: Key,
        ts: Ts,
        val: Value,
    },
    /// Reply to [`Msg::AbdStore`].
    AbdStoreAck { req: ReqId },

    // ---- Algorithm 1 (and the shared W-LOCAL / W-REMOTE of Algorithm 3) ----
    /// `*(R-TS, key)`.
    RTs { req: ReqId, key: Key },
    /// `*(ACK-R-TS, ts[key])`.
    AckRTs { req: ReqId, ts: Ts },
    /// `*(R-DATA, key, ts)`: the value of timestamp `ts` or newer.
    RData { req: ReqId, key: Key, ts: Ts },
    /// `(ACK-R-DATA, ts[key], val[key])`: normal, it carries the value.
    AckRData { req: ReqId, ts: Ts, val: Value },
    /// `*(W-TS, key, ts)`.
    WTs { req: ReqId, key: Key, ts: Ts },
    /// `*(ACK-W-TS)`.
    AckWTs { req: ReqId },
    /// `(W-LOCAL, key, ts, val)` to the local replica set.
    WLocal {
        req: ReqId,
        key: Key,
        ts: Ts,
        val: Value,
    },
    /// `*(ACK-W-LOCAL)`.
    AckWLocal { req: ReqId },
    /// `(W-REMOTE, key, ts, val)`: background propagation from a local replica.
    WRemote {
        req: ReqId,
        key: Key,
        ts: Ts,
        val: Value,
    },
    /// `(ACK-W-REMOTE)`.
    AckWRemote { req: ReqId },

    // ---- Algorithm 2 (prior work, Section 3.3): all normal ----
    /// `(OR, key, ots)`.
    Or { req: ReqId, key: Key, ots: Ts },
    /// `(ACK-OR, true, ts[key], val[key])` or `(ACK-OR, false)` (then `ts`, `val` are unused).
    AckOr {
        req: ReqId,
        ok: bool,
        ts: Ts,
        val: Option<Value>,
    },
    /// `(OW, key, ots, val)`.
    Ow {
        req: ReqId,
        key: Key,
        ots: Ts,
        val: Value,
    },
    /// `(ACK-OW, status)`.
    AckOw { req: ReqId, ok: bool },

    // ---- Algorithm 3 ----
    /// `*(OR-TS, key, ots)`.
    OrTs { req: ReqId, key: Key, ots: Ts },
    /// `*(ACK-OR-TS, status, ts[key])`.
    AckOrTs { req: ReqId, ok: bool, ts: Ts },
    /// `*(OR-DATA, key, ts)`.
    OrData { req: ReqId, key: Key, ts: Ts },
    /// `(ACK-OR-DATA, status, val[key])`: normal, it carries the value.
    AckOrData {
        req: ReqId,
        ok: bool,
        val: Option<Value>,
    },
    /// `*(OW-TS, key, ots)`.
    OwTs { req: ReqId, key: Key, ots: Ts },
    /// `*(ACK-OW-TS, status)`.
    AckOwTs { req: ReqId, ok: bool },

    // ---- Section 3.4.2: executing commands at replicas ----
    /// `*(EXEC, key, ots, mts, command, result)`: apply `command` to the
    /// value of timestamp `mts` and keep the new value for ordering
    /// timestamp `ots`; send the command's result back if `result`.
    /// Prioritized: the command, not the value, travels (the optimization
    /// is for commands smaller than values).
    Exec {
        req: ReqId,
        key: Key,
        ots: Ts,
        mts: Ts,
        command: Command,
        result: bool,
    },
    /// `(ACK-EXEC, status, result)`: prioritized without the result,
    /// normal with it (a result can be as large as a value).
    AckExec {
        req: ReqId,
        ok: bool,
        result: Option<Value>,
    },

    // ---- Section 3.4.2: delegating to a replica ----
    /// `(DELEGATE, key, op, ts)`: coordinate `op` on `key` for me. `ts` is
    /// a write's timestamp or an execute's ordering timestamp, taken by
    /// the client (a read has none), so that the client's fallback, if
    /// the delegate does not answer, uses the same one. A message within
    /// the client's site: prioritized for a read, normal for a write or an
    /// execute (a value, or a command of any size).
    Delegate {
        req: ReqId,
        key: Key,
        op: Op,
        ts: Option<Ts>,
    },
    /// `(ACK-DELEGATE, ret)`: what the operation returned. Normal when it
    /// carries a value (a read's, an execute's result), prioritized
    /// otherwise.
    AckDelegate { req: ReqId, ret: Ret },

    // ---- administration (Section 4.3), in no algorithm ----
    /// Asks a server for the keys, after `after` in key order, whose
    /// replica holds a timestamp without its value (after a site disaster:
    /// the data that was lost). Normal class.
    Audit { req: ReqId, after: Option<Key> },
    /// Reply to [`Msg::Audit`]: the next keys with the timestamp whose value
    /// is missing, in key order; `more` if the list goes on past them.
    AckAudit {
        req: ReqId,
        missing: Vec<(Key, Ts)>,
        more: bool,
    },

    // ---- the directory service (Section 3.1); no model of proofs/ sends them ----
    /// A client's request for a container of the directory service, in
    /// `epoch` of the container's metadata (the epoch of the client's
    /// cached copy). A replica that does not serve that epoch (not
    /// installed in it, or sealed) answers [`Msg::Stale`] instead of
    /// handling `msg`. `replicas` is the epoch's replica set, carried by a
    /// W-LOCAL only (`None` on every other request): a local replica has no
    /// epoch of its own and propagates the value (W-REMOTE) there. Its
    /// class is `msg`'s; a wrapped message is never itself [`Msg::InEpoch`]
    /// (the decoder refuses one, so a datagram cannot nest them deeply).
    InEpoch {
        epoch: Epoch,
        replicas: Option<IdSet>,
        #[serde(deserialize_with = "not_nested")]
        msg: Box<Msg>,
    },
    /// `*(STALE, epoch, sealed)`: the replica does not serve the request's
    /// epoch; `epoch` is the one it is installed in (0: none) and `sealed`
    /// whether that epoch is sealed. The client re-reads the directory if
    /// `epoch` is newer than its own or its own is sealed; a replica that is
    /// behind (installed in an older epoch, or in none) is not counted.
    Stale {
        req: ReqId,
        epoch: Epoch,
        sealed: bool,
    },
    /// `*(SEAL, prefix, epoch, after)` from the administrator: stop serving
    /// `epoch` of container `prefix` (W-REMOTE is still taken), and send
    /// the container's keys after `after`, in key order. Prioritized: it
    /// carries no value.
    Seal {
        req: ReqId,
        prefix: Key,
        epoch: Epoch,
        after: Option<Key>,
    },
    /// `(ACK-SEAL, epoch, sealed, keys, more)`: the epoch the replica is
    /// installed in for the container (0: none) and whether it is sealed
    /// in the epoch asked for *by the sender* (a replica sealed by another
    /// administrator first answers `false`: at most one administrator
    /// gathers a sealed majority); if so, the next page of its keys (at
    /// most [`crate::directory::SEAL_PAGE_BYTES`]), and `more` if the
    /// listing goes on. Normal: a page can be large.
    AckSeal {
        req: ReqId,
        epoch: Epoch,
        sealed: bool,
        keys: Vec<SealedKey>,
        more: bool,
    },
    /// `(COPY, keys)` from the administrator: the values of these keys at
    /// exactly these timestamps, those the replica holds (a value still
    /// propagating is not sent; the administrator asks again).
    CopyValues { req: ReqId, keys: Vec<(Key, Ts)> },
    /// `(ACK-COPY, values)`: the values asked for that the replica holds.
    AckCopyValues {
        req: ReqId,
        values: Vec<(Key, Ts, Value)>,
    },
    /// `(INSTALL, prefix, epoch, entries, last)` from the administrator:
    /// adopt the copied state `entries` (each key's newest timestamps and
    /// value, where newer than the replica's own); with `last`, serve
    /// `epoch` of container `prefix` from now on. Refused when the replica
    /// is installed in a newer epoch, or in `epoch` already sealed.
    Install {
        req: ReqId,
        prefix: Key,
        epoch: Epoch,
        entries: Vec<KeyState>,
        last: bool,
    },
    /// `*(ACK-INSTALL, ok, epoch)`: whether the INSTALL was applied, and
    /// the epoch the replica is installed in afterwards (0: none).
    AckInstall { req: ReqId, ok: bool, epoch: Epoch },
}

/// One key of a sealed replica, in [`Msg::AckSeal`]: its timestamp, its
/// ordering timestamp (RMW algorithms) and the length of its value (`None`:
/// ⊥, the value is still propagating).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SealedKey {
    /// The key.
    pub key: Key,
    /// `ts[key]`.
    pub ts: Ts,
    /// `ots[key]`.
    pub ots: Ts,
    /// Length of `val[key]`, `None` if it is ⊥.
    pub len: Option<u32>,
}

/// One key of the copied state, in [`Msg::Install`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyState {
    /// The key.
    pub key: Key,
    /// The newest timestamp of the sealed majority.
    pub ts: Ts,
    /// The newest ordering timestamp of the sealed majority.
    pub ots: Ts,
    /// The value of `ts`.
    pub val: Value,
}

/// Deserializes the message an [`Msg::InEpoch`] wraps, refusing a wrapped
/// [`Msg::InEpoch`]: without this, a datagram of nested wrappers would make
/// the decoder recurse once per level and could exhaust the stack.
fn not_nested<'de, D: Deserializer<'de>>(d: D) -> Result<Box<Msg>, D::Error> {
    use std::cell::Cell;
    thread_local! {
        static INSIDE: Cell<bool> = const { Cell::new(false) };
    }
    if INSIDE.with(|c| c.replace(true)) {
        // The outer call resets the flag.
        return Err(serde::de::Error::custom("InEpoch inside InEpoch"));
    }
    let r = Msg::deserialize(d);
    INSIDE.with(|c| c.set(false));
    r.map(Box::new)
}

impl Msg {
    /// The message's class, exactly as the pseudocode marks it.
    pub fn class(&self) -> Class {
        use Msg::*;
        match self {
            InEpoch { msg, .. } => msg.class(),
            Stale { .. } | Seal { .. } | AckInstall { .. } => Class::Priority,
            AckSeal { .. } | CopyValues { .. } | AckCopyValues { .. } | Install { .. } => {
                Class::Normal
            }
            RTs { .. }
            | AckRTs { .. }
            | RData { .. }
            | WTs { .. }
            | AckWTs { .. }
            | AckWLocal { .. }
            | OrTs { .. }
            | AckOrTs { .. }
            | OrData { .. }
            | OwTs { .. }
            | AckOwTs { .. }
            | Exec { .. }
            | AckExec { result: None, .. }
            | Delegate { op: Op::Read, .. }
            | AckDelegate {
                ret: Ret::WriteOk | Ret::Aborted,
                ..
            } => Class::Priority,
            ClockReq { .. }
            | ClockResp { .. }
            | AbdQuery { .. }
            | AbdQueryAck { .. }
            | AbdTsQuery { .. }
            | AbdTsQueryAck { .. }
            | AbdStore { .. }
            | AbdStoreAck { .. }
            | AckRData { .. }
            | WLocal { .. }
            | WRemote { .. }
            | AckWRemote { .. }
            | Or { .. }
            | AckOr { .. }
            | Ow { .. }
            | AckOw { .. }
            | AckOrData { .. }
            | AckExec {
                result: Some(_), ..
            }
            | Delegate {
                op: Op::Write(_) | Op::Execute(_),
                ..
            }
            | AckDelegate {
                ret: Ret::ReadOk(_) | Ret::ExecuteOk(_),
                ..
            }
            | Audit { .. }
            | AckAudit { .. } => Class::Normal,
        }
    }

    /// The request id the message carries or echoes.
    pub fn req(&self) -> ReqId {
        use Msg::*;
        match self {
            ClockReq { req }
            | ClockResp { req, .. }
            | AbdQuery { req, .. }
            | AbdQueryAck { req, .. }
            | AbdTsQuery { req, .. }
            | AbdTsQueryAck { req, .. }
            | AbdStore { req, .. }
            | AbdStoreAck { req }
            | RTs { req, .. }
            | AckRTs { req, .. }
            | RData { req, .. }
            | AckRData { req, .. }
            | WTs { req, .. }
            | AckWTs { req }
            | WLocal { req, .. }
            | AckWLocal { req }
            | WRemote { req, .. }
            | AckWRemote { req }
            | Or { req, .. }
            | AckOr { req, .. }
            | Ow { req, .. }
            | AckOw { req, .. }
            | OrTs { req, .. }
            | AckOrTs { req, .. }
            | OrData { req, .. }
            | AckOrData { req, .. }
            | OwTs { req, .. }
            | AckOwTs { req, .. }
            | Exec { req, .. }
            | AckExec { req, .. }
            | Delegate { req, .. }
            | AckDelegate { req, .. }
            | Audit { req, .. }
            | AckAudit { req, .. }
            | Stale { req, .. }
            | Seal { req, .. }
            | AckSeal { req, .. }
            | CopyValues { req, .. }
            | AckCopyValues { req, .. }
            | Install { req, .. }
            | AckInstall { req, .. } => *req,
            InEpoch { msg, .. } => msg.req(),
        }
    }

    /// The paper's name of the message, for traces and counters.
    pub fn name(&self) -> &'static str {
        use Msg::*;
        match self {
            ClockReq { .. } => "CLOCK",
            ClockResp { .. } => "ACK-CLOCK",
            AbdQuery { .. } => "QUERY",
            AbdQueryAck { .. } => "ACK-QUERY",
            AbdTsQuery { .. } => "QUERY-TS",
            AbdTsQueryAck { .. } => "ACK-QUERY-TS",
            AbdStore { .. } => "STORE",
            AbdStoreAck { .. } => "ACK-STORE",
            RTs { .. } => "R-TS",
            AckRTs { .. } => "ACK-R-TS",
            RData { .. } => "R-DATA",
            AckRData { .. } => "ACK-R-DATA",
            WTs { .. } => "W-TS",
            AckWTs { .. } => "ACK-W-TS",
            WLocal { .. } => "W-LOCAL",
            AckWLocal { .. } => "ACK-W-LOCAL",
            WRemote { .. } => "W-REMOTE",
            AckWRemote { .. } => "ACK-W-REMOTE",
            Or { .. } => "OR",
            AckOr { .. } => "ACK-OR",
            Ow { .. } => "OW",
            AckOw { .. } => "ACK-OW",
            OrTs { .. } => "OR-TS",
            AckOrTs { .. } => "ACK-OR-TS",
            OrData { .. } => "OR-DATA",
            AckOrData { .. } => "ACK-OR-DATA",
            OwTs { .. } => "OW-TS",
            AckOwTs { .. } => "ACK-OW-TS",
            Exec { .. } => "EXEC",
            AckExec { .. } => "ACK-EXEC",
            Delegate { .. } => "DELEGATE",
            AckDelegate { .. } => "ACK-DELEGATE",
            Audit { .. } => "AUDIT",
            AckAudit { .. } => "ACK-AUDIT",
            // A request in an epoch is still the request: R-TS, W-TS, ...
            InEpoch { msg, .. } => msg.name(),
            Stale { .. } => "STALE",
            Seal { .. } => "SEAL",
            AckSeal { .. } => "ACK-SEAL",
            CopyValues { .. } => "COPY",
            AckCopyValues { .. } => "ACK-COPY",
            Install { .. } => "INSTALL",
            AckInstall { .. } => "ACK-INSTALL",
        }
    }

    /// The message itself, or the one an [`Msg::InEpoch`] wraps.
    pub fn unwrapped(&self) -> &Msg {
        match self {
            Msg::InEpoch { msg, .. } => msg,
            m => m,
        }
    }

    /// The key of a client's request to a server (every request of the
    /// four algorithms but W-REMOTE, which servers send each other): the
    /// key whose container decides the epoch the request must carry.
    pub fn request_key(&self) -> Option<&Key> {
        use Msg::*;
        match self {
            AbdQuery { key, .. }
            | AbdTsQuery { key, .. }
            | AbdStore { key, .. }
            | RTs { key, .. }
            | RData { key, .. }
            | WTs { key, .. }
            | WLocal { key, .. }
            | Or { key, .. }
            | Ow { key, .. }
            | OrTs { key, .. }
            | OrData { key, .. }
            | OwTs { key, .. }
            | Exec { key, .. }
            | Delegate { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Whether the message is R-DATA or its reply (the data half of a
    /// read's phase 2, which the parallel write-back shares with W-TS).
    pub fn is_read_data(&self) -> bool {
        matches!(self.unwrapped(), Msg::RData { .. } | Msg::AckRData { .. })
    }

    /// Whether the message is a reply (it answers a request of the receiver).
    pub fn is_reply(&self) -> bool {
        use Msg::*;
        matches!(
            self,
            ClockResp { .. }
                | AbdQueryAck { .. }
                | AbdTsQueryAck { .. }
                | AbdStoreAck { .. }
                | AckRTs { .. }
                | AckRData { .. }
                | AckWTs { .. }
                | AckWLocal { .. }
                | AckWRemote { .. }
                | AckOr { .. }
                | AckOw { .. }
                | AckOrTs { .. }
                | AckOrData { .. }
                | AckOwTs { .. }
                | AckExec { .. }
                | AckDelegate { .. }
                | AckAudit { .. }
                | Stale { .. }
                | AckSeal { .. }
                | AckCopyValues { .. }
                | AckInstall { .. }
        )
    }
}

/// An operation a client invokes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Op {
    /// `read()` of a RW object.
    Read,
    /// `write(value)` of a RW object.
    Write(Value),
    /// `execute(command)` of a RMW object.
    Execute(Command),
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ret {
    /// A read's value.
    ReadOk(Value),
    /// A write completed.
    WriteOk,
    /// An execute's result.
    ExecuteOk(Value),
    /// ⊥: the RMW operation aborted; it may or may not have taken effect
    /// (Section 2).
    Aborted,
}
