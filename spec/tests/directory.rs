//! The directory service (Section 3.1, README "The directory service"),
//! driven through the sans-IO handlers: servers, clients and the
//! administrator's [`Reconfig`] exchange messages in a small in-memory
//! network that the tests hold and release by hand.

use std::collections::VecDeque;
use std::sync::Arc;
use vivace_spec::client::{Client, ClientState, DirectoryStats};
use vivace_spec::directory::{
    decode_metadata, encode_metadata, metadata_key, Reconfig, ReconfigFailure, ReconfigState, Step,
    SEAL_PAGE_BYTES,
};
use vivace_spec::msg::KeyState;
use vivace_spec::replica::{Installed, Server, ServerState, AUDIT_PAGE_BYTES};
use vivace_spec::{
    Algorithm, Bytes, Command, Container, Deployment, Directory, Id, IdSet, Key, Msg, Mutation, Op,
    Options, Ret, TimestampMode, Ts,
};

// Servers 0 (site 0), 1, 2 (site 1), 3, 4 (site 0), 5 (site 1); client 6
// and the administrator's client 7 in site 0; clock 8. The directory
// container `dir/` is on 0, 1, 2 (local set 0, 3, 4); so are `rw/`
// (Algorithm 1), `rmw/` (Algorithm 3) and `abd/` (ABD) in epoch 1.
const C: usize = 6;
const ADMIN: usize = 7;
const CLOCK: usize = 8;

fn ids(v: &[usize]) -> Vec<Id> {
    v.iter().map(|&i| Id::from(i)).collect()
}

/// `m` sent in `epoch` of its container, without a replica set.
fn in_epoch(epoch: u64, m: Msg) -> Msg {
    Msg::InEpoch {
        epoch,
        replicas: None,
        msg: Box::new(m),
    }
}

fn container(prefix: &str, algorithm: Algorithm, replicas: &[usize], epoch: u64) -> Container {
    Container {
        prefix: Key::from(prefix),
        algorithm,
        replicas: ids(replicas),
        local_sets: vec![(0, ids(&[0, 3, 4]))],
        epoch,
    }
}

fn deployment() -> Arc<Deployment> {
    Arc::new(Deployment {
        directory: Directory {
            containers: vec![
                container("dir/", Algorithm::VivaceRw, &[0, 1, 2], 0),
                container("rw/", Algorithm::VivaceRw, &[0, 1, 2], 1),
                container("rmw/", Algorithm::VivaceRmw, &[0, 1, 2], 1),
                container("abd/", Algorithm::Abd, &[0, 1, 2], 1),
            ],
        },
        sites: vec![0, 1, 1, 0, 0, 1, 0, 0, 0],
        clock: Id::from(CLOCK),
        timestamps: TimestampMode::Clock,
        options: Options::default(),
        mutation: Mutation::None,
    })
}

type Envelope = (Id, Id, Msg);

struct Sim {
    servers: Vec<(Server, ServerState)>,
    clients: Vec<(usize, Client, ClientState)>,
    admin: Option<(Reconfig, ReconfigState)>,
    net: VecDeque<Envelope>,
    time: u64,
    /// Every message sent, in order.
    log: Vec<Envelope>,
}

impl Sim {
    fn new() -> Sim {
        let d = deployment();
        let servers = (0..6)
            .map(|i| {
                let s = Server {
                    deployment: d.clone(),
                };
                let st = s.initial(Id::from(i));
                (s, st)
            })
            .collect();
        let clients = [C, ADMIN]
            .iter()
            .map(|&i| {
                (
                    i,
                    Client::new(d.clone(), Id::from(i), Vec::new()),
                    ClientState::default(),
                )
            })
            .collect();
        Sim {
            servers,
            clients,
            admin: None,
            net: VecDeque::new(),
            time: 0,
            log: Vec::new(),
        }
    }

    fn post(&mut self, src: usize, out: Vec<(Id, Msg)>) {
        for (dst, m) in out {
            let src = Id::from(src);
            self.log.push((src, dst, m.clone()));
            if usize::from(dst) == CLOCK {
                if let Msg::ClockReq { req } = m {
                    self.time += 1;
                    let resp = Msg::ClockResp {
                        req,
                        time: self.time,
                    };
                    self.net.push_back((dst, src, resp));
                }
            } else {
                self.net.push_back((src, dst, m));
            }
        }
    }

    fn client(&mut self, id: usize) -> (&Client, &mut ClientState) {
        let c = self.clients.iter_mut().find(|c| c.0 == id).expect("client");
        (&c.1, &mut c.2)
    }

