//! Batches (`vivace_impl::net`): under concurrent writes, the messages one
//! pass of a server's loop has for the same node leave in one datagram. With
//! batches on, messages are coalesced and fewer normal datagrams carry each
//! write; with `unbatched`, none is; either way every operation completes
//! and the history is linearizable.

use std::time::{Duration, Instant};
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::history::{Recorder, Verdict};
use vivace_impl::net::CounterSnapshot;
use vivace_impl::pool::ClientPool;
use vivace_spec::{Bytes, Op};

const CLIENTS: usize = 16;
const WRITES: usize = 40;

/// Every client of one pool writes `WRITES` unique values to keys of
/// Algorithm 1, then reads each key once. Returns the servers' counters.
fn run(unbatched: bool) -> CounterSnapshot {
    let mut spec = LocalSpec::figure5(CLIENTS);
    spec.options.unbatched = unbatched;
    let mut cluster = LocalCluster::start(&spec).unwrap();
    let recorder = Recorder::new();
    let clients = (0..CLIENTS)
        .map(|i| {
            let mut c = cluster.client(i).unwrap();
            c.record(recorder.clone());
            c
        })
        .collect();
    let mut pool = ClientPool::new(clients).unwrap();
    let key = |n: usize| Bytes::from(format!("rw/k{}", n % 4));
    let op = |i: usize, n: usize| {
        if n < WRITES {
            Op::Write(format!("c{i}-{n}").into())
        } else {
            Op::Read
        }
    };
    let mut n = [0usize; CLIENTS];
    for i in 0..CLIENTS {
        pool.start(i, key(0), op(i, 0)).unwrap();
    }
    let mut done = 0;
    let give_up = Instant::now() + Duration::from_secs(60);
    while done < CLIENTS * (WRITES + 4) && Instant::now() < give_up {
        for f in pool.wait(Duration::from_secs(1)).unwrap() {
            f.result.expect("every operation completes");
            done += 1;
            n[f.client] += 1;
            if n[f.client] < WRITES + 4 {
                pool.start(f.client, key(n[f.client]), op(f.client, n[f.client]))
                    .unwrap();
            }
        }
    }
    assert_eq!(done, CLIENTS * (WRITES + 4));
    assert_eq!(
        recorder.check(Duration::from_secs(30)),
        Verdict::Linearizable
    );
    // Let the background propagation finish before counting.
    std::thread::sleep(Duration::from_millis(200));
    cluster.total_server_counters()
}

#[test]
fn batches_coalesce_and_stay_linearizable() {
    let batched = run(false);
    let unbatched = run(true);
    assert_eq!(unbatched.coalesced, 0);
    assert!(batched.coalesced > 0, "{batched:?}");
    // Each write's value goes to three local replicas, which forward it to
    // the replicas (W-REMOTE) and get acks: batches carry many of these.
    assert!(
        batched.sent_normal < unbatched.sent_normal,
        "normal datagrams batched {} unbatched {}",
        batched.sent_normal,
        unbatched.sent_normal
    );
}
