//! Scenario tests of single handlers, each citing the part of the paper it
//! checks. They drive the sans-IO code directly: a state, a message, the
//! messages that come out.

use std::sync::Arc;
use vivace_spec::client::{Client, ClientState};
use vivace_spec::replica::{Server, ServerState};
use vivace_spec::{
    Algorithm, Bytes, Class, Deployment, Directory, Id, Msg, Mutation, Op, Options, Ret,
    TimestampMode, Ts,
};

// Figure 5: replicas 0 (site 0), 1, 2 (site 1); local set 0, 3, 4 in site 0;
// client 5 in site 0; clock 6.
fn deployment(algorithm: Algorithm, options: Options, mutation: Mutation) -> Arc<Deployment> {
    let ids = |v: &[usize]| v.iter().map(|&i| Id::from(i)).collect::<Vec<_>>();
    Arc::new(Deployment {
        directory: Directory::single(algorithm, ids(&[0, 1, 2]), vec![(0, ids(&[0, 3, 4]))]),
        sites: vec![0, 1, 1, 0, 0, 0, 0],
        clock: Id::from(6),
        timestamps: TimestampMode::Clock,
        options,
        mutation,
    })
}

fn server(algorithm: Algorithm) -> Server {
    Server {
        deployment: deployment(algorithm, Options::default(), Mutation::None),
    }
}

fn key() -> Bytes {
    Bytes::from("k")
}
fn ts(t: u64) -> Ts {
    Ts { time: t, node: 5 }
}
const C: usize = 5;

fn deliver(s: &Server, st: &mut ServerState, from: usize, msg: Msg) -> Vec<(Id, Msg)> {
    let mut out = Vec::new();
    s.on_msg(st, Id::from(from), msg, &mut out);
    out
}

/// Section 3.2 / Algorithm 1, W-REMOTE then W-TS: a value that arrives
/// ahead of its timestamp waits in `remote_buf`, and W-TS adopts it.
#[test]
fn w_remote_before_w_ts_is_buffered_then_adopted() {
    let s = server(Algorithm::VivaceRw);
    let mut st = ServerState::default();
    let out = deliver(
        &s,
        &mut st,
        3,
        Msg::WRemote {
            req: 0,
            key: key(),
            ts: ts(1),
            val: Bytes::from("v"),
        },
    );
    assert_eq!(out, vec![(Id::from(3), Msg::AckWRemote { req: 0 })]);
    let o = &st.objects[&key()];
    assert_eq!(
        (o.ts, o.remote_buf.len()),
        (Ts::ZERO, 1),
        "buffered, not adopted"
    );
    deliver(
        &s,
        &mut st,
        C,
        Msg::WTs {
            req: 1,
            key: key(),
            ts: ts(1),
        },
    );
    let o = &st.objects[&key()];
    assert_eq!((o.ts, o.val.clone()), (ts(1), Some(Bytes::from("v"))));
    assert!(o.remote_buf.is_empty(), "remote_buf[x] deleted for x <= ts");
}

/// Algorithm 1, W-TS without its value: val becomes ⊥, and a parked R-DATA
/// ("wait until ts[key] >= ts and val[key] != ⊥") is answered only when the
/// value arrives by W-REMOTE.
#[test]
fn r_data_waits_for_the_value_of_its_timestamp() {
    let s = server(Algorithm::VivaceRw);
    let mut st = ServerState::default();
    deliver(
        &s,
        &mut st,
        C,
        Msg::WTs {
            req: 1,
            key: key(),
            ts: ts(2),
        },
    );
    assert_eq!(st.objects[&key()].val, None, "⊥ until the value arrives");
    let out = deliver(
        &s,
        &mut st,
        C,
        Msg::RData {
            req: 7,
            key: key(),
            ts: ts(2),
        },
    );
    assert!(out.is_empty(), "R-DATA parks");
    let out = deliver(
        &s,
        &mut st,
        3,
        Msg::WRemote {
            req: 0,
            key: key(),
            ts: ts(2),
            val: Bytes::from("v"),
        },
    );
    assert!(out.contains(&(
        Id::from(C),
        Msg::AckRData {
            req: 7,
            ts: ts(2),
            val: Bytes::from("v")
        }
    )));
    assert!(st.parked.is_empty());
}