    fn state(&self, id: usize) -> &ClientState {
        &self.clients.iter().find(|c| c.0 == id).expect("client").2
    }

    fn invoke(&mut self, id: usize, key: &str, op: Op) {
        let mut out = Vec::new();
        let (c, s) = self.client(id);
        c.invoke(s, Key::from(key), op, &mut out);
        self.post(id, out);
    }

    fn timeout(&mut self, id: usize) {
        let mut out = Vec::new();
        let (c, s) = self.client(id);
        c.on_timeout(s, &mut out);
        self.post(id, out);
    }

    fn deliver(&mut self, (src, dst, msg): Envelope) {
        let mut out = Vec::new();
        let d = usize::from(dst);
        if d < self.servers.len() {
            let (s, st) = &mut self.servers[d];
            s.on_msg(st, src, msg, &mut out);
        } else if d == ADMIN
            && matches!(
                msg,
                Msg::AckSeal { .. } | Msg::AckCopyValues { .. } | Msg::AckInstall { .. }
            )
        {
            let (r, st) = self.admin.as_mut().expect("an administrator");
            r.on_msg(st, src, msg, &mut out);
        } else {
            let (c, s) = self.client(d);
            c.on_msg(s, src, msg, &mut out);
        }
        self.post(d, out);
    }

    /// Delivers every message in order until none is left, except those
    /// `hold` picks, which are returned.
    fn run(&mut self, hold: impl Fn(&Envelope) -> bool) -> Vec<Envelope> {
        let mut held = Vec::new();
        while let Some(e) = self.net.pop_front() {
            if hold(&e) {
                held.push(e);
            } else {
                self.deliver(e);
            }
        }
        held
    }

    fn run_all(&mut self) {
        self.run(|_| false);
    }

    /// Runs client `id`'s operation to its end; returns its result.
    fn op(&mut self, id: usize, key: &str, op: Op) -> Ret {
        let before = self.state(id).done.len();
        self.invoke(id, key, op);
        self.run_all();
        let s = self.state(id);
        assert_eq!(s.done.len(), before + 1, "the operation completed");
        s.done.last().cloned().expect("a result")
    }

    fn publish(&mut self, c: &Container) {
        let key = metadata_key(&c.prefix);
        let v = encode_metadata(c);
        let key = String::from_utf8(key.as_slice().to_vec()).unwrap();
        assert_eq!(self.op(ADMIN, &key, Op::Write(v)), Ret::WriteOk);
    }

    /// Runs a reconfiguration of `from` to `to` until it reports
    /// [`Step::Installed`] (or stops), without publishing.
    fn reconfig(&mut self, from: &Container, to: &Container) -> Step {
        let r = Reconfig {
            from: from.clone(),
            to: to.clone(),
        };
        let mut st = ReconfigState::default();
        let mut out = Vec::new();
        r.start(&mut st, &mut out);
        self.admin = Some((r, st));
        self.post(ADMIN, out);
        self.run_all();
        self.admin.as_ref().unwrap().1.step.clone()
    }

    fn sent_after(&self, mark: usize) -> &[Envelope] {
        &self.log[mark..]
    }
}

fn is_w_ts_to(e: &Envelope, to: &[usize]) -> bool {
    matches!(e.2.unwrapped(), Msg::WTs { .. }) && to.contains(&usize::from(e.1))
}

/// A cluster whose directory holds epoch 1 of `rw/`, `rmw/` and `abd/`.
fn initialized() -> Sim {
    let mut sim = Sim::new();
    for c in [
        container("rw/", Algorithm::VivaceRw, &[0, 1, 2], 1),
        container("rmw/", Algorithm::VivaceRmw, &[0, 1, 2], 1),
        container("abd/", Algorithm::Abd, &[0, 1, 2], 1),
    ] {
        sim.publish(&c);
    }
    sim
}

#[test]
fn metadata_round_trips_and_bad_text_is_an_error() {
    let c = Container {
        local_sets: vec![(0, ids(&[1, 4, 5])), (1, ids(&[2, 3]))],
        ..container("rw/", Algorithm::VivaceRw, &[2, 3, 4], 2)
    };
    let v = encode_metadata(&c);
    assert_eq!(
        std::str::from_utf8(v.as_slice()).unwrap(),
        "epoch=2 algorithm=vivace_rw replicas=2,3,4 local_sets=0:1,4,5/1:2,3"
    );
    assert_eq!(decode_metadata(&Key::from("rw/"), v.as_slice()), Ok(c));
    for bad in [
        "",
        "epoch=0 algorithm=abd replicas=1",
        "epoch=1 algorithm=paxos replicas=1",
        "epoch=1 algorithm=abd replicas=",
        "epoch=1 algorithm=abd replicas=1,70",
        "epoch=1 algorithm=abd replicas=1 colour=blue",
        "epoch=x algorithm=abd replicas=1",
        "epoch=1 algorithm=abd replicas=1 local_sets=0-1",
    ] {
        assert!(
            decode_metadata(&Key::from("p/"), bad.as_bytes()).is_err(),
            "{bad:?} must not decode"
        );
    }
}

