//! The properties checked on every configuration: the safety property
//! (`linearizable`), a progress property, and `sometimes` properties that
//! show the interesting paths of each algorithm are reached.

use crate::config::{ModelConfig, Network};
use crate::linearizability::HistOp;
use crate::model::{Event, State, VivaceModel};
use stateright::Property;
use vivace_spec::client::Phase;
use vivace_spec::{Algorithm, Id, Msg, NodeState, Op, Ret};

/// Name of the safety property.
pub const LINEARIZABLE: &str = "linearizable";
/// Name of the progress property.
pub const PROGRESS: &str = "progress";
/// Name of a `sometimes` property.
pub const RMW_ABORTS: &str = "an RMW aborts";
/// Name of a `sometimes` property.
pub const RMW_SUCCEEDS: &str = "an RMW returns its result";
/// Name of a `sometimes` property.
pub const READ_SEES_CONCURRENT_WRITE: &str = "a read returns a concurrent write's value";
/// Name of a `sometimes` property.
pub const DATA_LOCAL: &str = "data comes from the local site";
/// Name of a `sometimes` property.
pub const VALUE_ONLY_LOCAL: &str = "completes with its value only at local replicas";
/// Name of a `sometimes` property.
pub const DATA_REMOTE: &str = "data comes from a remote site";
/// Name of a `sometimes` property.
pub const WRITE_BACK_SKIPPED: &str = "a read skips its write-back";
/// Name of a `sometimes` property.
pub const PARALLEL_WRITE_BACK: &str = "a read completes in two phases with a parallel write-back";
/// Name of a `sometimes` property.
pub const DATA_FROM_ONE: &str = "a read takes its data from the one replica it asked";
/// Name of a `sometimes` property.
pub const FELL_BACK: &str = "a read's data phase falls back to every replica";
/// Name of a `sometimes` property.
pub const EXECUTED_AT_REPLICAS: &str = "an execute's command runs at the replicas";
/// Name of a `sometimes` property.
pub const DELEGATED: &str = "an operation completes through its delegate";
/// Name of a `sometimes` property.
pub const TAKEN_OVER: &str = "a client takes its operation over from its delegate";
/// Name of a `sometimes` property (Algorithm 1): W-TS overtook W-REMOTE.
pub const TS_WITHOUT_VALUE: &str = "a replica holds a timestamp without its value";
/// Name of a `sometimes` property (Algorithm 1): an R-DATA is parked.
pub const READ_WAITS: &str = "a read waits for a value";
/// Name of a `sometimes` property (Algorithm 1), witnessed by a step (see
/// [`Event`]): a parked R-DATA answered by the arrival of its value.
pub const WAITING_READ_ANSWERED: &str = "a waiting read is answered when the value arrives";
/// Name of a `sometimes` property (Algorithm 3): OW-TS overtook W-REMOTE.
pub const ORDERING_WRITE_WAITS: &str = "an ordering write waits for its value";
/// Name of a `sometimes` property (Algorithm 3): an OR-DATA is parked.
pub const OR_DATA_WAITS: &str = "an OR-DATA waits for a value";
/// Name of a `sometimes` property (Algorithm 3), witnessed by a step.
pub const WAITING_OR_DATA_ANSWERED: &str = "a waiting OR-DATA is answered when the value arrives";
/// Name of a `sometimes` property (Section 3.4.2): an EXEC is parked.
pub const EXEC_WAITS: &str = "an EXEC waits for the value of mts";
/// Name of a `sometimes` property (Algorithm 1): a later operation of a
/// client finds at a majority the timestamp its read wrote back, and
/// reads no older value.
pub const WRITE_BACK_OBSERVED: &str = "a read follows a read of a write still in progress";
/// Name of a `sometimes` property.
pub const ALL_FINISHED: &str = "every client finished";
/// Name of a `sometimes` property.
pub const ALL_FINISHED_CRASH: &str = "every client finished with a server crashed";
/// Every `sometimes` property name.
pub const SOMETIMES_NAMES: [&str; 23] = [
    TS_WITHOUT_VALUE,
    READ_WAITS,
    WAITING_READ_ANSWERED,
    ORDERING_WRITE_WAITS,
    OR_DATA_WAITS,
    WAITING_OR_DATA_ANSWERED,
    EXEC_WAITS,
    WRITE_BACK_OBSERVED,
    RMW_ABORTS,
    RMW_SUCCEEDS,
    EXECUTED_AT_REPLICAS,
    DELEGATED,
    TAKEN_OVER,
    WRITE_BACK_SKIPPED,
    PARALLEL_WRITE_BACK,
    DATA_FROM_ONE,
    FELL_BACK,
    READ_SEES_CONCURRENT_WRITE,
    DATA_LOCAL,
    VALUE_ONLY_LOCAL,
    DATA_REMOTE,
    ALL_FINISHED,
    ALL_FINISHED_CRASH,
];
/// Name of the durability property.
pub const DURABLE: &str = "durable";