/// Algorithm 1: W-TS with an older timestamp changes nothing but is acked.
#[test]
fn w_ts_older_is_acknowledged_and_ignored() {
    let s = server(Algorithm::VivaceRw);
    let mut st = ServerState::default();
    deliver(
        &s,
        &mut st,
        C,
        Msg::WTs {
            req: 1,
            key: key(),
            ts: ts(5),
        },
    );
    let out = deliver(
        &s,
        &mut st,
        C,
        Msg::WTs {
            req: 2,
            key: key(),
            ts: ts(3),
        },
    );
    assert_eq!(out, vec![(Id::from(C), Msg::AckWTs { req: 2 })]);
    assert_eq!(st.objects[&key()].ts, ts(5));
}

/// Algorithm 1, W-LOCAL: ACK-W-LOCAL at once (prioritized), W-REMOTE to
/// every replica, and `local_buf` deleted once a majority acknowledged.
#[test]
fn w_local_propagates_and_prunes_local_buf_after_a_majority() {
    let s = server(Algorithm::VivaceRw);
    let mut st = ServerState::default();
    let out = deliver(
        &s,
        &mut st,
        C,
        Msg::WLocal {
            req: 4,
            key: key(),
            ts: ts(1),
            val: Bytes::from("v"),
        },
    );
    let remote: Vec<_> = out
        .iter()
        .filter(|(_, m)| matches!(m, Msg::WRemote { .. }))
        .map(|(d, _)| usize::from(*d))
        .collect();
    assert_eq!(remote, vec![0, 1, 2]);
    assert!(out.contains(&(Id::from(C), Msg::AckWLocal { req: 4 })));
    assert_eq!(Msg::AckWLocal { req: 4 }.class(), Class::Priority);
    assert_eq!(st.local_buf.len(), 1);
    let req = st.local_buf.values().next().unwrap().req;
    deliver(&s, &mut st, 1, Msg::AckWRemote { req });
    assert_eq!(st.local_buf.len(), 1, "one ack of three is not a majority");
    deliver(&s, &mut st, 1, Msg::AckWRemote { req });
    assert_eq!(st.local_buf.len(), 1, "a duplicate ack counts once");
    deliver(&s, &mut st, 2, Msg::AckWRemote { req });
    assert!(st.local_buf.is_empty(), "deleted after a majority");
}

/// Algorithm 3, OR-TS: `if ots > ots[key]`; an equal ordering timestamp is
/// refused (strict), OW-TS accepts `ots >= ots[key]`.
#[test]
fn or_ts_is_strict_and_ow_ts_is_not() {
    let s = server(Algorithm::VivaceRmw);
    let mut st = ServerState::default();
    let or_ts = |req, t| Msg::OrTs {
        req,
        key: key(),
        ots: ts(t),
    };
    let ow_ts = |req, t| Msg::OwTs {
        req,
        key: key(),
        ots: ts(t),
    };
    // (request, the reply it gets), in order, on one replica
    let rows = [
        (
            or_ts(1, 4),
            Msg::AckOrTs {
                req: 1,
                ok: true,
                ts: Ts::ZERO,
            },
        ),
        (
            or_ts(2, 4),
            Msg::AckOrTs {
                req: 2,
                ok: false,
                ts: Ts::ZERO,
            },
        ),
        (ow_ts(3, 4), Msg::AckOwTs { req: 3, ok: true }),
        (ow_ts(4, 3), Msg::AckOwTs { req: 4, ok: false }),
    ];
    for (request, reply) in rows {
        assert_eq!(
            deliver(&s, &mut st, C, request.clone()),
            vec![(Id::from(C), reply)],
            "{request:?}"
        );
    }
}