/// Clients read a container's metadata from the directory once, cache it,
/// and send every request of the container in its epoch.
#[test]
fn clients_read_the_directory_once_and_send_in_the_epoch() {
    let mut sim = initialized();
    let mark = sim.log.len();
    assert_eq!(sim.op(C, "rw/x", Op::Write("v".into())), Ret::WriteOk);
    assert_eq!(sim.op(C, "rw/x", Op::Read), Ret::ReadOk("v".into()));
    assert_eq!(sim.op(C, "rw/y", Op::Read), Ret::ReadOk("".into()));
    let s = sim.state(C);
    assert_eq!(
        s.directory.reads, 1,
        "one directory read for three operations"
    );
    assert_eq!(s.cache[&Key::from("rw/")].epoch, 1);
    for (src, dst, m) in sim.sent_after(mark) {
        let to_rw = m
            .request_key()
            .is_some_and(|k| k.as_slice().starts_with(b"rw/"));
        if usize::from(*src) == C && usize::from(*dst) != CLOCK && to_rw {
            panic!("{m:?} to {dst:?} outside its epoch");
        }
        if let Msg::InEpoch {
            epoch,
            replicas,
            msg,
        } = m
        {
            assert_eq!(*epoch, 1);
            // Only a W-LOCAL carries the replica set.
            assert_eq!(
                replicas.is_some(),
                matches!(**msg, Msg::WLocal { .. }),
                "{m:?}"
            );
        }
    }
}

/// A request outside the epoch a replica serves is answered STALE with
/// that epoch; a sealed replica still takes W-REMOTE and W-LOCAL.
#[test]
fn replicas_answer_stale_outside_their_epoch() {
    let d = deployment();
    let s = Server { deployment: d };
    let mut st = s.initial(Id::from(1));
    assert_eq!(
        st.epochs[&Key::from("rw/")],
        Installed {
            epoch: 1,
            sealed: false,
            sealed_by: None
        }
    );
    let rts = |req| Msg::RTs {
        req,
        key: "rw/x".into(),
    };
    let ask = |st: &mut ServerState, m: Msg| {
        let mut out = Vec::new();
        s.on_msg(st, Id::from(C), m, &mut out);
        out.pop().map(|(_, m)| m)
    };
    let stale = |req, epoch, sealed| Some(Msg::Stale { req, epoch, sealed });
    assert!(matches!(
        ask(&mut st, in_epoch(1, rts(1))),
        Some(Msg::AckRTs { req: 1, .. })
    ));
    assert_eq!(ask(&mut st, rts(2)), stale(2, 1, false), "no epoch at all");
    assert_eq!(
        ask(&mut st, in_epoch(2, rts(3))),
        stale(3, 1, false),
        "a newer one"
    );
    // A container of fixed metadata ignores the epoch: the directory's.
    assert!(matches!(
        ask(
            &mut st,
            in_epoch(
                9,
                Msg::RTs {
                    req: 4,
                    key: "dir/rw/".into()
                }
            )
        ),
        Some(Msg::AckRTs { req: 4, .. })
    ));
    // Sealed: STALE of the sealed epoch, but W-REMOTE and W-LOCAL go on.
    let seal = Msg::Seal {
        req: 5,
        prefix: "rw/".into(),
        epoch: 1,
        after: None,
    };
    assert!(matches!(
        ask(&mut st, seal),
        Some(Msg::AckSeal {
            epoch: 1,
            sealed: true,
            more: false,
            ..
        })
    ));
    assert_eq!(ask(&mut st, in_epoch(1, rts(6))), stale(6, 1, true));
    let ts = Ts { time: 5, node: 6 };
    let wremote = Msg::WRemote {
        req: 7,
        key: "rw/x".into(),
        ts,
        val: "v".into(),
    };
    assert_eq!(ask(&mut st, wremote), Some(Msg::AckWRemote { req: 7 }));
    let wlocal = Msg::InEpoch {
        epoch: 1,
        replicas: Some(ids(&[0, 1, 2]).into_iter().collect()),
        msg: Box::new(Msg::WLocal {
            req: 8,
            key: "rw/z".into(),
            ts,
            val: "w".into(),
        }),
    };
    let mut out = Vec::new();
    s.on_msg(&mut st, Id::from(C), wlocal, &mut out);
    assert!(out.contains(&(Id::from(C), Msg::AckWLocal { req: 8 })));
    assert_eq!(
        out.iter()
            .filter(|(_, m)| matches!(m, Msg::WRemote { .. }))
            .count(),
        3,
        "W-REMOTE to the replica set W-LOCAL carried"
    );
}