fn linearizable(_: &VivaceModel, s: &State) -> bool {
    !s.history.violated
}

/// When nothing is in flight and no timer would send anything, every client
/// has finished: no operation waits forever (with at most `max_crashes`
/// crashes, a minority, and the losses the network allows).
fn progress(m: &VivaceModel, s: &State) -> bool {
    !m.quiescent(s) || m.all_finished(s)
}

fn ops(s: &State) -> impl Iterator<Item = (usize, usize, &HistOp)> {
    s.history
        .ops
        .iter()
        .enumerate()
        .flat_map(|(c, v)| v.iter().enumerate().map(move |(i, o)| (c, i, o)))
}

/// Operation `(c, i)` completed before operation `(d, j)` was invoked.
fn precedes(s: &State, (c, i): (usize, usize), (d, j): (usize, usize)) -> bool {
    s.history.ops[d][j].after[c] as usize > i
}

/// No value lost (Section 4.3): every timestamp a live replica holds without
/// its value (⊥) has that value at a live node (as `val`, in `remote_buf`,
/// `exec_buf` or `local_buf`) or in flight to one, or is superseded by a newer timestamp
/// at a live replica. Otherwise a read of it would wait forever: the data a
/// site disaster destroys.
fn durable(m: &VivaceModel, s: &State) -> bool {
    let live = |i: usize| !s.crashed.contains(Id::from(i));
    let servers = || {
        s.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| live(*i))
            .filter_map(|(_, n)| match &**n {
                NodeState::Server(x) => Some(x),
                _ => None,
            })
    };
    let replicas = &m.cfg.replicas;
    replicas.iter().filter(|&&r| live(r)).all(|&r| {
        let NodeState::Server(srv) = &*s.nodes[r] else {
            return true;
        };
        srv.objects.iter().all(|(key, o)| {
            if o.val.is_some() {
                return true;
            }
            let t = o.ts;
            let held = servers().any(|x| {
                x.local_buf.contains_key(&(key.clone(), t))
                    || x.objects.get(key).is_some_and(|y| {
                        (y.ts == t && y.val.is_some())
                            || y.remote_buf.contains_key(&t)
                            || y.exec_buf.contains_key(&t)
                    })
            });
            let in_flight = s.net.iter().any(
                |e| matches!(&e.msg, Msg::WLocal { ts, .. } | Msg::WRemote { ts, .. } if *ts == t),
            );
            let superseded = replicas
                .iter()
                .filter(|&&q| live(q))
                .any(|&q| match &*s.nodes[q] {
                    NodeState::Server(y) => y.objects.get(key).is_some_and(|y| y.ts > t),
                    _ => false,
                });
            held || in_flight || superseded
        })
    })
}

/// A read returned the value of a write that was concurrent with it.
fn read_sees_concurrent_write(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(c, i, r)| {
        let Some(Ret::ReadOk(v)) = &r.ret else {
            return false;
        };
        ops(s).any(|(d, j, w)| {
            w.op == Op::Write(v.clone())
                && !precedes(s, (c, i), (d, j))
                && !precedes(s, (d, j), (c, i))
        })
    })
}

