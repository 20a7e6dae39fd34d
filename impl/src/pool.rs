//! Many clients driven by one thread.
//!
//! Each client keeps its own actor and its own two sockets (its identity in
//! the cluster), but the sockets of all the clients of a pool share one
//! poller. Under load, one wake-up of the thread then handles the replies
//! of many clients, instead of one thread per client each woken for every
//! reply: on a small machine the wake-ups, not the protocol, bound the
//! throughput of a closed loop. The benchmark runs its clients in pools.
//!
//! A pool never waits for the network without a deadline: [`ClientPool::wait`]
//! returns the operations that finished, after at most the time given.

use crate::client::{Client, ClientError};
use crate::runtime::RuntimeError;
use mio::{Events, Poll};
use std::collections::BTreeSet;
use std::io;
use std::time::{Duration, Instant};
use vivace_spec::{Bytes, Op, Ret};

/// Clients sharing one poller; each runs at most one operation at a time.
pub struct ClientPool {
    poll: Poll,
    events: Events,
    clients: Vec<Client>,
    /// Clients whose sockets may hold datagrams not yet read.
    ready: BTreeSet<usize>,
}

/// An operation of a pool that finished.
#[derive(Debug)]
pub struct Finished {
    /// Index of the client in the pool.
    pub client: usize,
    /// Its result.
    pub result: Result<Ret, ClientError>,
}

fn io_err(what: &str) -> impl FnOnce(io::Error) -> ClientError + '_ {
    move |source| {
        ClientError::Runtime(RuntimeError::Io {
            what: what.to_string(),
            source,
        })
    }
}

impl ClientPool {
    /// A pool of the given clients (their sockets move to the pool's poller).
    pub fn new(clients: Vec<Client>) -> Result<ClientPool, ClientError> {
        let poll = Poll::new().map_err(io_err("creating the pool's poller"))?;
        let mut clients = clients;
        for (i, c) in clients.iter_mut().enumerate() {
            c.driver_mut()
                .attach(poll.registry(), 2 * i)
                .map_err(io_err("registering a client's sockets"))?;
        }
        Ok(ClientPool {
            poll,
            events: Events::with_capacity(1024),
            ready: (0..clients.len()).collect(),
            clients,
        })
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether the pool has no client.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The clients (for their counters).
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    /// Starts an operation on client `i`, which must have none in progress.
    /// An invalid operation is refused at once.
    pub fn start(&mut self, i: usize, key: Bytes, op: Op) -> Result<(), ClientError> {
        self.clients[i].start(key, op)
    }

    /// Whether client `i` has an operation in progress.
    pub fn busy(&self, i: usize) -> bool {
        self.clients[i].deadline().is_some()
    }

    /// Runs the clients until at least one operation finished or `max_wait`
    /// passed; returns the finished operations.
    pub fn wait(&mut self, max_wait: Duration) -> Result<Vec<Finished>, ClientError> {
        let until = Instant::now() + max_wait;
        let mut done = Vec::new();
        let mut polled = false;
        loop {
            // Read what arrived (a client that read a full batch stays ready).
            let ready = std::mem::take(&mut self.ready);
            for i in ready {
                if self.clients[i].driver_mut().service() {
                    self.ready.insert(i);
                }
            }
            let now = Instant::now();
            let mut next = until;
            for (i, c) in self.clients.iter_mut().enumerate() {
                let Some(deadline) = c.deadline() else {
                    continue;
                };
                c.driver_mut().fire_timers();
                if let Some(result) = c.poll_result(now) {
                    done.push(Finished { client: i, result });
                    continue;
                }
                next = next.min(deadline);
                if let Some(t) = c.driver_mut().next_due() {
                    next = next.min(t);
                }
            }
            if !done.is_empty() || (polled && now >= until) {
                return Ok(done);
            }
            if !self.ready.is_empty() {
                continue;
            }
            // Poll at least once per call, also with no time left: readiness
            // is only learnt from the poller.
            polled = true;
            match self
                .poll
                .poll(&mut self.events, Some(next.saturating_duration_since(now)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err("polling")(e)),
            }
            for ev in self.events.iter() {
                self.ready.insert(ev.token().0 / 2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{prefix_of, LocalCluster, LocalSpec};
    use vivace_spec::Algorithm;

    /// Eight clients of one pool, each a closed loop of writes then reads of
    /// its own key, on every algorithm: every operation completes, every
    /// read returns the client's last write, and the recorded history is
    /// linearizable.
    #[test]
    fn pool_runs_many_clients_on_one_thread() {
        let mut cluster = LocalCluster::start(&LocalSpec::figure5(8)).unwrap();
        let recorder = crate::history::Recorder::new();
        let clients = (0..8)
            .map(|i| {
                let mut c = cluster.client(i).unwrap();
                c.record(recorder.clone());
                c
            })
            .collect();
        let mut pool = ClientPool::new(clients).unwrap();
        let rw = [Algorithm::Abd, Algorithm::VivaceRw];
        let key = |i: usize| Bytes::from(format!("{}k{i}", prefix_of(rw[i % 2])));
        let mut round = [0u32; 8];
        for i in 0..8 {
            pool.start(i, key(i), Op::Write(format!("v{i}-0").into()))
                .unwrap();
        }
        let mut finished = 0;
        let give_up = Instant::now() + Duration::from_secs(30);
        while finished < 8 * 20 && Instant::now() < give_up {
            for f in pool.wait(Duration::from_secs(1)).unwrap() {
                let i = f.client;
                let r = round[i];
                match f.result.unwrap() {
                    Ret::WriteOk => assert_eq!(r % 2, 0),
                    Ret::ReadOk(v) => assert_eq!(v, Bytes::from(format!("v{i}-{}", r / 2))),
                    other => panic!("unexpected {other:?}"),
                }
                finished += 1;
                round[i] += 1;
                let r = round[i];
                if r < 20 {
                    let op = if r.is_multiple_of(2) {
                        Op::Write(format!("v{i}-{}", r / 2).into())
                    } else {
                        Op::Read
                    };
                    pool.start(i, key(i), op).unwrap();
                }
            }
        }
        assert_eq!(finished, 160, "every operation finished");
        assert!((0..8).all(|i| !pool.busy(i)));
        assert_eq!(
            recorder.check(Duration::from_secs(10)),
            crate::history::Verdict::Linearizable
        );
    }

    /// `wait` with no time left still learns what arrived: a caller that
    /// only ever polls with a zero wait sees its operations finish.
    #[test]
    fn zero_waits_make_progress() {
        let mut cluster = LocalCluster::start(&LocalSpec::figure5(2)).unwrap();
        let clients = (0..2).map(|i| cluster.client(i).unwrap()).collect();
        let mut pool = ClientPool::new(clients).unwrap();
        for i in 0..2 {
            pool.start(i, Bytes::from(format!("rw/z{i}")), Op::Write("v".into()))
                .unwrap();
        }
        let mut finished = 0;
        let give_up = Instant::now() + Duration::from_secs(10);
        while finished < 2 && Instant::now() < give_up {
            for f in pool.wait(Duration::ZERO).unwrap() {
                assert_eq!(f.result.unwrap(), Ret::WriteOk);
                finished += 1;
            }
        }
        assert_eq!(finished, 2);
    }
}
