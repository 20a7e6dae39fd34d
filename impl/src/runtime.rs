//! The event loop that drives one spec actor ([`vivace_spec::Node`])
//! unchanged: it delivers datagrams to `on_msg`, fires timers into
//! `on_timeout`, and interprets the `Out` commands (sends by class, timers).
//!
//! Two kinds of message are delivered in-process, in the same step, exactly
//! as the model checker does: a message a node sends to itself, and the
//! clock role's answer to `ClockReq` (from the node's own clock, strictly
//! increasing microseconds, with an optional commit-wait).

use crate::config::{check_runnable, ClusterConfig, Role};
use crate::net::{CounterSnapshot, Counters, Endpoint, Faults, Received, Rng, Sockets};
use mio::{Events, Interest, Poll, Token, Waker};
use stateright::actor::{Actor, Command, Out};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vivace_spec::replica::Server;
use vivace_spec::{Class, Id, Msg, Node, NodeState};

const PRIORITY: Token = Token(0);
const NORMAL: Token = Token(1);
const WAKE: Token = Token(2);
/// Datagrams handled before timers are looked at again.
const BATCH: usize = 256;
/// Received datagrams handled between two flushes of the outbox within a
/// pass: bounds the delay a batch adds to a reply.
const FLUSH_EVERY: usize = 32;

/// Errors of starting or running a node.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No node of that name in the configuration.
    #[error("no node named {0:?} in the configuration")]
    UnknownNode(String),
    /// The node has the wrong role for what was asked.
    #[error("node {name:?} is a {found}, not a {wanted}")]
    WrongRole {
        /// Node name.
        name: String,
        /// Its role.
        found: &'static str,
        /// The role needed.
        wanted: &'static str,
    },
    /// The deployment is not runnable (a mutation, no retransmission).
    #[error("refusing to run: {0}")]
    NotRunnable(String),
    /// A socket could not be bound or polled.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// Runtime knobs (not part of the cluster configuration).
#[derive(Clone, Debug, Default)]
pub struct RuntimeOptions {
    /// Test-only fault shim on outgoing datagrams.
    pub faults: Option<Faults>,
    /// Read the TOS byte of every received datagram and count it per
    /// message (see [`CounterSnapshot::tos_by_message`]).
    pub inspect_tos: bool,
    /// Emulated wide-area delays between sites (demo and tests only).
    pub wan: Option<crate::net::WanDelay>,
    /// Send every message in a datagram of its own instead of batching
    /// the messages of one pass per destination (see [`crate::net`]).
    pub unbatched: bool,
    /// Send every message in the priority class (and accept any message on
    /// the priority socket): the obvious alternative to Vivace's split,
    /// for the lab's `load` experiment. Every node of a cluster must agree.
    pub all_priority: bool,
}

/// The node's clock: `max(physical microseconds, last + 1)`.
#[derive(Clone, Debug, Default)]
pub struct NodeClock {
    last: u64,
}

impl NodeClock {
    /// A new reading, strictly above every earlier one.
    pub fn now(&mut self) -> u64 {
        let phys = now_micros();
        self.last = phys.max(self.last + 1);
        self.last
    }
}

/// Microseconds since 1970.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Nanoseconds since 1970 (history times).
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Drives one actor over one [`Endpoint`].
pub struct Driver {
    id: Id,
    actor: Node,
    state: NodeState,
    ep: Endpoint,
    poll: Poll,
    events: Events,
    timer: Option<Instant>,
    clock: NodeClock,
    clock_id: Id,
    uncertainty: Duration,
    local: VecDeque<(Id, Msg)>,
    delayed: Vec<(Instant, Id, Msg)>,
    rng: Rng,
    effect_sends: u64,
    /// The administrator's answers (ACK-SEAL, ACK-COPY, ACK-INSTALL), kept
    /// here instead of delivered to the actor once [`Driver::capture_admin`]
    /// was called (Section 3.1; [`crate::directory`]).
    admin: Option<VecDeque<(Id, Msg)>>,
}