/// Some live replica holds a timestamp whose value has not arrived (⊥):
/// W-TS (OW-TS) overtook the W-REMOTE that carries the value.
fn ts_without_value(m: &VivaceModel, s: &State) -> bool {
    m.cfg.replicas.iter().any(|&r| {
        !s.crashed.contains(Id::from(r))
            && matches!(&*s.nodes[r], NodeState::Server(x) if x.objects.values().any(|o| o.val.is_none()))
    })
}

/// Some live replica has parked a request of this kind: R-DATA (`rmw`
/// false), OR-DATA (`rmw` true) or EXEC (`exec`).
fn parked(s: &State, rmw: bool, exec: bool) -> bool {
    s.nodes.iter().enumerate().any(|(i, n)| {
        !s.crashed.contains(Id::from(i))
            && matches!(&**n, NodeState::Server(x) if x.parked.iter().any(|p| p.rmw == rmw && p.exec.is_some() == exec))
    })
}

fn read_waits(_: &VivaceModel, s: &State) -> bool {
    parked(s, false, false)
}

fn or_data_waits(_: &VivaceModel, s: &State) -> bool {
    parked(s, true, false)
}

fn exec_waits(_: &VivaceModel, s: &State) -> bool {
    parked(s, true, true)
}

/// A step answered a parked R-DATA (see [`crate::model::Event`]; `run`
/// also reads the event after the search).
fn waiting_read_answered(m: &VivaceModel, _: &State) -> bool {
    m.witnessed(Event::WaitingReadAnswered)
}

/// A step answered a parked OR-DATA.
fn waiting_or_data_answered(m: &VivaceModel, _: &State) -> bool {
    m.witnessed(Event::WaitingOrDataAnswered)
}

/// Reads `r1` and `r2` (of any clients), `r1` returned before `r2` was
/// invoked, `r1` returned the value of write `w`, and `w` had not returned
/// when `r2` was invoked, and `r2` returned: the case where only `r1`'s
/// write-back keeps `r2` from returning an older value.
fn write_back_observed(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(c, i, r1)| {
        let Some(Ret::ReadOk(v)) = &r1.ret else {
            return false;
        };
        ops(s).any(|(d, j, w)| {
            w.op == Op::Write(v.clone())
                && ops(s).any(|(e, k, r2)| {
                    matches!(r2.ret, Some(Ret::ReadOk(_)))
                        && precedes(s, (c, i), (e, k))
                        && !precedes(s, (d, j), (e, k))
                })
        })
    })
}

/// A read's (or execute's) data came from a server in the client's site.
fn data_from_local_site(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.ret.is_some() && o.data_local)
}

/// A read's (or execute's) data came from a server in another site.
fn data_from_remote_site(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| {
        matches!(o.ret, Some(Ret::ReadOk(_)) | Some(Ret::ExecuteOk(_))) && !o.data_local
    })
}

/// An RMW operation aborted (returned ⊥).
fn rmw_aborts(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.ret == Some(Ret::Aborted))
}

/// An execute returned its command's result: it was not aborted (an
/// ordering timestamp that no replica accepted would abort them all).
fn rmw_succeeds(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| matches!(o.ret, Some(Ret::ExecuteOk(_))))
}

/// A write (execute) completed while its value was at no replica yet, only
/// at local replicas.
fn completes_with_value_only_local(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.value_only_local)
}

/// A read returned without its write-back phase (Section 3.4.1, C1 and C2).
fn write_back_skipped(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.write_back_skipped)
}

/// A read completed in two phases, its write-back in parallel with the
/// data phase (Section 3.4.1, (C1) failed and (C2) held).
fn parallel_write_back(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.parallel_write_back)
}

