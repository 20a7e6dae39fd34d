//! Model configurations: which algorithm, which servers in which sites, the
//! replica set and local sets, the clients and their operations, the
//! network, the crash bound; and the named configurations of record.

use serde::Serialize;
use std::sync::Arc;
use vivace_spec::client::Client;
use vivace_spec::clock::{Clock, ClockMode};
use vivace_spec::replica::Server;
use vivace_spec::{
    Algorithm, Bytes, Command, Deployment, Directory, Id, Key, Mutation, Node, Op, Options, Site,
    TimestampMode,
};

/// Site A: the clients' site in the paper's Figure 5.
pub const A: Site = 0;
/// Site B: the remote site.
pub const B: Site = 1;

/// The network the model explores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Network {
    /// Unordered, non-duplicating, reliable: any message may be delivered next.
    Unordered,
    /// Unordered and lossy: the network may lose up to `drops` messages.
    /// Actors retransmit on timers; a timer fires once nothing is in flight to
    /// or from its actor (a timeout longer than any delay), and up to
    /// `spurious` times at any moment (a timeout that fired too early, which
    /// duplicates a request).
    Lossy {
        /// Messages the network may lose.
        drops: u8,
        /// Early timer firings.
        spurious: u8,
    },
}

impl Network {
    /// Loss budget.
    pub fn max_drops(self) -> u8 {
        match self {
            Network::Unordered => 0,
            Network::Lossy { drops, .. } => drops,
        }
    }
    /// Early-firing budget.
    pub fn max_spurious(self) -> u8 {
        match self {
            Network::Unordered => 0,
            Network::Lossy { spurious, .. } => spurious,
        }
    }
}

/// A client of the model: its site and its operations, run in order.
#[derive(Clone, Debug, Serialize)]
pub struct ClientSpec {
    /// Its site.
    pub site: Site,
    /// Its operations.
    pub ops: Vec<Op>,
}

/// Everything that defines one model.
#[derive(Clone, Debug, Serialize)]
pub struct ModelConfig {
    /// Name of the configuration (`base`, `crash`, ...).
    pub name: String,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Site of each server; server `i` has id `i`.
    pub servers: Vec<Site>,
    /// The replica set (server ids).
    pub replicas: Vec<usize>,
    /// The local set of each site (server ids).
    pub local_sets: Vec<(Site, Vec<usize>)>,
    /// The clients; client `j` has id `servers.len() + j`.
    pub clients: Vec<ClientSpec>,
    /// The network.
    pub network: Network,
    /// How many servers may crash.
    pub max_crashes: usize,
    /// How writers get timestamps.
    pub timestamps: TimestampMode,
    /// How the clock behaves.
    #[serde(skip)]
    pub clock: ClockMode,
    /// Commit wait in clock ticks (0: none); see `vivace_spec::clock::Clock`.
    pub commit_wait: u64,
    /// Every client writes the same node id into its timestamps, so two
    /// clients can produce equal timestamps (with [`ClockMode::PerClient`]).
    pub shared_ts_node: bool,
    /// Optimization switches.
    pub options: Options,
    /// A deliberate bug, for mutants.
    pub mutation: Mutation,
    /// Remove messages whose delivery can no longer change anything (see
    /// `VivaceModel::collect_dead`). On in every configuration of record.
    pub collect_dead_messages: bool,
    /// Visit one state per class of states equal up to renaming
    /// interchangeable servers (see `symmetry`). On in every configuration
    /// of record.
    pub symmetry: bool,
    /// Partial-order reduction (see `VivaceModel::ample`).
    pub partial_order: bool,
    /// Only this server may crash (`max_crashes` still bounds the crashes).
    /// Set by the crash split (see `run::check`), not by hand.
    pub crash_only: Option<usize>,
    /// Check `max_crashes(1)` as one search per class of interchangeable
    /// servers, in each of which only that server may crash (see
    /// `run::check`). On in every configuration of record.
    pub split_crashes: bool,
    /// Delegating to a replica (Section 3.4.2): a client's delegation
    /// timer fires only once its delegate is quiet too (see
    /// `VivaceModel::delegate_quiet`). Set by
    /// [`ModelConfig::shrink_delegation`] where a crash or a loss can
    /// happen.
    pub takeover_waits_for_delegate: bool,
}

/// The key every model operation uses.
pub fn key() -> Key {
    Key::from("x")
}

fn write(v: &str) -> Op {
    Op::Write(Bytes::from(v))
}