/// An INSTALL for an epoch older than the installed one is refused, and so
/// is one of the installed epoch once sealed; a newer one is applied page
/// by page and served after its last page.
#[test]
fn install_of_an_older_epoch_is_refused() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(1));
    let install = |req, epoch, entries: Vec<KeyState>, last| Msg::Install {
        req,
        prefix: "rw/".into(),
        epoch,
        entries,
        last,
    };
    let ts = |t| Ts { time: t, node: 6 };
    let entry = |t, v: &str| KeyState {
        key: "rw/x".into(),
        ts: ts(t),
        ots: Ts::ZERO,
        val: v.into(),
    };
    let ask = |st: &mut ServerState, m: Msg| {
        let mut out = Vec::new();
        s.on_msg(st, Id::from(ADMIN), m, &mut out);
        out.pop().map(|(_, m)| m)
    };
    // Epoch 3 data, then the epoch itself.
    assert_eq!(
        ask(&mut st, install(1, 3, vec![entry(5, "five")], false)),
        Some(Msg::AckInstall {
            req: 1,
            ok: true,
            epoch: 1
        })
    );
    assert_eq!(
        st.epochs[&Key::from("rw/")].epoch,
        1,
        "not served before the last page"
    );
    assert_eq!(
        ask(&mut st, install(2, 3, vec![], true)),
        Some(Msg::AckInstall {
            req: 2,
            ok: true,
            epoch: 3
        })
    );
    let before = st.clone();
    // Older: refused, nothing changes.
    assert_eq!(
        ask(&mut st, install(3, 2, vec![entry(9, "nine")], true)),
        Some(Msg::AckInstall {
            req: 3,
            ok: false,
            epoch: 3
        })
    );
    assert_eq!(st, before, "a refused INSTALL changes nothing");
    // The installed epoch again (a retransmission): fine while it is served.
    assert_eq!(
        ask(&mut st, install(4, 3, vec![], true)),
        Some(Msg::AckInstall {
            req: 4,
            ok: true,
            epoch: 3
        })
    );
    // Sealed: the same epoch can no longer be installed.
    ask(
        &mut st,
        Msg::Seal {
            req: 5,
            prefix: "rw/".into(),
            epoch: 3,
            after: None,
        },
    );
    assert_eq!(
        ask(&mut st, install(6, 3, vec![entry(9, "nine")], true)),
        Some(Msg::AckInstall {
            req: 6,
            ok: false,
            epoch: 3
        })
    );
    let o = &st.objects[&Key::from("rw/x")];
    assert_eq!((o.ts, o.val.clone()), (ts(5), Some("five".into())));
}

/// ACK-SEAL pages list a container's keys in order, each page within
/// `SEAL_PAGE_BYTES`; keys of other containers are not listed.
#[test]
fn seal_pages_list_the_container_in_order() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(0));
    let ts = Ts { time: 1, node: 6 };
    let mut out = Vec::new();
    for i in 0..2000 {
        for p in ["rw/", "rmw/", "abd/"] {
            let m = in_epoch(
                1,
                Msg::WTs {
                    req: i,
                    key: Key::from(format!("{p}key-{i:05}")),
                    ts,
                },
            );
            s.on_msg(&mut st, Id::from(C), m, &mut out);
        }
    }
    let mut listed = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let mut out = Vec::new();
        let m = Msg::Seal {
            req: 1,
            prefix: "rw/".into(),
            epoch: 1,
            after: after.clone(),
        };
        s.on_msg(&mut st, Id::from(ADMIN), m, &mut out);
        let Some((_, Msg::AckSeal { keys, more, .. })) = out.pop() else {
            panic!("an ACK-SEAL")
        };
        pages += 1;
        let bytes: usize = keys.iter().map(|k| k.key.len() + 48).sum();
        assert!(bytes <= SEAL_PAGE_BYTES, "page of {bytes} bytes");
        // Every page but the last is full: one more key would not fit.
        let one_more = "rw/key-00000".len() + 48;
        assert!(!more || bytes + one_more > SEAL_PAGE_BYTES, "{bytes} bytes");
        assert!(keys.iter().all(|k| k.len.is_none()), "values still ⊥");
        after = keys.last().map(|k| k.key.clone());
        listed.extend(keys.into_iter().map(|k| k.key));
        if !more {
            break;
        }
    }
    assert!(pages > 1, "{pages} page(s)");
    let want: Vec<Key> = (0..2000)
        .map(|i| Key::from(format!("rw/key-{i:05}")))
        .collect();
    assert_eq!(listed, want);
}