impl Driver {
    /// A driver for `actor` with id `id` over bound sockets.
    pub fn new(
        cfg: &ClusterConfig,
        id: Id,
        actor: Node,
        sockets: Sockets,
        opts: &RuntimeOptions,
    ) -> Result<Driver, RuntimeError> {
        let deployment = match &actor {
            Node::Server(s) => s.deployment.clone(),
            Node::Client(c) => c.deployment.clone(),
            Node::Clock(_) => cfg.deployment(),
        };
        check_runnable(&deployment).map_err(RuntimeError::NotRunnable)?;
        let io_err = |what: &str| {
            let what = what.to_string();
            move |source| RuntimeError::Io { what, source }
        };
        // Each node draws its own faults.
        let faults = opts.faults.map(|mut f| {
            f.seed ^= (usize::from(id) as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
            f
        });
        let mut ep = Endpoint::new(
            sockets,
            cfg,
            faults,
            opts.inspect_tos,
            !opts.unbatched,
            opts.all_priority,
        );
        ep.set_site(id, cfg);
        if let Some(w) = opts.wan {
            ep.set_wan(w, id, cfg);
        }
        let poll = Poll::new().map_err(io_err("creating the poller"))?;
        poll.registry()
            .register(&mut ep.priority, PRIORITY, Interest::READABLE)
            .map_err(io_err("registering the priority socket"))?;
        poll.registry()
            .register(&mut ep.normal, NORMAL, Interest::READABLE)
            .map_err(io_err("registering the normal socket"))?;
        let mut d = Driver {
            id,
            actor,
            state: NodeState::Clock(Default::default()),
            ep,
            poll,
            events: Events::with_capacity(16),
            timer: None,
            clock: NodeClock::default(),
            clock_id: deployment.clock,
            uncertainty: cfg.clock_uncertainty,
            local: VecDeque::new(),
            delayed: Vec::new(),
            rng: Rng::new(usize::from(id) as u64 ^ now_nanos()),
            effect_sends: 0,
            admin: None,
        };
        let mut out = Out::new();
        d.state = d.actor.on_start(id, &None, &mut out);
        d.apply(out);
        d.drain_local();
        d.ep.flush();
        Ok(d)
    }

    /// A waker that interrupts [`Driver::poll_once`].
    pub fn waker(&self) -> io::Result<Arc<Waker>> {
        Ok(Arc::new(Waker::new(self.poll.registry(), WAKE)?))
    }

    /// The actor's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The actor.
    pub fn actor(&self) -> &Node {
        &self.actor
    }

    /// The actor's state.
    pub fn state(&self) -> &NodeState {
        &self.state
    }

    /// Changes the state through `f` and interprets the sends it returns,
    /// and the timer it asks for, if any (used by the client library to
    /// invoke operations).
    pub fn with_state<R>(
        &mut self,
        f: impl FnOnce(&Node, &mut NodeState, &mut Vec<(Id, Msg)>) -> (R, Option<Range<Duration>>),
    ) -> R {
        let mut sends = Vec::new();
        let (r, timer) = f(&self.actor, &mut self.state, &mut sends);
        let mut out = Out::new();
        for (dst, m) in sends {
            out.send(dst, m);
        }
        if let Some(after) = timer {
            out.set_timer(vivace_spec::Timer::Retransmit, after);
        }
        self.apply(out);
        self.drain_local();
        self.ep.flush();
        r
    }

    /// From now on, keeps the answers to the administrator's requests
    /// (ACK-SEAL, ACK-COPY, ACK-INSTALL) for [`Driver::take_admin`]
    /// instead of delivering them to the actor.
    pub fn capture_admin(&mut self) {
        self.admin.get_or_insert_with(VecDeque::new);
    }

    /// The administrator's answers received since the last call.
    pub fn take_admin(&mut self) -> Vec<(Id, Msg)> {
        self.admin
            .as_mut()
            .map(|q| q.drain(..).collect())
            .unwrap_or_default()
    }

    /// Sends messages that no actor produced (the administrator's), now.
    pub fn send_now(&mut self, sends: Vec<(Id, Msg)>) {
        for (dst, m) in sends {
            self.ep.send(dst, &m);
        }
        self.ep.flush();
    }

    /// How many messages that can give an RMW command its effect (OW,
    /// W-LOCAL, OW-TS) the actor has sent so far. An RMW operation that
    /// aborted before sending any of them definitely took no effect.
    pub fn effect_sends(&self) -> u64 {
        self.effect_sends
    }

    /// The node's counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.ep.counters()
    }