fn append(v: &str) -> Op {
    Op::Execute(Command::Append(Bytes::from(v)))
}

impl ModelConfig {
    /// `base` (issue 2): 2 clients in site A; replicas 1, 2, 3 (ids 0, 1, 2)
    /// with replica 1 in site A and 2, 3 in site B; local set 1, 4, 5 in
    /// site A (ids 0, 3, 4), as in the paper's Figure 5. RW: each client
    /// writes then reads; RMW: each client runs two executes.
    pub fn base(algorithm: Algorithm) -> ModelConfig {
        let clients = if algorithm.is_rmw() {
            vec![
                ClientSpec {
                    site: A,
                    ops: vec![append("a"), append("a")],
                },
                ClientSpec {
                    site: A,
                    ops: vec![append("b"), append("b")],
                },
            ]
        } else {
            vec![
                ClientSpec {
                    site: A,
                    ops: vec![write("a"), Op::Read],
                },
                ClientSpec {
                    site: A,
                    ops: vec![write("b"), Op::Read],
                },
            ]
        };
        ModelConfig {
            name: "base".into(),
            algorithm,
            servers: vec![A, B, B, A, A],
            replicas: vec![0, 1, 2],
            local_sets: vec![(A, vec![0, 3, 4])],
            clients,
            network: Network::Unordered,
            max_crashes: 0,
            timestamps: TimestampMode::Clock,
            clock: ClockMode::Synchronized,
            commit_wait: 0,
            shared_ts_node: false,
            options: Options::default(),
            mutation: Mutation::None,
            collect_dead_messages: true,
            symmetry: true,
            partial_order: true,
            crash_only: None,
            split_crashes: true,
            takeover_waits_for_delegate: false,
        }
    }

    /// `crash`: `base` where any one server may crash. For Algorithm 3,
    /// each client runs one execute, not two (see [`ModelConfig::shrink_rmw`]).
    pub fn crash(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = ModelConfig {
            name: "crash".into(),
            max_crashes: 1,
            ..Self::base(algorithm)
        };
        cfg.shrink_rmw();
        cfg
    }

    /// The one shrink of a configuration of record: in `crash` and `lossy`,
    /// each client of Algorithm 3 runs one execute instead of two (the two
    /// still run concurrently). With two each, neither search finishes in
    /// 15 minutes on the project's 2-core machine even with every reduction
    /// (README, "Status"): `base` alone has 40 M states, and client 2 with
    /// one execute is not enough either (the first of the three searches
    /// of `crash` passed 112 M states at 12 minutes).
    pub fn shrink_rmw(&mut self) {
        if self.algorithm == Algorithm::VivaceRmw {
            for c in &mut self.clients {
                c.ops.truncate(1);
            }
        }
    }

    /// The shrink of `lossy` with the parallel write-back: client 2 only
    /// reads (client 1 still writes then reads, so client 2's read can
    /// see the write half done, fail C1 and write back in parallel). The
    /// write-back's messages interleave with the data phase, about 7 times
    /// the states of the configuration without it (`base`: 937,717 against
    /// 134,904); `lossy` without the switch has 160 M, so the full one
    /// would be about 1.1 G states and 17 GB, beyond the project's 2-core,
    /// 23 GB machine.
    pub fn shrink_parallel(&mut self) {
        if self.options.parallel_writeback
            && matches!(self.network, Network::Lossy { .. })
            && self.clients.len() > 1
        {
            self.clients[1].ops.retain(|op| *op == Op::Read);
        }
    }

    /// The shrink of every configuration with executing commands at
    /// replicas (Section 3.4.2): each client runs one execute (the two still
    /// run concurrently), as in `crash` and `lossy` without the switch. The
    /// EXEC phase adds its parked waits, `exec_buf` and, through its
    /// fallback, the whole of Algorithm 3's own path: `small` with two
    /// executes per client (3 servers) passed 38.6 M states after 376 s
    /// without finishing, where `base` without the switch has 51 M in all.
    pub fn shrink_exec(&mut self) {
        if self.options.execute_at_replicas {
            for c in &mut self.clients {
                c.ops.truncate(1);
            }
        }
    }