/// Algorithm 3, OR-DATA: the data of exactly `ts`, else status false.
#[test]
fn or_data_answers_false_when_the_value_moved_on() {
    let s = server(Algorithm::VivaceRmw);
    let mut st = ServerState::default();
    deliver(
        &s,
        &mut st,
        3,
        Msg::WRemote {
            req: 0,
            key: key(),
            ts: ts(2),
            val: Bytes::from("v2"),
        },
    );
    deliver(
        &s,
        &mut st,
        C,
        Msg::OwTs {
            req: 1,
            key: key(),
            ots: ts(2),
        },
    );
    let out = deliver(
        &s,
        &mut st,
        C,
        Msg::OrData {
            req: 2,
            key: key(),
            ts: ts(1),
        },
    );
    assert_eq!(
        out,
        vec![(
            Id::from(C),
            Msg::AckOrData {
                req: 2,
                ok: false,
                val: None
            }
        )]
    );
    let out = deliver(
        &s,
        &mut st,
        C,
        Msg::OrData {
            req: 3,
            key: key(),
            ts: ts(2),
        },
    );
    assert_eq!(
        out,
        vec![(
            Id::from(C),
            Msg::AckOrData {
                req: 3,
                ok: true,
                val: Some(Bytes::from("v2"))
            }
        )]
    );
}

/// Algorithm 3 as adapted here (see `Server::serve_parked`): an OR-DATA for
/// a timestamp the replica has not adopted is answered from `remote_buf`
/// when the value of exactly that timestamp arrives; the paper's version
/// (mutation `OrDataWaitsForTs`) keeps waiting for `ts[key] ≥ ts`.
#[test]
fn or_data_is_answered_from_remote_buf() {
    for (mutation, answered) in [(Mutation::None, true), (Mutation::OrDataWaitsForTs, false)] {
        let s = Server {
            deployment: deployment(Algorithm::VivaceRmw, Options::default(), mutation),
        };
        let mut st = ServerState::default();
        let ask = Msg::OrData {
            req: 1,
            key: key(),
            ts: ts(2),
        };
        assert!(
            deliver(&s, &mut st, C, ask).is_empty(),
            "parked: nothing buffered yet"
        );
        let put = Msg::WRemote {
            req: 0,
            key: key(),
            ts: ts(2),
            val: Bytes::from("v2"),
        };
        let out = deliver(&s, &mut st, 3, put);
        let reply = (
            Id::from(C),
            Msg::AckOrData {
                req: 1,
                ok: true,
                val: Some(Bytes::from("v2")),
            },
        );
        assert_eq!(out.contains(&reply), answered, "{mutation:?}: {out:?}");
        assert_eq!(
            st.objects[&key()].ts,
            Ts::ZERO,
            "the timestamp is not adopted"
        );
    }
}

/// Section 4.2: ABD and Algorithm 2 send everything normally; in
/// Algorithms 1 and 3 only messages that carry a value are normal.
#[test]
fn message_classes_follow_the_pseudocode_marks() {
    let k = key();
    let v = Bytes::from("v");
    let t = ts(1);
    let rows = [
        (
            Msg::AbdQuery {
                req: 0,
                key: k.clone(),
            },
            Class::Normal,
        ),
        (
            Msg::AbdStore {
                req: 0,
                key: k.clone(),
                ts: t,
                val: v.clone(),
            },
            Class::Normal,
        ),
        (
            Msg::Or {
                req: 0,
                key: k.clone(),
                ots: t,
            },
            Class::Normal,
        ),
        (
            Msg::Ow {
                req: 0,
                key: k.clone(),
                ots: t,
                val: v.clone(),
            },
            Class::Normal,
        ),
        (
            Msg::RTs {
                req: 0,
                key: k.clone(),
            },
            Class::Priority,
        ),
        (Msg::AckRTs { req: 0, ts: t }, Class::Priority),
        (
            Msg::RData {
                req: 0,
                key: k.clone(),
                ts: t,
            },
            Class::Priority,
        ),
        (
            Msg::AckRData {
                req: 0,
                ts: t,
                val: v.clone(),
            },
            Class::Normal,
        ),
        (
            Msg::WTs {
                req: 0,
                key: k.clone(),
                ts: t,
            },
            Class::Priority,
        ),
        (Msg::AckWTs { req: 0 }, Class::Priority),
        (
            Msg::WLocal {
                req: 0,
                key: k.clone(),
                ts: t,
                val: v.clone(),
            },
            Class::Normal,
        ),
        (Msg::AckWLocal { req: 0 }, Class::Priority),
        (
            Msg::WRemote {
                req: 0,
                key: k.clone(),
                ts: t,
                val: v.clone(),
            },
            Class::Normal,
        ),
        (Msg::AckWRemote { req: 0 }, Class::Normal),
        (
            Msg::OrTs {
                req: 0,
                key: k.clone(),
                ots: t,
            },
            Class::Priority,
        ),
        (
            Msg::AckOrTs {
                req: 0,
                ok: true,
                ts: t,
            },
            Class::Priority,
        ),
        (
            Msg::OrData {
                req: 0,
                key: k.clone(),
                ts: t,
            },
            Class::Priority,
        ),
        (
            Msg::AckOrData {
                req: 0,
                ok: true,
                val: Some(v.clone()),
            },
            Class::Normal,
        ),
        (
            Msg::OwTs {
                req: 0,
                key: k.clone(),
                ots: t,
            },
            Class::Priority,
        ),
        (Msg::AckOwTs { req: 0, ok: true }, Class::Priority),
        // Section 3.4.2, within the client's site: small ones prioritized.
        (
            Msg::Delegate {
                req: 0,
                key: k.clone(),
                op: Op::Read,
                ts: None,
            },
            Class::Priority,
        ),
        (
            Msg::Delegate {
                req: 0,
                key: k.clone(),
                op: Op::Write(v.clone()),
                ts: Some(t),
            },
            Class::Normal,
        ),
        (
            Msg::AckDelegate {
                req: 0,
                ret: Ret::WriteOk,
            },
            Class::Priority,
        ),
        (
            Msg::AckDelegate {
                req: 0,
                ret: Ret::ReadOk(v.clone()),
            },
            Class::Normal,
        ),
    ];
    for (m, class) in rows {
        assert_eq!(m.class(), class, "{}", m.name());
    }
}