    /// Publishes the size of a server's propagation backlog (`local_buf`)
    /// in its counters.
    pub fn publish_backlog(&self) {
        if let NodeState::Server(s) = &self.state {
            let bytes = s.local_buf.values().map(|p| p.val.len() as u64).sum();
            self.ep
                .counters()
                .set_backlog(s.local_buf.len() as u64, bytes);
        }
    }

    fn apply(&mut self, out: Out<Node>) {
        for c in out {
            match c {
                Command::Send(dst, msg) => {
                    // A delegated execute (Section 3.4.2): the delegate may
                    // send them.
                    // (In an epoch or not: Section 3.1.)
                    let delegated_execute = matches!(
                        msg.unwrapped(),
                        Msg::Delegate {
                            op: vivace_spec::Op::Execute(_),
                            ..
                        }
                    );
                    if delegated_execute
                        || matches!(
                            msg.unwrapped(),
                            Msg::Ow { .. } | Msg::OwTs { .. } | Msg::WLocal { .. }
                        )
                    {
                        self.effect_sends += 1;
                    }
                    if dst == self.id {
                        self.local.push_back((self.id, msg));
                    } else if dst == self.clock_id {
                        if let Msg::ClockReq { req } = msg {
                            let time = self.clock.now();
                            let resp = Msg::ClockResp { req, time };
                            if self.uncertainty.is_zero() {
                                self.local.push_back((self.clock_id, resp));
                            } else {
                                let at = Instant::now() + self.uncertainty;
                                self.delayed.push((at, self.clock_id, resp));
                            }
                        }
                    } else {
                        self.ep.send(dst, &msg);
                    }
                }
                Command::SetTimer(_, range) => {
                    let span = range.end.saturating_sub(range.start).as_micros() as u64;
                    let jitter = if span == 0 {
                        0
                    } else {
                        self.rng.next_u64() % span
                    };
                    self.timer = Some(Instant::now() + range.start + Duration::from_micros(jitter));
                }
                Command::CancelTimer(_) => self.timer = None,
                _ => {}
            }
        }
    }

    fn deliver(&mut self, src: Id, msg: Msg) {
        if let Some(q) = &mut self.admin {
            if matches!(
                msg,
                Msg::AckSeal { .. } | Msg::AckCopyValues { .. } | Msg::AckInstall { .. }
            ) {
                q.push_back((src, msg));
                return;
            }
        }
        let mut out = Out::new();
        let st = std::mem::replace(&mut self.state, NodeState::Clock(Default::default()));
        let mut cow = Cow::Owned(st);
        self.actor.on_msg(self.id, &mut cow, src, msg, &mut out);
        self.state = cow.into_owned();
        self.apply(out);
    }

    fn drain_local(&mut self) {
        while let Some((src, msg)) = self.local.pop_front() {
            self.deliver(src, msg);
        }
    }

    /// Fires due timers and delayed clock replies; returns whether any was.
    fn fire_due(&mut self) -> bool {
        self.ep.flush_due();
        let now = Instant::now();
        let mut fired = false;
        if !self.delayed.is_empty() {
            let mut i = 0;
            while i < self.delayed.len() {
                if self.delayed[i].0 <= now {
                    let (_, src, m) = self.delayed.swap_remove(i);
                    self.local.push_back((src, m));
                    fired = true;
                } else {
                    i += 1;
                }
            }
            self.drain_local();
        }
        if self.timer.is_some_and(|t| t <= now) {
            self.timer = None;
            let mut out = Out::new();
            let st = std::mem::replace(&mut self.state, NodeState::Clock(Default::default()));
            let mut cow = Cow::Owned(st);
            self.actor
                .on_timeout(self.id, &mut cow, &vivace_spec::Timer::Retransmit, &mut out);
            self.state = cow.into_owned();
            self.apply(out);
            self.drain_local();
            fired = true;
        }
        self.ep.flush();
        fired
    }