/// A read's data came from the only replica its data phase asked
/// (reading from fewer replicas, Section 3.4.1).
fn data_from_one(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.ret.is_some() && o.data_from_one)
}

/// A read's data phase widened to every replica after its timer fired.
fn fell_back(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.fell_back)
}

/// An execute completed with its command run at the replicas (Section
/// 3.4.2): EXEC, then OW-TS, no value sent by the client.
fn executed_at_replicas(_: &VivaceModel, s: &State) -> bool {
    ops(s).any(|(_, _, o)| o.executed_at_replicas)
}

/// A delegate answered an operation (Section 3.4.2): an ACK-DELEGATE is
/// in flight to a client that waits for it, so the next step can complete
/// the operation through its delegate. (A state predicate, not a flag in
/// the history: a flag would split every later state in two.)
fn delegated(_: &VivaceModel, s: &State) -> bool {
    s.net.iter().any(|e| {
        matches!(e.msg, Msg::AckDelegate { .. })
            && match &*s.nodes[usize::from(e.dst)] {
                NodeState::Client(c) => c.current.as_ref().is_some_and(|cur| {
                    matches!(cur.phase, Phase::Delegated { .. }) && cur.req == e.msg.req()
                }),
                _ => false,
            }
    })
}

/// A client coordinates an operation it had delegated: its timer fired
/// before the delegate answered.
fn taken_over(_: &VivaceModel, s: &State) -> bool {
    s.nodes.iter().any(|n| match &**n {
        NodeState::Client(c) => c.current.as_ref().is_some_and(|cur| cur.taken_over),
        _ => false,
    })
}

fn all_finished(m: &VivaceModel, s: &State) -> bool {
    m.all_finished(s)
}

fn all_finished_with_crash(m: &VivaceModel, s: &State) -> bool {
    !s.crashed.is_empty() && m.all_finished(s)
}