/// Section 3.4.1: with write-back skipping on, a read skips phase three only
/// when (C1) every phase-one reply carried mts and (C2) the data has mts.
#[test]
fn write_back_is_skipped_only_on_c1_and_c2() {
    for (replies, data_ts, skips) in [
        ([ts(1), ts(1)], ts(1), true),     // C1 and C2
        ([ts(1), ts(1)], ts(2), false),    // C1 without C2: newer data
        ([ts(1), Ts::ZERO], ts(1), false), // C2 without C1
    ] {
        let skip = Options {
            writeback_skip: true,
            ..Options::default()
        };
        let (client, mut st, _) = read_after_phase_one(skip, replies);
        let req = st.current.as_ref().unwrap().req;
        let mut out = Vec::new();
        client.on_msg(
            &mut st,
            Id::from(0),
            Msg::AckRData {
                req,
                ts: data_ts,
                val: Bytes::from("v"),
            },
            &mut out,
        );
        assert_eq!(
            st.done == vec![Ret::ReadOk(Bytes::from("v"))],
            skips,
            "replies {replies:?} data {data_ts:?}"
        );
        if !skips {
            assert!(
                out.iter().all(|(_, m)| *m
                    == Msg::WTs {
                        req: req + 1,
                        key: key(),
                        ts: data_ts
                    }),
                "writes back the data's ts"
            );
        }
    }
}

/// A read client with `options`, after phase one got `replies` (from
/// replicas 1 and 2, site 1): its state and what it sent for phase two.
fn read_after_phase_one(
    options: Options,
    replies: [Ts; 2],
) -> (Client, ClientState, Vec<(Id, Msg)>) {
    let dep = deployment(Algorithm::VivaceRw, options, Mutation::None);
    let client = Client::new(dep, Id::from(C), vec![(key(), Op::Read)]);
    let mut out = Vec::new();
    let mut st: ClientState = client.on_start(&mut out);
    let req = st.current.as_ref().unwrap().req;
    for (r, t) in [1usize, 2].iter().zip(replies) {
        client.on_msg(&mut st, Id::from(*r), Msg::AckRTs { req, ts: t }, &mut out);
    }
    let phase2 = out.split_off(
        out.iter()
            .position(|(_, m)| m.req() != req)
            .unwrap_or(out.len()),
    );
    (client, st, phase2)
}

fn data(req: vivace_spec::ReqId, t: Ts) -> Msg {
    Msg::AckRData {
        req,
        ts: t,
        val: Bytes::from("v"),
    }
}