/// A write half done in epoch 1 (its value at the local
/// replicas, its timestamp at one replica of three) is refused as STALE
/// once the replica set changed; the client re-reads the directory (again
/// while the new epoch is not published yet) and redoes the write in
/// epoch 2 with the same timestamp and value, at the new replica set. The
/// value reaches the new replica through the propagation the redone
/// W-LOCAL renews.
#[test]
fn a_half_done_write_is_redone_with_the_same_timestamp() {
    let mut sim = initialized();
    // Warm the cache so that the write starts at once.
    assert_eq!(sim.op(C, "rw/x", Op::Read), Ret::ReadOk("".into()));
    let mark = sim.log.len();
    sim.invoke(C, "rw/x", Op::Write("v1".into()));
    // W-TS reaches replica 0 only.
    let held = sim.run(|e| is_w_ts_to(e, &[1, 2]));
    assert_eq!(held.len(), 2);
    let ts1 = sim
        .sent_after(mark)
        .iter()
        .find_map(|(_, _, m)| match m.unwrapped() {
            Msg::WLocal { ts, val, .. } => Some((*ts, val.clone())),
            _ => None,
        })
        .expect("W-LOCAL sent");
    assert_eq!(ts1.1, Bytes::from("v1"));
    assert_eq!(sim.servers[0].1.objects[&Key::from("rw/x")].ts, ts1.0);
    // The administrator moves rw/ from {0, 1, 2} to {1, 2, 5}.
    let from = container("rw/", Algorithm::VivaceRw, &[0, 1, 2], 1);
    let to = container("rw/", Algorithm::VivaceRw, &[1, 2, 5], 2);
    assert_eq!(sim.reconfig(&from, &to), Step::Installed);
    let st = &sim.admin.as_ref().unwrap().1;
    assert_eq!(st.stats.keys, 1, "rw/x");
    // The held W-TS arrive now: STALE (1 and 2 serve epoch 2).
    let mark = sim.log.len();
    for e in held {
        sim.deliver(e);
    }
    sim.run_all();
    let s = sim.state(C);
    assert_eq!(s.directory.stale, 1);
    assert!(
        s.lookup.as_ref().is_some_and(|l| l.waiting),
        "epoch 2 not published: wait"
    );
    sim.timeout(C);
    sim.run_all();
    assert!(
        sim.state(C).lookup.as_ref().is_some_and(|l| l.waiting),
        "still epoch 1"
    );
    sim.publish(&to);
    sim.timeout(C);
    sim.run_all();
    let s = sim.state(C);
    assert_eq!(s.done.last(), Some(&Ret::WriteOk));
    assert_eq!(
        s.directory,
        DirectoryStats {
            reads: 4,
            stale: 1,
            restarted: 0,
            redone: 1,
            aborted: 0
        }
    );
    assert_eq!(s.cache[&Key::from("rw/")], to);
    // Redone: W-LOCAL and W-TS of epoch 2 with the first timestamp and
    // value, W-LOCAL carrying the new replica set, W-TS to it.
    let mut redone_wts = IdSet::EMPTY;
    let mut wlocal = 0;
    for (src, dst, m) in sim.sent_after(mark) {
        if usize::from(*src) != C {
            continue;
        }
        match m {
            Msg::InEpoch {
                epoch: 2,
                replicas,
                msg,
            } => match &**msg {
                Msg::WLocal { ts, val, .. } => {
                    assert_eq!((*ts, val.clone()), ts1);
                    assert_eq!(*replicas, Some(ids(&[1, 2, 5]).into_iter().collect()));
                    wlocal += 1;
                }
                Msg::WTs { ts, .. } => {
                    assert_eq!(*ts, ts1.0, "the same timestamp");
                    redone_wts.insert(*dst);
                }
                _ => {}
            },
            Msg::ClockReq { .. } => panic!("a redone write takes no new timestamp"),
            _ => {}
        }
    }
    assert_eq!(wlocal, 3, "W-LOCAL to the local set");
    assert_eq!(redone_wts, ids(&[1, 2, 5]).into_iter().collect());
    // Every new replica has the write's timestamp and value, 5 included
    // (it was never a replica of epoch 1).
    for r in [1, 2, 5] {
        let o = &sim.servers[r].1.objects[&Key::from("rw/x")];
        assert_eq!(
            (o.ts, o.val.clone()),
            (ts1.0, Some(ts1.1.clone())),
            "replica {r}"
        );
    }
    // One write: a read in epoch 2 returns it, and the local replicas'
    // propagations are over.
    assert_eq!(sim.op(C, "rw/x", Op::Read), Ret::ReadOk("v1".into()));
    for l in [0, 3, 4] {
        assert!(sim.servers[l].1.local_buf.is_empty(), "local replica {l}");
    }
}

