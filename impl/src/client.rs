//! The client library: one spec client actor per [`Client`], driven
//! synchronously: an operation invokes the actor and runs its event loop
//! until the actor reports the result or the deadline passes.

use crate::config::{ClusterConfig, Role};
use crate::history::{Outcome, Recorder};
use crate::net::{CounterSnapshot, Sockets};
use crate::runtime::{bind_node, Driver, RuntimeError, RuntimeOptions};
use crate::wire::MAX_VALUE;
use std::time::{Duration, Instant};
use vivace_spec::client::{Client as SpecClient, DirectoryStats, Phase};
use vivace_spec::quorum::majority;
use vivace_spec::{Bytes, Command, Container, Id, Msg, Node, NodeState, Op, Ret, Ts};

/// Why an operation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer in time, and neither [`ClientError::NoQuorum`] nor
    /// [`ClientError::ValueLost`] explains it. The operation may or may not
    /// have taken effect.
    #[error("timed out after {0:?} (the operation may or may not have taken effect)")]
    Timeout(Duration),
    /// An RMW operation aborted (⊥) because of a concurrent one. The spec
    /// says it may or may not have taken effect; the runtime knows more:
    /// when the abort came before any OW / W-LOCAL / OW-TS was sent (in the
    /// OR, OR-TS or OR-DATA phase), it definitely took no effect.
    #[error("aborted by a concurrent operation ({})", if *.maybe_applied { "it may or may not have taken effect" } else { "it took no effect" })]
    Aborted {
        /// False when the command definitely was not applied.
        maybe_applied: bool,
    },
    /// Replicas know the timestamp of the latest value but none delivered
    /// the value itself before the deadline: the local replicas that held it
    /// may be lost (Section 4.3).
    #[error("value {} not available from any replica (possibly lost)", .0.map_or("of the latest timestamp".to_string(), |t| format!("of timestamp {t:?}")))]
    ValueLost(Option<Ts>),
    /// Fewer than a majority answered a majority phase before the deadline.
    #[error("no quorum: {got} of the {needed} replies needed (phase {phase})")]
    NoQuorum {
        /// Distinct replies received.
        got: usize,
        /// Replies needed.
        needed: usize,
        /// The phase that waited.
        phase: &'static str,
    },
    /// The value is too large for one datagram.
    #[error("value of {len} bytes exceeds the limit of {limit} bytes (one UDP datagram)")]
    ValueTooLarge {
        /// Length asked for.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The key is in no container.
    #[error("key {0:?} is in no container")]
    NoContainer(String),
    /// The directory service (Section 3.1) has no metadata for the key's
    /// container (`vivace dir init` was not run), or it is unreadable.
    #[error("the directory has no metadata for container {0:?} (run `vivace dir init`)")]
    NoMetadata(String),
    /// The operation does not exist for the object's type.
    #[error("{op} is not an operation of {algorithm} objects")]
    WrongOperation {
        /// The operation.
        op: &'static str,
        /// The container's algorithm.
        algorithm: &'static str,
    },
    /// Starting the client failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// A client of the cluster: runs one operation at a time.
pub struct Client {
    driver: Driver,
    id: Id,
    timeout: Duration,
    recorder: Option<Recorder>,
    pending: Option<Pending>,
    /// Since when the client coordinates its operations itself because
    /// its delegate timed out (Section 3.4.2).
    delegate_timed_out_at: Option<Instant>,
}

/// How long a client whose delegate timed out coordinates its operations
/// itself before it tries its delegate again.
pub const DELEGATE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The operation a [`Client`] has in progress.
struct Pending {
    /// Operations the actor had finished before this one.
    before: usize,
    /// Effect sends before this one (see [`Driver::effect_sends`]).
    effects: u64,
    deadline: Instant,
    /// Its id in the history recorder.
    hid: Option<u64>,
}

impl Client {
    /// Binds the sockets of client `name` as configured and starts it.
    pub fn connect(
        cfg: &ClusterConfig,
        name: &str,
        opts: &RuntimeOptions,
    ) -> Result<Client, ClientError> {
        let sockets = bind_node(cfg, name, opts)?;
        Client::with_sockets(cfg, name, sockets, opts)
    }

    /// Starts client `name` over already bound sockets.
    pub fn with_sockets(
        cfg: &ClusterConfig,
        name: &str,
        sockets: Sockets,
        opts: &RuntimeOptions,
    ) -> Result<Client, ClientError> {
        let n = cfg
            .node(name)
            .ok_or_else(|| RuntimeError::UnknownNode(name.into()))?;
        if n.role != Role::Client {
            return Err(RuntimeError::WrongRole {
                name: name.into(),
                found: "server",
                wanted: "client",
            }
            .into());
        }
        let id = Id::from(n.id);
        let actor = Node::Client(SpecClient::new(cfg.deployment(), id, Vec::new()));
        let driver = Driver::new(cfg, id, actor, sockets, opts)?;
        Ok(Client {
            driver,
            id,
            timeout: Duration::from_secs(5),
            recorder: None,
            pending: None,
            delegate_timed_out_at: None,
        })
    }

    /// Sets the per-operation deadline (default 5 s).
    pub fn set_timeout(&mut self, t: Duration) {
        self.timeout = t;
    }

    /// Records every operation in `recorder`.
    pub fn record(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    /// The client's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Phases (`sendwait`s, including the clock's) the client has started
    /// since it was created: the difference over one operation is that
    /// operation's number of phases.
    pub fn phases(&self) -> u64 {
        match self.driver.state() {
            NodeState::Client(s) => u64::from(s.next_req),
            _ => 0,
        }
    }

    /// The client's network counters.
    pub fn counters(&self) -> CounterSnapshot {
        self.driver.counters().snapshot()
    }

    /// What the directory service (Section 3.1) made this client do so far:
    /// directory reads, operations interrupted by STALE, reads started
    /// over, writes redone, executes aborted.
    pub fn directory_stats(&self) -> DirectoryStats {
        match self.driver.state() {
            NodeState::Client(s) => s.directory,
            _ => DirectoryStats::default(),
        }
    }

    /// The metadata of container `prefix` this client read from the
    /// directory and caches, if any.
    pub fn cached(&self, prefix: &str) -> Option<Container> {
        match self.driver.state() {
            NodeState::Client(s) => s.cache.get(&Bytes::from(prefix)).cloned(),
            _ => None,
        }
    }

    /// The administrator's exchange (Section 3.1, [`crate::directory`]):
    /// sends `sends` from this client's sockets, waits at most `wait` for
    /// datagrams, and returns the answers to the administrator's requests
    /// that came (the client actor handles everything else as usual).
    pub(crate) fn admin_round(
        &mut self,
        sends: Vec<(Id, Msg)>,
        wait: Duration,
    ) -> Result<Vec<(Id, Msg)>, ClientError> {
        self.driver.capture_admin();
        self.driver.send_now(sends);
        let mut got = self.driver.take_admin();
        if got.is_empty() {
            self.driver
                .poll_once(wait)
                .map_err(|source| RuntimeError::Io {
                    what: "polling".into(),
                    source,
                })?;
            got = self.driver.take_admin();
        }
        Ok(got)
    }

    /// `write(key, value)` of an RW object.
    pub fn write(
        &mut self,
        key: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<(), ClientError> {
        self.run(key.into(), Op::Write(value.into())).map(|_| ())
    }

    /// `read(key)` of an RW object.
    pub fn read(&mut self, key: impl Into<Bytes>) -> Result<Bytes, ClientError> {
        match self.run(key.into(), Op::Read)? {
            Ret::ReadOk(v) => Ok(v),
            other => unreachable!("a read returns ReadOk, got {other:?}"),
        }
    }

    /// `execute(key, command)` of an RMW object; returns the command's result.
    pub fn execute(
        &mut self,
        key: impl Into<Bytes>,
        command: Command,
    ) -> Result<Bytes, ClientError> {
        match self.run(key.into(), Op::Execute(command))? {
            Ret::ExecuteOk(v) => Ok(v),
            other => unreachable!("an execute returns ExecuteOk, got {other:?}"),
        }
    }

    fn spec(&self) -> &SpecClient {
        match self.driver.actor() {
            Node::Client(c) => c,
            _ => unreachable!("a Client drives a client actor"),
        }
    }

    fn validate(&self, key: &Bytes, op: &Op) -> Result<(), ClientError> {
        let d = &self.spec().deployment;
        let Some(c) = d.directory.lookup(key) else {
            return Err(ClientError::NoContainer(
                String::from_utf8_lossy(key.as_slice()).into(),
            ));
        };
        let ok = matches!(
            (c.algorithm.is_rmw(), op),
            (true, Op::Execute(_)) | (false, Op::Read | Op::Write(_))
        );
        if !ok {
            return Err(ClientError::WrongOperation {
                op: match op {
                    Op::Read => "read",
                    Op::Write(_) => "write",
                    Op::Execute(_) => "execute",
                },
                algorithm: c.algorithm.name(),
            });
        }
        let size = key.len()
            + match op {
                Op::Write(v) => v.len(),
                Op::Execute(Command::Append(s)) => s.len(),
                Op::Execute(Command::Cas { from, to }) => from.len() + to.len(),
                _ => 0,
            };
        if size > MAX_VALUE {
            return Err(ClientError::ValueTooLarge {
                len: size,
                limit: MAX_VALUE,
            });
        }
        Ok(())
    }

    /// Runs any operation and waits for its result (or its deadline).
    pub fn run(&mut self, key: Bytes, op: Op) -> Result<Ret, ClientError> {
        self.start(key, op)?;
        loop {
            if let Some(r) = self.poll_result(Instant::now()) {
                return r;
            }
            let wait = self.pending.as_ref().map_or(Duration::ZERO, |p| {
                p.deadline.saturating_duration_since(Instant::now())
            });
            self.driver
                .poll_once(wait)
                .map_err(|source| RuntimeError::Io {
                    what: "polling".into(),
                    source,
                })?;
        }
    }

    /// Starts an operation without waiting for it (the client must have
    /// none in progress): validates it, records its invocation and sends
    /// its first phase. [`Client::poll_result`] tells when it is over.
    /// An invalid operation is refused here (and recorded as failed).
    pub(crate) fn start(&mut self, key: Bytes, op: Op) -> Result<(), ClientError> {
        assert!(self.pending.is_none(), "one operation at a time per client");
        let hid = self
            .recorder
            .as_ref()
            .map(|r| r.invoke(self.history_id(), &key, &op));
        if let Err(e) = self.validate(&key, &op) {
            // Recorded as every ending is, by `finish`.
            self.pending = Some(Pending {
                before: 0,
                effects: 0,
                deadline: Instant::now(),
                hid,
            });
            return self.finish(Err(e)).map(|_| ());
        }
        let before = self.done_len();
        let effects = self.driver.effect_sends();
        let now = Instant::now();
        let since = &mut self.delegate_timed_out_at;
        self.driver.with_state(|actor, state, sends| {
            let (Node::Client(c), NodeState::Client(s)) = (actor, state) else {
                unreachable!("a Client drives a client actor")
            };
            // Try the delegate again some time after it timed out.
            match (s.delegate_timed_out, *since) {
                (true, None) => *since = Some(now),
                (true, Some(t)) if now - t >= DELEGATE_RETRY_AFTER => {
                    c.trust_delegate(s);
                    *since = None;
                }
                _ => {}
            }
            c.invoke(s, key, op, sends);
            // As the spec's Node does on start: arm the timer if the
            // operation's first phase needs it.
            let timer = c.needs_timer(s).then(|| c.timer_after(s));
            ((), timer)
        });
        self.pending = Some(Pending {
            before,
            effects,
            deadline: Instant::now() + self.timeout,
            hid,
        });
        Ok(())
    }

    /// The result of the operation in progress, once the actor reported it
    /// or its deadline passed at `now`; `None` while it is still running
    /// (or when none is in progress).
    pub(crate) fn poll_result(&mut self, now: Instant) -> Option<Result<Ret, ClientError>> {
        let p = self.pending.as_ref()?;
        let r = if let Some(ret) = self.result_after(p.before) {
            match ret {
                Ret::Aborted => Err(ClientError::Aborted {
                    maybe_applied: self.driver.effect_sends() != p.effects,
                }),
                r => Ok(r),
            }
        } else if now >= p.deadline {
            Err(self.why_stuck())
        } else {
            return None;
        };
        Some(self.finish(r))
    }

    /// Whether an operation is in progress, and until when at most.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.deadline)
    }

    /// The node driver (the pool services it).
    pub(crate) fn driver_mut(&mut self) -> &mut Driver {
        &mut self.driver
    }

    /// The client's number in the recorded history.
    fn history_id(&self) -> u64 {
        usize::from(self.id) as u64
    }

    /// Ends the operation in progress with `result`: records its outcome.
    fn finish(&mut self, result: Result<Ret, ClientError>) -> Result<Ret, ClientError> {
        let p = self.pending.take().expect("an operation in progress");
        if let (Some(r), Some(hid)) = (&self.recorder, p.hid) {
            let outcome = match &result {
                Ok(Ret::ReadOk(v)) | Ok(Ret::ExecuteOk(v)) => Outcome::Ok(Some(v.clone())),
                Ok(Ret::WriteOk) => Outcome::Ok(None),
                Ok(Ret::Aborted)
                | Err(ClientError::Aborted {
                    maybe_applied: true,
                }) => Outcome::Unknown,
                Err(ClientError::Aborted {
                    maybe_applied: false,
                }) => Outcome::Fail,
                Err(
                    ClientError::ValueTooLarge { .. }
                    | ClientError::NoContainer(_)
                    | ClientError::WrongOperation { .. },
                ) => Outcome::Fail,
                // NoMetadata: unknown too (conservative), as a write redone
                // after STALE may have taken effect in the old epoch.
                Err(_) => Outcome::Unknown,
            };
            r.complete(self.history_id(), hid, outcome);
        }
        result
    }

    fn done_len(&self) -> usize {
        match self.driver.state() {
            NodeState::Client(s) => s.done.len(),
            _ => 0,
        }
    }

    fn result_after(&self, before: usize) -> Option<Ret> {
        match self.driver.state() {
            NodeState::Client(s) if s.done.len() > before => s.done.last().cloned(),
            _ => None,
        }
    }

    /// Classifies an operation that missed its deadline.
    fn why_stuck(&self) -> ClientError {
        let NodeState::Client(s) = self.driver.state() else {
            return ClientError::Timeout(self.timeout);
        };
        if let Some(l) = &s.lookup {
            if l.empty {
                return ClientError::NoMetadata(
                    String::from_utf8_lossy(l.prefix.as_slice()).into(),
                );
            }
        }
        let Some(cur) = &s.current else {
            return ClientError::Timeout(self.timeout);
        };
        let replicas = self
            .spec()
            .container(s, &cur.key)
            .map_or(0, |c| c.replicas.len());
        let got = cur.votes.from.len();
        let quorum =
            |phase: &'static str, needed: usize| ClientError::NoQuorum { got, needed, phase };
        match &cur.phase {
            Phase::RData { mts, .. }
            | Phase::RDataWb {
                mts, data: None, ..
            } => ClientError::ValueLost(Some(*mts)),
            Phase::OrData { .. } => ClientError::ValueLost(None),
            Phase::Clock | Phase::Delegated { .. } => ClientError::Timeout(self.timeout),
            Phase::WLocal { .. } => quorum("W-LOCAL", majority(cur.to.len())),
            p => quorum(phase_name(p), majority(replicas)),
        }
    }
}

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Clock => "clock",
        Phase::AbdTsQuery { .. } => "QUERY-TS",
        Phase::AbdQuery { .. } => "QUERY",
        Phase::AbdStore { .. } => "STORE",
        Phase::RTs { .. } | Phase::RTsForWrite { .. } => "R-TS",
        Phase::RData { .. } => "R-DATA",
        Phase::WTs { .. } | Phase::RDataWb { .. } => "W-TS",
        Phase::WLocal { .. } => "W-LOCAL",
        Phase::Or { .. } => "OR",
        Phase::Ow { .. } => "OW",
        Phase::OrTs { .. } => "OR-TS",
        Phase::OrData { .. } => "OR-DATA",
        Phase::Exec { .. } => "EXEC",
        Phase::OwTs { .. } => "OW-TS",
        Phase::Delegated { .. } => "DELEGATE",
    }
}