/// Section 3.4.1, parallel write-back: when (C1) fails the client sends
/// W-TS of mts with R-DATA in phase two, and the read completes in two
/// phases once a majority acknowledged and the data has mts (C2); data of a
/// newer timestamp moves it to a third phase that writes that one back.
#[test]
fn parallel_write_back_completes_in_two_phases_only_with_c2() {
    let on = Options {
        parallel_writeback: true,
        ..Options::default()
    };
    // (C1) holds: no parallel write-back, R-DATA only.
    let (_, _, sent) = read_after_phase_one(on.clone(), [ts(1), ts(1)]);
    assert!(sent.iter().all(|(_, m)| matches!(m, Msg::RData { .. })));
    for (data_ts, acks_first, two_phases) in [
        (ts(2), true, true),   // C2, acknowledgements before the data
        (ts(2), false, true),  // C2, data before the acknowledgements
        (ts(3), false, false), // newer data: third phase
    ] {
        let (client, mut st, sent) = read_after_phase_one(on.clone(), [ts(1), ts(2)]);
        let req = st.current.as_ref().unwrap().req;
        let wts = Msg::WTs {
            req,
            key: key(),
            ts: ts(2),
        };
        assert_eq!(
            sent.iter().filter(|(_, m)| *m == wts).count(),
            3,
            "W-TS of mts to all"
        );
        assert_eq!(
            sent.iter()
                .filter(|(_, m)| matches!(m, Msg::RData { .. }))
                .count(),
            3
        );
        let mut out = Vec::new();
        let acks = |client: &Client, st: &mut ClientState, out: &mut Vec<(Id, Msg)>| {
            for r in [1usize, 2] {
                client.on_msg(st, Id::from(r), Msg::AckWTs { req }, out);
            }
        };
        if acks_first {
            acks(&client, &mut st, &mut out);
            assert!(st.done.is_empty(), "waits for the data");
        }
        client.on_msg(&mut st, Id::from(0), data(req, data_ts), &mut out);
        if !acks_first && two_phases {
            assert!(st.done.is_empty(), "waits for a majority");
            acks(&client, &mut st, &mut out);
        }
        assert_eq!(
            st.done == vec![Ret::ReadOk(Bytes::from("v"))],
            two_phases,
            "{data_ts:?}"
        );
        if !two_phases {
            let wb = Msg::WTs {
                req: req + 1,
                key: key(),
                ts: data_ts,
            };
            assert_eq!(
                out.iter().filter(|(_, m)| *m == wb).count(),
                3,
                "writes back the data's ts"
            );
        }
    }
}

/// Section 3.4.1, reading from fewer replicas: one R-DATA, to a replica in
/// the client's site that reported mts if there is one, else to the first
/// replica that did; the timer's fallback then asks every other replica.
#[test]
fn fewer_replicas_asks_one_and_falls_back_to_all() {
    let on = Options {
        fewer_replicas: true,
        ..Options::default()
    };
    // (replies of replicas 1 and 2, both in site 1; whom the R-DATA goes to)
    for (replies, asked) in [
        ([ts(1), ts(1)], 1usize), // both have mts: the first in replica order
        ([ts(1), ts(2)], 2),      // only replica 2 has mts
        ([ts(2), ts(1)], 1),      // only replica 1 has mts
    ] {
        let (client, mut st, sent) = read_after_phase_one(on.clone(), replies);
        assert_eq!(sent.len(), 1, "one R-DATA");
        assert_eq!(sent[0].0, Id::from(asked), "{replies:?}");
        assert!(client.needs_timer(&st), "armed for the fallback");
        let mut out = Vec::new();
        assert!(
            !client.on_timeout(&mut st, &mut out),
            "no retransmission after"
        );
        let mut to: Vec<usize> = out.iter().map(|(d, _)| usize::from(*d)).collect();
        to.sort();
        let mut others: Vec<usize> = (0..3).filter(|&r| r != asked).collect();
        others.sort();
        assert_eq!(to, others, "the fallback asks the others");
    }
    // A local replica that reported mts is preferred.
    let dep = deployment(Algorithm::VivaceRw, on, Mutation::None);
    let client = Client::new(dep, Id::from(C), vec![(key(), Op::Read)]);
    let mut out = Vec::new();
    let mut st: ClientState = client.on_start(&mut out);
    let req = st.current.as_ref().unwrap().req;
    out.clear();
    client.on_msg(
        &mut st,
        Id::from(1),
        Msg::AckRTs { req, ts: ts(1) },
        &mut out,
    );
    client.on_msg(
        &mut st,
        Id::from(0),
        Msg::AckRTs { req, ts: ts(1) },
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, Id::from(0), "the replica in the client's site");
}