/// A read refused as STALE starts over in the new epoch; an execute
/// returns ⊥; an ABD write is redone with its timestamp.
#[test]
fn reads_start_over_and_executes_abort() {
    let mut sim = initialized();
    assert_eq!(sim.op(C, "rw/x", Op::Write("a".into())), Ret::WriteOk);
    assert_eq!(
        sim.op(C, "rmw/c", Op::Execute(Command::Increment)),
        Ret::ExecuteOk("1".into())
    );
    assert_eq!(sim.op(C, "abd/x", Op::Write("b".into())), Ret::WriteOk);
    let moves = [
        ("rw/", Algorithm::VivaceRw),
        ("rmw/", Algorithm::VivaceRmw),
        ("abd/", Algorithm::Abd),
    ];
    for (p, a) in moves {
        let from = container(p, a, &[0, 1, 2], 1);
        let to = container(p, a, &[3, 4, 5], 2);
        assert_eq!(sim.reconfig(&from, &to), Step::Installed, "{p}");
        sim.publish(&to);
    }
    // The client's cache still says epoch 1 everywhere.
    assert_eq!(sim.op(C, "rw/x", Op::Read), Ret::ReadOk("a".into()));
    assert_eq!(
        sim.op(C, "rmw/c", Op::Execute(Command::Increment)),
        Ret::Aborted
    );
    assert_eq!(
        sim.op(C, "rmw/c", Op::Execute(Command::Increment)),
        Ret::ExecuteOk("2".into()),
        "the copied state, in epoch 2"
    );
    assert_eq!(sim.op(C, "abd/x", Op::Write("c".into())), Ret::WriteOk);
    assert_eq!(sim.op(C, "abd/x", Op::Read), Ret::ReadOk("c".into()));
    let s = sim.state(C);
    assert_eq!((s.directory.stale, s.directory.restarted), (3, 1));
    assert_eq!((s.directory.aborted, s.directory.redone), (1, 1));
    // The old replicas refuse epoch 1; the new ones serve epoch 2 only.
    for r in 0..3 {
        assert!(sim.servers[r].1.epochs.values().all(|i| i.sealed), "{r}");
    }
    for r in 3..6 {
        assert!(sim.servers[r]
            .1
            .epochs
            .values()
            .all(|i| i.epoch == 2 && !i.sealed));
    }
}

/// COPY waits for a value still propagating: a sealed replica holds the
/// newest timestamp with ⊥ until W-REMOTE brings the value, which it still
/// takes; the administrator asks again on its timer and installs it.
#[test]
fn the_copy_waits_for_values_still_propagating() {
    let mut sim = initialized();
    assert_eq!(sim.op(C, "rw/x", Op::Read), Ret::ReadOk("".into()));
    sim.invoke(C, "rw/x", Op::Write("late".into()));
    // Every W-REMOTE is held: the replicas learn the timestamp only.
    let held = sim.run(|e| matches!(e.2, Msg::WRemote { .. }));
    assert!(!held.is_empty());
    assert_eq!(
        sim.state(C).done.last(),
        Some(&Ret::WriteOk),
        "the write completed"
    );
    let from = container("rw/", Algorithm::VivaceRw, &[0, 1, 2], 1);
    let to = container("rw/", Algorithm::VivaceRw, &[3, 4, 5], 2);
    assert_eq!(
        sim.reconfig(&from, &to),
        Step::Copying,
        "waiting for the value"
    );
    let st = &sim.admin.as_ref().unwrap().1;
    assert_eq!(st.missing_values(), vec![Key::from("rw/x")]);
    // The values arrive at the sealed replicas; the timer asks again.
    for e in held {
        sim.deliver(e);
    }
    sim.run_all();
    let (r, st) = sim.admin.as_mut().unwrap();
    let mut out = Vec::new();
    assert!(r.on_timeout(st, &mut out));
    sim.post(ADMIN, out);
    sim.run_all();
    let (r, st) = sim.admin.as_ref().unwrap();
    assert_eq!(st.step, Step::Installed);
    assert!(r.all_done(st));
    assert_eq!(st.stats.copied_bytes, (4 + 4) as u64, "rw/x and its value");
    sim.publish(&to);
    assert_eq!(sim.op(C, "rw/x", Op::Read), Ret::ReadOk("late".into()));
}