    /// Handles waiting datagrams, priority first; returns how many.
    fn drain_sockets(&mut self) -> usize {
        let mut n = 0;
        while n < BATCH {
            let got = match self.ep.recv(Class::Priority) {
                Some(r) => Some(r),
                None => self.ep.recv(Class::Normal),
            };
            let Some(r) = got else { break };
            n += 1;
            if let Received::Msg(src, msg) = r {
                self.deliver(src, msg);
                self.drain_local();
            }
            if n % FLUSH_EVERY == 0 {
                self.ep.flush();
            }
        }
        self.ep.flush();
        n
    }

    /// Moves the node's two sockets from its own poller to `registry`
    /// (tokens `base` for priority and `base + 1` for normal), so that one
    /// thread can wait on many nodes ([`crate::pool::ClientPool`]). After
    /// this, drive the node with [`Driver::service`] instead of
    /// [`Driver::poll_once`].
    pub fn attach(&mut self, registry: &mio::Registry, base: usize) -> io::Result<()> {
        self.poll.registry().deregister(&mut self.ep.priority)?;
        self.poll.registry().deregister(&mut self.ep.normal)?;
        registry.register(&mut self.ep.priority, Token(base), Interest::READABLE)?;
        registry.register(&mut self.ep.normal, Token(base + 1), Interest::READABLE)
    }

    /// Fires due timers and handles waiting datagrams (at most one batch)
    /// without waiting. Returns whether a full batch was read, so that more
    /// may be waiting even though the poller will not say so again.
    pub fn service(&mut self) -> bool {
        self.fire_due();
        self.drain_sockets() == BATCH
    }

    /// Fires due timers and delayed clock replies only (no socket reads).
    pub fn fire_timers(&mut self) {
        self.fire_due();
    }

    /// The earliest instant at which a timer, a delayed clock reply or a
    /// held datagram is due.
    pub fn next_due(&self) -> Option<Instant> {
        let delayed = self.delayed.iter().map(|d| d.0).min();
        [self.timer, delayed, self.ep.next_due()]
            .into_iter()
            .flatten()
            .min()
    }

    /// One round: due timers and waiting datagrams; if there were none, a
    /// wait of at most `max_wait` for the next datagram or timer, then the
    /// datagrams that arrived. Returns after any progress, so that the
    /// caller can look at the state before the next wait.
    pub fn poll_once(&mut self, max_wait: Duration) -> io::Result<()> {
        let fired = self.fire_due();
        if self.drain_sockets() > 0 || fired {
            return Ok(());
        }
        let mut wait = max_wait;
        if let Some(t) = self.next_due() {
            wait = wait.min(t.saturating_duration_since(Instant::now()));
        }
        match self.poll.poll(&mut self.events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        self.fire_due();
        self.drain_sockets();
        Ok(())
    }
}

/// A server running on its own thread.
pub struct ServerHandle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<Result<NodeState, RuntimeError>>>,
    /// The server's id.
    pub id: Id,
}

impl ServerHandle {
    /// The server's counters now.
    pub fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }
    /// Stops the server (a crash: its sockets close, its state is gone) and
    /// returns its final state.
    pub fn stop(mut self) -> Option<NodeState> {
        self.stop_inner()
    }
    fn stop_inner(&mut self) -> Option<NodeState> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        self.thread.take().and_then(|t| t.join().ok()?.ok())
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Builds the server actor of node `name`.
pub fn server_actor(cfg: &ClusterConfig, name: &str) -> Result<(Id, Node), RuntimeError> {
    let n = cfg
        .node(name)
        .ok_or_else(|| RuntimeError::UnknownNode(name.into()))?;
    if n.role != Role::Server {
        return Err(RuntimeError::WrongRole {
            name: name.into(),
            found: "client",
            wanted: "server",
        });
    }
    Ok((
        Id::from(n.id),
        Node::Server(Server {
            deployment: cfg.deployment(),
        }),
    ))
}