    /// The bound of every configuration with delegation (Section 3.4.2). A
    /// client may take its operation over at any moment its delegate is at
    /// work (the timer of an asynchronous system), and the delegate goes
    /// on: two coordinators then run one operation, and their steps
    /// interleave. `tiny` (one operation each, 3 servers) has 1,534
    /// states without delegation and 385,341 with it; `small` with two
    /// operations each did not finish in 10 minutes. So:
    /// - without faults (`base`, `cross-site`), each client runs one
    ///   operation (RW: client 1 writes while client 2 reads; RMW: one
    ///   execute each), and the takeover can happen at any moment;
    /// - where a crash or a loss can happen (`crash`, `lossy`), the
    ///   workload is the configuration's own, and a client's delegation
    ///   timer fires only once its delegate is quiet too
    ///   ([`ModelConfig::takeover_waits_for_delegate`]): `vivace_rw/crash`
    ///   with takeovers at any moment passed 47 M states in the first of
    ///   its three crash searches after 753 s, one operation each. The
    ///   takeover at any moment with a crash or a loss is checked in the
    ///   tests on `tiny` (`proofs/tests/configs.rs`).
    pub fn shrink_delegation(&mut self) {
        if !self.options.delegation {
            return;
        }
        if self.max_crashes > 0 || self.network != Network::Unordered {
            self.takeover_waits_for_delegate = true;
        } else if self.algorithm.is_rmw() {
            for c in &mut self.clients {
                c.ops.truncate(1);
            }
        } else if self.clients.len() > 1 {
            self.clients[0].ops.truncate(1);
            self.clients[1].ops = vec![Op::Read];
        }
    }

    /// `takeover-crash` and `takeover-lossy` (Section 3.4.2, delegation on):
    /// `tiny` with any one server crashing, or a lossy network with
    /// retransmission, and a client's takeover from its delegate at any
    /// moment the delegate is at work: what `crash+delegation` and
    /// `lossy+delegation` leave out (see [`ModelConfig::shrink_delegation`]).
    /// `tiny`'s local set is one server, also the delegate: its crash can
    /// block a write and lose a value, so these check safety
    /// (`linearizable`) and that the takeover happens, not `progress` and
    /// `durable` (see `properties::for_config`).
    pub fn takeover(algorithm: Algorithm, name: &str) -> ModelConfig {
        let mut cfg = Self::tiny(algorithm);
        cfg.name = name.into();
        if name.ends_with("crash") {
            cfg.max_crashes = 1;
        } else {
            cfg.network = Network::Lossy {
                drops: 1,
                spurious: 0,
            };
            cfg.options.retransmit = true;
        }
        cfg.options.delegation = true;
        cfg
    }

    /// `lossy`: `base` on a lossy network with retransmission: the network
    /// may lose any one message; timers fire once their actor is quiet (no
    /// early firing: see README, "Configurations"). For Algorithm 3, each
    /// client runs one execute (see [`ModelConfig::shrink_rmw`]).
    pub fn lossy(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = Self::base(algorithm);
        cfg.name = "lossy".into();
        cfg.network = Network::Lossy {
            drops: 1,
            spurious: 0,
        };
        cfg.options.retransmit = true;
        cfg.shrink_rmw();
        cfg
    }

    /// `cross-site`: client 1 in site A, client 2 in site B, each site with
    /// its own local set; so a read in one site can need a value that sits
    /// only at the other site's local replicas (the worst case of Figure 3).
    pub fn cross_site(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = Self::base(algorithm);
        cfg.name = "cross-site".into();
        cfg.clients[1].site = B;
        // ids: 0 A replica+local, 1 B replica+local, 2 B replica, 3 A local, 4 B local
        cfg.servers = vec![A, B, B, A, B];
        cfg.local_sets = vec![(A, vec![3]), (B, vec![4])];
        cfg
    }

    /// `small`: three servers, replica 1 in site A (also the local set of
    /// one) and replicas 2, 3 in site B; the clients and operations of
    /// `base`. Small enough for the tests to check exhaustively in seconds.
    pub fn small(algorithm: Algorithm) -> ModelConfig {
        ModelConfig {
            name: "small".into(),
            servers: vec![A, B, B],
            replicas: vec![0, 1, 2],
            local_sets: vec![(A, vec![0])],
            ..Self::base(algorithm)
        }
    }

    /// `tiny`: `small` with one operation per client (a write and a read,
    /// or two executes).
    pub fn tiny(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = Self::small(algorithm);
        cfg.name = "tiny".into();
        if algorithm.is_rmw() {
            cfg.clients[0].ops.truncate(1);
            cfg.clients[1].ops.truncate(1);
        } else {
            cfg.clients[0].ops.truncate(1);
            cfg.clients[1].ops = vec![Op::Read];
        }
        cfg
    }