/// A reconfiguration that finds a replica already in a newer epoch stops.
#[test]
fn a_superseded_reconfiguration_stops() {
    let mut sim = initialized();
    let from = container("rw/", Algorithm::VivaceRw, &[0, 1, 2], 1);
    let to = container("rw/", Algorithm::VivaceRw, &[0, 1, 2], 2);
    assert_eq!(sim.reconfig(&from, &to), Step::Installed);
    // Again from epoch 1, as an administrator with a stale view would.
    match sim.reconfig(&from, &to) {
        Step::Failed(ReconfigFailure::Superseded { epoch: 2, .. }) => {}
        other => panic!("expected Superseded, got {other:?}"),
    }
}

/// A seal belongs to the administrator that sealed first: another one's
/// SEAL of the same epoch is not granted, so two administrators cannot
/// both gather a sealed majority (and publish two different successors of
/// one epoch).
#[test]
fn a_seal_is_granted_to_one_administrator() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(0));
    let seal_in = |req, epoch| Msg::Seal {
        req,
        prefix: "rw/".into(),
        epoch,
        after: None,
    };
    let seal = |req| seal_in(req, 1);
    let mut out = Vec::new();
    // Not the epoch this replica is installed in: refused, sealing nothing.
    s.on_msg(&mut st, Id::from(ADMIN), seal_in(0, 2), &mut out);
    s.on_msg(&mut st, Id::from(ADMIN), seal(1), &mut out);
    s.on_msg(&mut st, Id::from(C), seal(2), &mut out);
    s.on_msg(&mut st, Id::from(ADMIN), seal(3), &mut out);
    let granted: Vec<(usize, bool)> = out
        .iter()
        .map(|(to, m)| match m {
            Msg::AckSeal {
                sealed, epoch: 1, ..
            } => (usize::from(*to), *sealed),
            m => panic!("{m:?}"),
        })
        .collect();
    assert_eq!(
        granted,
        vec![(ADMIN, false), (ADMIN, true), (C, false), (ADMIN, true)]
    );
}

/// Section 3.1: a W-LOCAL sent in an epoch carries that epoch's replica
/// set, and the local replica propagates its W-REMOTE there, not to the
/// replicas of the configuration it started with.
#[test]
fn w_local_propagates_to_the_replicas_of_its_epoch() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(3));
    let w_local = |epoch, replicas: &[usize]| Msg::InEpoch {
        epoch,
        replicas: Some(ids(replicas).into_iter().collect::<IdSet>()),
        msg: Box::new(Msg::WLocal {
            req: epoch as u32,
            key: "rw/x".into(),
            ts: Ts { time: 1, node: 6 },
            val: Bytes::from("v"),
        }),
    };
    let mut deliver = |from: usize, m: Msg| {
        let mut out = Vec::new();
        s.on_msg(&mut st, Id::from(from), m, &mut out);
        let remote: Vec<(usize, u32)> = out
            .iter()
            .filter_map(|(d, m)| match m {
                Msg::WRemote { req, .. } => Some((usize::from(*d), *req)),
                _ => None,
            })
            .collect();
        remote
    };
    let to = |v: Vec<(usize, u32)>| v.into_iter().map(|(d, _)| d).collect::<Vec<_>>();
    let first = deliver(C, w_local(1, &[0, 1, 2]));
    assert_eq!(to(first.clone()), vec![0, 1, 2]);
    let req = first[0].1;
    assert!(deliver(1, Msg::AckWRemote { req }).is_empty());
    // The write redone in epoch 2, whose replicas are 0, 1 and 5: the
    // value goes to the new replica 5 and to 0, which has not acknowledged;
    // replica 1's acknowledgement still counts.
    assert_eq!(to(deliver(C, w_local(2, &[0, 1, 5]))), vec![0, 5]);
    // A duplicate of either W-LOCAL changes nothing.
    assert!(deliver(C, w_local(2, &[0, 1, 5])).is_empty());
    assert!(deliver(C, w_local(1, &[0, 1, 2])).is_empty());
}