/// Binds node `name`'s sockets as configured.
pub fn bind_node(
    cfg: &ClusterConfig,
    name: &str,
    opts: &RuntimeOptions,
) -> Result<Sockets, RuntimeError> {
    let n = cfg
        .node(name)
        .ok_or_else(|| RuntimeError::UnknownNode(name.into()))?;
    Sockets::bind(n.priority, n.normal, cfg.marks, opts.inspect_tos).map_err(|source| {
        RuntimeError::Io {
            what: format!("binding node {name:?} at {} and {}", n.priority, n.normal),
            source,
        }
    })
}

/// Starts server `name` on a thread over already bound sockets.
pub fn spawn_server(
    cfg: &ClusterConfig,
    name: &str,
    sockets: Sockets,
    opts: &RuntimeOptions,
) -> Result<ServerHandle, RuntimeError> {
    let (id, actor) = server_actor(cfg, name)?;
    let mut d = Driver::new(cfg, id, actor, sockets, opts)?;
    let waker = d.waker().map_err(|source| RuntimeError::Io {
        what: "creating a waker".into(),
        source,
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let counters = d.counters();
    let s2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name(format!("vivace-{name}"))
        .spawn(move || {
            let mut published = Instant::now();
            while !s2.load(Ordering::SeqCst) {
                d.poll_once(Duration::from_secs(1))
                    .map_err(|source| RuntimeError::Io {
                        what: "polling".into(),
                        source,
                    })?;
                if published.elapsed() >= Duration::from_millis(10) {
                    d.publish_backlog();
                    published = Instant::now();
                }
            }
            Ok(d.state)
        })
        .map_err(|source| RuntimeError::Io {
            what: "spawning a thread".into(),
            source,
        })?;
    Ok(ServerHandle {
        stop,
        waker,
        counters,
        thread: Some(thread),
        id,
    })
}

/// Runs server `name` in the calling thread until `stop` is set; every
/// `report` interval calls `on_report` with the counters.
pub fn serve(
    cfg: &ClusterConfig,
    name: &str,
    opts: &RuntimeOptions,
    stop: &AtomicBool,
    report: Duration,
    mut on_report: impl FnMut(&CounterSnapshot),
) -> Result<(), RuntimeError> {
    let sockets = bind_node(cfg, name, opts)?;
    let (id, actor) = server_actor(cfg, name)?;
    let mut d = Driver::new(cfg, id, actor, sockets, opts)?;
    let mut next = Instant::now() + report;
    while !stop.load(Ordering::SeqCst) {
        d.poll_once(Duration::from_millis(200))
            .map_err(|source| RuntimeError::Io {
                what: "polling".into(),
                source,
            })?;
        if Instant::now() >= next {
            d.publish_backlog();
            on_report(&d.counters().snapshot());
            next += report;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Marks, NodeConfig};
    use std::net::SocketAddr;

    #[test]
    fn clock_is_strictly_increasing() {
        let mut c = NodeClock::default();
        let mut last = 0;
        for _ in 0..10_000 {
            let t = c.now();
            assert!(t > last);
            last = t;
        }
        assert!(last >= now_micros() - 1_000_000, "physical microseconds");
    }

    #[test]
    fn refuses_mutations() {
        let a: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let cfg = ClusterConfig {
            sites: vec!["A".into()],
            nodes: vec![NodeConfig {
                name: "n1".into(),
                id: 1,
                site: 0,
                role: Role::Server,
                priority: a,
                normal: a,
            }],
            containers: vec![],
            marks: Marks::default(),
            timestamps: vivace_spec::TimestampMode::Clock,
            writeback_skip: false,
            parallel_writeback: false,
            fewer_replicas: false,
            execute_at_replicas: false,
            delegation: false,
            clock_uncertainty: Duration::ZERO,
            directory: None,
        };
        let mut d = (*cfg.deployment()).clone();
        d.mutation = vivace_spec::Mutation::RDataLowerTs;
        let actor = Node::Server(Server {
            deployment: Arc::new(d),
        });
        let s = Sockets::bind(a, a, Marks::default(), false).unwrap();
        match Driver::new(&cfg, Id::from(1), actor, s, &RuntimeOptions::default()) {
            Err(RuntimeError::NotRunnable(m)) => assert!(m.contains("RDataLowerTs"), "{m}"),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("a mutated deployment must be refused"),
        }
    }
}