/// The whole Figure-5 cluster in memory (servers 0-4, client 5, clock 6):
/// delivers the messages in flight in order, at most `steps` of them, and
/// drops any for which `lose` says so. Returns the messages delivered.
struct Cluster {
    servers: Vec<(Server, ServerState)>,
    client: Client,
    state: ClientState,
    clock: u64,
    net: std::collections::VecDeque<(Id, Id, Msg)>,
}

impl Cluster {
    fn new(algorithm: Algorithm, options: Options, mutation: Mutation, ops: Vec<Op>) -> Cluster {
        let dep = deployment(algorithm, options, mutation);
        let servers = (0..5)
            .map(|_| {
                (
                    Server {
                        deployment: dep.clone(),
                    },
                    ServerState::default(),
                )
            })
            .collect();
        let client = Client::new(
            dep,
            Id::from(C),
            ops.into_iter().map(|o| (key(), o)).collect(),
        );
        let mut out = Vec::new();
        let state = client.on_start(&mut out);
        let mut c = Cluster {
            servers,
            client,
            state,
            clock: 0,
            net: Default::default(),
        };
        c.push(Id::from(C), out);
        c
    }

    /// Algorithm 1 with delegation on (Section 3.4.2) and no mutation.
    fn delegated(ops: Vec<Op>) -> Cluster {
        let on = Options {
            delegation: true,
            ..Options::default()
        };
        Cluster::new(Algorithm::VivaceRw, on, Mutation::None, ops)
    }

    fn push(&mut self, from: Id, out: Vec<(Id, Msg)>) {
        for (to, m) in out {
            self.net.push_back((from, to, m));
        }
    }

    fn run(&mut self, steps: usize, lose: impl Fn(&Msg) -> bool) -> Vec<(Id, Id, Msg)> {
        let mut seen = Vec::new();
        for _ in 0..steps {
            let Some((from, to, m)) = self.net.pop_front() else {
                break;
            };
            seen.push((from, to, m.clone()));
            if lose(&m) {
                continue;
            }
            let mut out = Vec::new();
            match usize::from(to) {
                C => self.client.on_msg(&mut self.state, from, m, &mut out),
                6 => {
                    let Msg::ClockReq { req } = m else { continue };
                    self.clock += 1;
                    out.push((
                        from,
                        Msg::ClockResp {
                            req,
                            time: self.clock,
                        },
                    ));
                }
                i => {
                    let (s, st) = &mut self.servers[i];
                    s.on_msg(st, from, m, &mut out);
                }
            }
            self.push(to, out);
        }
        assert!(self.net.is_empty(), "the run finished within {steps} steps");
        seen
    }
}

/// Section 3.4.2, delegating to a replica: the client sends each operation
/// in one DELEGATE to replica 1 (id 0, the replica in its site), which
/// coordinates Algorithm 1 for it and answers with ACK-DELEGATE; the write's
/// timestamp is the client's, and travels in DELEGATE.
#[test]
fn delegation_sends_one_request_per_operation() {
    let v = Bytes::from("v");
    let mut c = Cluster::delegated(vec![Op::Write(v.clone()), Op::Read]);
    let seen = c.run(1000, |_| false);
    let from_client: Vec<&Msg> = seen
        .iter()
        .filter(|(f, to, _)| usize::from(*f) == C && usize::from(*to) != 6)
        .map(|(_, _, m)| m)
        .collect();
    assert_eq!(
        from_client.len(),
        2,
        "one DELEGATE per operation: {from_client:?}"
    );
    assert!(matches!(
        from_client[0],
        Msg::Delegate { op: Op::Write(_), ts: Some(t), .. } if *t == ts(1)
    ));
    assert!(matches!(
        from_client[1],
        Msg::Delegate {
            op: Op::Read,
            ts: None,
            ..
        }
    ));
    assert!(seen
        .iter()
        .filter(|(_, _, m)| matches!(m, Msg::Delegate { .. }))
        .all(|(_, to, _)| usize::from(*to) == 0));
    assert_eq!(c.state.done, vec![Ret::WriteOk, Ret::ReadOk(v)]);
    // The delegate did the phases: W-LOCAL to the local set, W-TS, R-TS...
    assert!(seen.iter().any(
        |(f, _, m)| usize::from(*f) == 0 && matches!(m, Msg::WTs { ts: t, .. } if *t == ts(1))
    ));
    assert!(c.servers[0].1.delegations[&Id::from(C)].current.is_none());
}