/// The audit of `vivace audit`: a replica lists the keys whose timestamp
/// it holds without the value (Section 3.2's window before W-REMOTE).
#[test]
fn audit_lists_the_timestamps_without_their_value() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(1));
    let t = Ts { time: 1, node: 6 };
    let mut ask = |m: Msg| {
        let mut out = Vec::new();
        s.on_msg(&mut st, Id::from(C), m, &mut out);
        out.pop().map(|(_, m)| m)
    };
    let audit = |req| Msg::Audit { req, after: None };
    let empty = Some(Msg::AckAudit {
        req: 1,
        missing: vec![],
        more: false,
    });
    assert_eq!(ask(audit(1)), empty);
    let w_ts = in_epoch(
        1,
        Msg::WTs {
            req: 2,
            key: "rw/x".into(),
            ts: t,
        },
    );
    assert!(matches!(ask(w_ts), Some(Msg::AckWTs { req: 2, .. })));
    let missing = Some(Msg::AckAudit {
        req: 3,
        missing: vec![(Key::from("rw/x"), t)],
        more: false,
    });
    assert_eq!(ask(audit(3)), missing);
}

/// Section 3.1's seal lists what the next epoch must carry over: a key
/// with a timestamp, or with an ordering timestamp only (an RMW ordered
/// but not written), and not a key that was only read. A page asked after
/// a key before the container starts at the container.
#[test]
fn a_seal_lists_every_key_with_a_timestamp_and_only_those() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(0));
    let t = Ts { time: 1, node: 6 };
    let mut send = |m: Msg| {
        let mut out = Vec::new();
        let wrapped = in_epoch(1, m);
        s.on_msg(&mut st, Id::from(C), wrapped, &mut out);
    };
    send(Msg::OrTs {
        req: 1,
        key: "rmw/ordered".into(),
        ots: t,
    });
    send(Msg::RTs {
        req: 2,
        key: "rw/read".into(),
    });
    send(Msg::WTs {
        req: 3,
        key: "rw/written".into(),
        ts: t,
    });
    let mut seal = |prefix: &str, after: Option<&str>| {
        let mut out = Vec::new();
        let m = Msg::Seal {
            req: 4,
            prefix: prefix.into(),
            epoch: 1,
            after: after.map(Key::from),
        };
        s.on_msg(&mut st, Id::from(ADMIN), m, &mut out);
        match out.pop() {
            Some((_, Msg::AckSeal { keys, .. })) => {
                keys.into_iter().map(|k| k.key).collect::<Vec<Key>>()
            }
            m => panic!("{m:?}"),
        }
    };
    assert_eq!(seal("rmw/", None), vec![Key::from("rmw/ordered")]);
    assert_eq!(seal("rw/", None), vec![Key::from("rw/written")]);
    assert_eq!(seal("rw/", Some("abd/z")), vec![Key::from("rw/written")]);
}

/// The audit pages through every key whose value is missing, in key order,
/// each exactly once; every page but the last is as full as
/// [`AUDIT_PAGE_BYTES`] allows, and only the last says no more follow.
#[test]
fn the_audit_pages_through_every_missing_value_once() {
    let s = Server {
        deployment: deployment(),
    };
    let mut st = s.initial(Id::from(1));
    let t = Ts { time: 1, node: 6 };
    let keys: Vec<Key> = (0..400)
        .map(|i| Key::from(format!("rw/{i:04}-{}", "k".repeat(90))))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        let w_ts = in_epoch(
            1,
            Msg::WTs {
                req: i as u32,
                key: k.clone(),
                ts: t,
            },
        );
        s.on_msg(&mut st, Id::from(C), w_ts, &mut Vec::new());
    }
    let (mut listed, mut after, mut pages) = (Vec::new(), None, Vec::new());
    loop {
        let mut out = Vec::new();
        let audit = Msg::Audit {
            req: 1,
            after: after.clone(),
        };
        s.on_msg(&mut st, Id::from(C), audit, &mut out);
        let Some((_, Msg::AckAudit { missing, more, .. })) = out.pop() else {
            panic!("an ACK-AUDIT")
        };
        assert!(missing.iter().all(|(_, ts)| *ts == t));
        pages.push(missing.iter().map(|(k, _)| k.len()).sum::<usize>());
        after = missing.last().map(|(k, _)| k.clone());
        listed.extend(missing.into_iter().map(|(k, _)| k));
        if !more {
            break;
        }
    }
    assert_eq!(listed, keys);
    assert!(pages.len() > 1, "{pages:?}");
    let key_len = keys[0].len();
    for full in &pages[..pages.len() - 1] {
        assert!(*full <= AUDIT_PAGE_BYTES && full + key_len > AUDIT_PAGE_BYTES);
    }
}