/// The properties of a configuration.
pub fn for_config(cfg: &ModelConfig) -> Vec<Property<VivaceModel>> {
    let mut p = vec![Property::always(LINEARIZABLE, linearizable)];
    let vivace = matches!(cfg.algorithm, Algorithm::VivaceRw | Algorithm::VivaceRmw);
    // `takeover-*` (a local set of one that may crash) check safety only:
    // see `ModelConfig::takeover`.
    let takeover = cfg.name.starts_with("takeover-");
    if vivace && !takeover {
        p.push(Property::always(DURABLE, durable));
    }
    // On a lossy network a waiting client retransmits forever, so "nothing
    // in flight" never comes; progress is checked on reliable networks.
    if cfg.network == Network::Unordered && !takeover {
        p.push(Property::always(PROGRESS, progress));
    }
    // What the workload can show: a read needs a reader; an OR-DATA waits
    // only for the value of an earlier execute.
    let ops = cfg.clients.iter().flat_map(|c| &c.ops);
    let reads = ops.clone().filter(|o| **o == Op::Read).count();
    let executes = ops.filter(|o| matches!(o, Op::Execute(_))).count();
    if cfg.algorithm.is_rmw() {
        p.push(Property::sometimes(RMW_ABORTS, rmw_aborts));
        p.push(Property::sometimes(RMW_SUCCEEDS, rmw_succeeds));
    } else if reads > 0 {
        p.push(Property::sometimes(
            READ_SEES_CONCURRENT_WRITE,
            read_sees_concurrent_write,
        ));
    }
    // Executing commands at replicas moves no data to the client, and
    // writes no value to the local replicas, except on its fallback.
    let exec = cfg.algorithm == Algorithm::VivaceRmw && cfg.options.execute_at_replicas;
    if exec {
        p.push(Property::sometimes(
            EXECUTED_AT_REPLICAS,
            executed_at_replicas,
        ));
    }
    // Delegating to a replica (Section 3.4.2): the operations complete at
    // their delegate, and a client can take one over. Where a delegate's
    // data came from is not recorded (the flags below are the client's
    // own phases).
    let delegation = cfg.algorithm.uses_local_set() && cfg.options.delegation;
    if delegation {
        p.push(Property::sometimes(DELEGATED, delegated));
        p.push(Property::sometimes(TAKEN_OVER, taken_over));
    }
    if cfg.algorithm == Algorithm::VivaceRw {
        p.push(Property::sometimes(TS_WITHOUT_VALUE, ts_without_value));
        if reads > 0 {
            p.push(Property::sometimes(READ_WAITS, read_waits));
            p.push(Property::sometimes(
                WAITING_READ_ANSWERED,
                waiting_read_answered,
            ));
        }
    }
    if cfg.algorithm == Algorithm::VivaceRmw {
        p.push(Property::sometimes(ORDERING_WRITE_WAITS, ts_without_value));
        if exec {
            p.push(Property::sometimes(EXEC_WAITS, exec_waits));
        } else if executes > 1 {
            p.push(Property::sometimes(OR_DATA_WAITS, or_data_waits));
            p.push(Property::sometimes(
                WAITING_OR_DATA_ANSWERED,
                waiting_or_data_answered,
            ));
        }
    }
    // A client that reads twice: its second read can follow its first while
    // a write the first one returned is still in progress.
    let reads_twice = cfg
        .clients
        .iter()
        .any(|c| c.ops.iter().filter(|o| **o == Op::Read).count() > 1);
    if !cfg.algorithm.is_rmw() && reads_twice {
        p.push(Property::sometimes(
            WRITE_BACK_OBSERVED,
            write_back_observed,
        ));
    }
    if vivace && !exec {
        if !delegation && (reads > 0 || cfg.algorithm.is_rmw()) {
            p.push(Property::sometimes(DATA_LOCAL, data_from_local_site));
        }
        // Reachable only if some local replica is not a replica (a replica
        // in the local set stores the value as it acknowledges W-LOCAL).
        // Not looked for with delegation: the write path is the same, and
        // the search for it without the reduction is out of reach there.
        if !delegation
            && cfg
                .local_sets
                .iter()
                .any(|(_, l)| l.iter().any(|i| !cfg.replicas.contains(i)))
        {
            p.push(Property::sometimes(
                VALUE_ONLY_LOCAL,
                completes_with_value_only_local,
            ));
        }
        if !delegation && cfg.clients.iter().any(|c| c.site != cfg.clients[0].site) {
            p.push(Property::sometimes(DATA_REMOTE, data_from_remote_site));
        }
    }
    if cfg.options.writeback_skip && !cfg.algorithm.is_rmw() {
        p.push(Property::sometimes(WRITE_BACK_SKIPPED, write_back_skipped));
    }
    if cfg.algorithm == Algorithm::VivaceRw && cfg.options.parallel_writeback {
        p.push(Property::sometimes(
            PARALLEL_WRITE_BACK,
            parallel_write_back,
        ));
    }
    if cfg.algorithm == Algorithm::VivaceRw && cfg.options.fewer_replicas {
        p.push(Property::sometimes(DATA_FROM_ONE, data_from_one));
        // The fallback fires when the one replica asked does not answer:
        // it crashed, the request or its reply was lost, or (without
        // faults) the replica waits for the value. The last needs a
        // propagation slower than the read, which the partial-order
        // reduction never schedules (it delivers propagation first), and
        // the search without it that `run::check` then starts for an
        // unreached property is out of reach in `base`; `small` (one local
        // replica) reaches it anyway, so it is checked there and wherever
        // faults can cause it.
        if cfg.max_crashes > 0
            || cfg.network != Network::Unordered
            || cfg.local_sets.iter().all(|(_, l)| l.len() == 1)
        {
            p.push(Property::sometimes(FELL_BACK, fell_back));
        }
    }
    p.push(Property::sometimes(ALL_FINISHED, all_finished));
    if cfg.max_crashes > 0 {
        p.push(Property::sometimes(
            ALL_FINISHED_CRASH,
            all_finished_with_crash,
        ));
    }
    p
}