/// Section 3.4.2: when the delegate does not answer (here its DELEGATE is
/// lost), the client's timer makes it coordinate the operation itself,
/// with the timestamp it gave the delegate; the mutant takes a new one.
#[test]
fn delegation_falls_back_with_the_same_timestamp() {
    let on = Options {
        delegation: true,
        ..Options::default()
    };
    for (mutation, same) in [
        (Mutation::None, true),
        (Mutation::DelegationFallbackNewTimestamp, false),
    ] {
        let mut c = Cluster::new(
            Algorithm::VivaceRw,
            on.clone(),
            mutation,
            vec![Op::Write(Bytes::from("v"))],
        );
        c.run(10, |m| matches!(m, Msg::Delegate { .. }));
        assert!(c.client.needs_timer(&c.state), "armed for the fallback");
        let mut out = Vec::new();
        c.client.on_timeout(&mut c.state, &mut out);
        c.push(Id::from(C), out);
        let seen = c.run(1000, |_| false);
        assert_eq!(c.state.done, vec![Ret::WriteOk]);
        let w_ts: Vec<Ts> = seen
            .iter()
            .filter_map(|(f, _, m)| match m {
                Msg::WTs { ts, .. } if usize::from(*f) == C => Some(*ts),
                _ => None,
            })
            .collect();
        assert_eq!(w_ts.len(), 3, "the client's own W-TS phase");
        assert_eq!(w_ts[0] == ts(1), same, "{mutation:?}: {w_ts:?}");
    }
    // Without the fallback the client never arms its timer.
    let c = Cluster::new(
        Algorithm::VivaceRw,
        on,
        Mutation::DelegationNoFallback,
        vec![Op::Read],
    );
    assert!(!c.client.needs_timer(&c.state));
}

/// Section 3.2's propagation on a lossy network: a local replica keeps its
/// timer armed, with retransmission on, while a majority of replicas has
/// not acknowledged its W-REMOTE, and its timeout resends W-REMOTE to those
/// that have not; with retransmission off it arms nothing.
#[test]
fn a_server_resends_w_remote_until_a_majority_acknowledges() {
    for retransmit in [false, true] {
        let on = Options {
            retransmit,
            ..Options::default()
        };
        let s = Server {
            deployment: deployment(Algorithm::VivaceRw, on, Mutation::None),
        };
        let mut st = ServerState::default();
        assert!(!s.needs_timer(&st), "nothing to propagate");
        let w_local = Msg::WLocal {
            req: 4,
            key: key(),
            ts: ts(1),
            val: Bytes::from("v"),
        };
        deliver(&s, &mut st, C, w_local);
        assert_eq!(s.needs_timer(&st), retransmit, "retransmit={retransmit}");
        let req = st.local_buf.values().next().unwrap().req;
        deliver(&s, &mut st, 1, Msg::AckWRemote { req });
        let mut out = Vec::new();
        let again = s.on_timeout(&mut st, &vivace_spec::Timer::Retransmit, &mut out);
        assert_eq!(again, retransmit);
        let resent: Vec<usize> = out
            .iter()
            .filter(|(_, m)| matches!(m, Msg::WRemote { .. }))
            .map(|(d, _)| usize::from(*d))
            .collect();
        let expected = if retransmit { vec![0, 2] } else { vec![] };
        assert_eq!(resent, expected, "to the replicas that have not acked");
        deliver(&s, &mut st, 2, Msg::AckWRemote { req });
        assert!(!s.needs_timer(&st), "a majority acknowledged");
    }
}