    /// The configuration Stateright's linearizable-register example checks
    /// by default: clock-free ABD, 3 servers, 2 clients that each write then
    /// read, unordered non-duplicating network.
    pub fn stateright_default() -> ModelConfig {
        ModelConfig {
            name: "stateright-default".into(),
            servers: vec![A, A, A],
            replicas: vec![0, 1, 2],
            local_sets: vec![],
            timestamps: TimestampMode::QueryMajority,
            ..Self::base(Algorithm::Abd)
        }
    }

    /// `skew`: clocks that are not synchronized. `small`, where client 1
    /// writes `a`, and client 2 reads, writes `b` and reads again, with
    /// client 2's clock 2 ticks behind: its write, invoked after client 1's
    /// completed, can take a lower timestamp. With the paper's timestamps
    /// (synchronized clocks assumed) this refutes Algorithm 1 (the mutant
    /// `clock-goes-backwards`); `skew-clock-free` (timestamps from a
    /// majority, no clock) and `skew-commit-wait` (wait out 2 ticks of
    /// uncertainty) must hold under the same skew.
    pub fn skew(algorithm: Algorithm) -> ModelConfig {
        Self::skew_by(algorithm, 2)
    }

    /// [`ModelConfig::skew`] with client 2's clock `lag` ticks behind.
    pub fn skew_by(algorithm: Algorithm, lag: u64) -> ModelConfig {
        let mut cfg = Self::small(algorithm);
        cfg.name = "skew".into();
        cfg.clients = vec![
            ClientSpec {
                site: A,
                ops: vec![write("a")],
            },
            ClientSpec {
                site: A,
                ops: vec![Op::Read, write("b"), Op::Read],
            },
        ];
        cfg.clock = ClockMode::Lagging(vec![(Id::from(cfg.servers.len() + 1), lag)]);
        cfg
    }