/// Section 3.4.2: a delegate keeps its timer armed while an operation it
/// coordinates waits for replies (here its W-LOCALs are lost, so it has
/// nothing to propagate), and not once the operation completed.
#[test]
fn a_delegate_arms_its_timer_while_it_coordinates() {
    let on = Options {
        delegation: true,
        retransmit: true,
        ..Options::default()
    };
    let mut c = Cluster::new(
        Algorithm::VivaceRw,
        on.clone(),
        Mutation::None,
        vec![Op::Write(Bytes::from("v"))],
    );
    c.run(100, |m| matches!(m, Msg::WLocal { .. }));
    let (s, st) = &c.servers[0];
    assert!(st.delegations[&Id::from(C)].current.is_some());
    assert!(st.local_buf.is_empty());
    assert!(
        s.needs_timer(st),
        "the delegated write waits for W-LOCAL acks"
    );
    let mut c = Cluster::new(
        Algorithm::VivaceRw,
        on,
        Mutation::None,
        vec![Op::Write(Bytes::from("v"))],
    );
    c.run(1000, |_| false);
    assert_eq!(c.state.done, vec![Ret::WriteOk]);
    let (s, st) = &c.servers[0];
    assert!(!s.needs_timer(st), "nothing left to coordinate");
}

/// Algorithm 1, W-LOCAL: each propagation has a request id of its own, so
/// a majority of ACK-W-REMOTE for one value does not prune another value
/// still propagating from the same local replica.
#[test]
fn each_propagation_is_acknowledged_on_its_own() {
    let s = server(Algorithm::VivaceRw);
    let mut st = ServerState::default();
    for (req, t, v) in [(4, 1, "a"), (5, 2, "b")] {
        let w_local = Msg::WLocal {
            req,
            key: key(),
            ts: ts(t),
            val: Bytes::from(v),
        };
        deliver(&s, &mut st, C, w_local);
    }
    let reqs: Vec<_> = st.local_buf.values().map(|p| p.req).collect();
    assert_eq!(reqs.len(), 2);
    assert_ne!(reqs[0], reqs[1], "one request id per propagation");
    for r in [1, 2] {
        deliver(&s, &mut st, r, Msg::AckWRemote { req: reqs[0] });
    }
    let left: Vec<_> = st.local_buf.keys().map(|(_, t)| *t).collect();
    assert_eq!(left, vec![ts(2)], "only the acknowledged value is pruned");
}

/// Section 3.4.2: a duplicate DELEGATE (the network's, or a client's
/// retransmission) does not restart the operation its delegate coordinates.
#[test]
fn a_duplicate_delegate_changes_nothing() {
    let on = Options {
        delegation: true,
        ..Options::default()
    };
    let s = Server {
        deployment: deployment(Algorithm::VivaceRw, on, Mutation::None),
    };
    let mut st = ServerState::default();
    let delegate = Msg::Delegate {
        req: 1,
        key: key(),
        op: Op::Write(Bytes::from("v")),
        ts: Some(ts(1)),
    };
    let first = deliver(&s, &mut st, C, delegate.clone());
    assert!(!first.is_empty(), "the delegate starts the write");
    let before = st.clone();
    assert_eq!(deliver(&s, &mut st, C, delegate), vec![]);
    assert_eq!(st, before);
}

/// Section 3.4.2: a delegate numbers the phases it coordinates from its
/// own counter, so the phases of a client's next operation never reuse a
/// request id, and a late reply to an earlier phase cannot be taken for
/// a reply to a later one.
#[test]
fn a_delegate_numbers_every_phase_afresh() {
    let v = Bytes::from("v");
    let mut c = Cluster::delegated(vec![Op::Write(v.clone()), Op::Read, Op::Read]);
    let seen = c.run(1000, |_| false);
    assert_eq!(
        c.state.done,
        vec![Ret::WriteOk, Ret::ReadOk(v.clone()), Ret::ReadOk(v)]
    );
    let mut phases: Vec<u32> = Vec::new();
    for (from, _, m) in &seen {
        let phase = matches!(
            m,
            Msg::WLocal { .. } | Msg::WTs { .. } | Msg::RTs { .. } | Msg::RData { .. }
        );
        if usize::from(*from) == 0 && phase && phases.last() != Some(&m.req()) {
            phases.push(m.req());
        }
    }
    assert!(phases.len() >= 4, "{phases:?}");
    assert!(phases.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
}