    /// Configurations checked by `check --all` besides [`Self::OF_RECORD`].
    pub fn extra_of_record(algorithm: Algorithm) -> &'static [&'static str] {
        match algorithm {
            Algorithm::Abd => &[
                "stateright-default",
                "base+writeback_skip",
                "crash+writeback_skip",
                "lossy+writeback_skip",
                "cross-site+writeback_skip",
            ],
            Algorithm::VivaceRw => &[
                "skew-clock-free",
                "skew-commit-wait",
                "base+writeback_skip",
                "crash+writeback_skip",
                "lossy+writeback_skip",
                "cross-site+writeback_skip",
                "base+parallel_writeback",
                "crash+parallel_writeback",
                "lossy+parallel_writeback",
                "cross-site+parallel_writeback",
                "base+fewer_replicas",
                "crash+fewer_replicas",
                "lossy+fewer_replicas",
                "cross-site+fewer_replicas",
                "base+delegation",
                "crash+delegation",
                "lossy+delegation",
                "cross-site+delegation",
                "takeover-crash",
                "takeover-lossy",
            ],
            Algorithm::VivaceRmw => &[
                "base+execute_at_replicas",
                "crash+execute_at_replicas",
                "lossy+execute_at_replicas",
                "cross-site+execute_at_replicas",
                "base+delegation",
                "crash+delegation",
                "lossy+delegation",
                "cross-site+delegation",
                "takeover-crash",
                "takeover-lossy",
            ],
            _ => &[],
        }
    }

    /// Configuration by name. `NAME+SWITCH` is configuration `NAME` with
    /// that optimization switched on (Section 3.4.1): `writeback_skip`
    /// (ABD and Algorithm 1), `parallel_writeback` and `fewer_replicas`
    /// (Algorithm 1), `execute_at_replicas` (Algorithm 3, Section 3.4.2),
    /// `delegation` (Algorithms 1 and 3, Section 3.4.2); switches combine (`base+writeback_skip+fewer_replicas`).
    pub fn named(algorithm: Algorithm, name: &str) -> Option<ModelConfig> {
        if let Some((base, switch)) = name.rsplit_once('+') {
            let mut cfg = Self::named(algorithm, base)?;
            cfg.name = name.into();
            let o = &mut cfg.options;
            match (switch, algorithm) {
                ("writeback_skip", Algorithm::Abd | Algorithm::VivaceRw) => o.writeback_skip = true,
                ("parallel_writeback", Algorithm::VivaceRw) => {
                    o.parallel_writeback = true;
                    cfg.shrink_parallel();
                }
                ("fewer_replicas", Algorithm::VivaceRw) => o.fewer_replicas = true,
                ("execute_at_replicas", Algorithm::VivaceRmw) => {
                    o.execute_at_replicas = true;
                    cfg.shrink_exec();
                }
                ("delegation", Algorithm::VivaceRw | Algorithm::VivaceRmw) => {
                    o.delegation = true;
                    cfg.shrink_delegation();
                }
                _ => return None,
            }
            return Some(cfg);
        }
        Some(match name {
            "base" => Self::base(algorithm),
            "crash" => Self::crash(algorithm),
            "lossy" => Self::lossy(algorithm),
            "cross-site" => Self::cross_site(algorithm),
            "stateright-default" if algorithm == Algorithm::Abd => Self::stateright_default(),
            "small" => Self::small(algorithm),
            "skew" if !algorithm.is_rmw() => Self::skew(algorithm),
            "skew-clock-free" if !algorithm.is_rmw() => ModelConfig {
                name: "skew-clock-free".into(),
                timestamps: TimestampMode::QueryMajority,
                ..Self::skew(algorithm)
            },
            "skew-commit-wait" if !algorithm.is_rmw() => ModelConfig {
                name: "skew-commit-wait".into(),
                commit_wait: 2,
                ..Self::skew(algorithm)
            },
            "tiny" => Self::tiny(algorithm),
            "takeover-crash" | "takeover-lossy" if algorithm.uses_local_set() => {
                Self::takeover(algorithm, name)
            }
            _ => return None,
        })
    }

    /// Names of the configurations of record.
    pub const OF_RECORD: [&'static str; 4] = ["base", "crash", "lossy", "cross-site"];

    /// The optimization switches on, by name (`check --json`).
    pub fn optimizations(&self) -> Vec<String> {
        let mut v = Vec::new();
        let o = &self.options;
        for (on, name) in [
            (o.writeback_skip, "writeback_skip"),
            (o.parallel_writeback, "parallel_writeback"),
            (o.fewer_replicas, "fewer_replicas"),
            (o.execute_at_replicas, "execute_at_replicas"),
            (o.delegation, "delegation"),
        ] {
            if on {
                v.push(name.to_string());
            }
        }
        v
    }

    /// How writers get timestamps, for `check --json`: `synchronized` (the
    /// paper's assumption), `skewed` (some clock lags), `clock_free` (a
    /// query of a majority, as ABD's write), or `commit_wait` (skewed
    /// clocks, and a wait out of their uncertainty).
    pub fn clock_name(&self) -> &'static str {
        match (self.timestamps, &self.clock) {
            (TimestampMode::QueryMajority, _) => "clock_free",
            _ if self.commit_wait > 0 => "commit_wait",
            (_, ClockMode::Synchronized) => "synchronized",
            (_, ClockMode::Lagging(_) | ClockMode::PerClient) => "skewed",
        }
    }

    /// Id of the clock actor.
    pub fn clock_id(&self) -> Id {
        Id::from(self.servers.len() + self.clients.len())
    }

    /// Builds the shared deployment and the actors (servers, clients, clock).
    pub fn build(&self) -> (Arc<Deployment>, Vec<Node>) {
        let ids = |v: &[usize]| v.iter().map(|&i| Id::from(i)).collect::<Vec<_>>();
        let mut sites: Vec<Site> = self.servers.clone();
        sites.extend(self.clients.iter().map(|c| c.site));
        sites.push(A);
        let directory = Directory::single(
            self.algorithm,
            ids(&self.replicas),
            self.local_sets.iter().map(|(s, v)| (*s, ids(v))).collect(),
        );
        let deployment = Arc::new(Deployment {
            directory,
            sites,
            clock: self.clock_id(),
            timestamps: self.timestamps,
            options: self.options.clone(),
            mutation: self.mutation,
        });
        let mut actors: Vec<Node> = self
            .servers
            .iter()
            .map(|_| {
                Node::Server(Server {
                    deployment: deployment.clone(),
                })
            })
            .collect();
        for (j, c) in self.clients.iter().enumerate() {
            let id = Id::from(self.servers.len() + j);
            let script = c.ops.iter().map(|op| (key(), op.clone())).collect();
            let mut client = Client::new(deployment.clone(), id, script);
            if self.shared_ts_node {
                client.ts_node = self.servers.len() as u32;
            }
            actors.push(Node::Client(client));
        }
        actors.push(Node::Clock(Clock {
            mode: self.clock.clone(),
            commit_wait: self.commit_wait,
        }));
        (deployment, actors)
    }
}
