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
    /// Which servers may crash (`None`: any).
    pub crashable: Option<Vec<usize>>,
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

/// Where the servers are, which are replicas, and the local sets: ids are
/// positions; the paper's replicas 1..3 are ids 0..2.
struct Layout {
    servers: Vec<Site>,
    local_sets: Vec<(Site, Vec<usize>)>,
}

impl Layout {
    /// Three servers: replica 1 in site A, also the local set of one;
    /// replicas 2 and 3 in site B.
    fn three() -> Layout {
        Layout {
            servers: vec![A, B, B],
            local_sets: vec![(A, vec![0])],
        }
    }

    /// Four servers: replica 1 and a local replica that is no replica
    /// (id 3, the local set of one) in site A; replicas 2 and 3 in site B.
    /// A write can complete with its value at no replica yet.
    fn four() -> Layout {
        Layout {
            servers: vec![A, B, B, A],
            local_sets: vec![(A, vec![3])],
        }
    }

    /// The paper's Figure 5: replica 1 in site A is also a local replica,
    /// with local replicas 4 and 5 (ids 3, 4); replicas 2 and 3 in site B.
    /// A local set of three survives the crash of any one of its members.
    fn figure5() -> Layout {
        Layout {
            servers: vec![A, B, B, A, A],
            local_sets: vec![(A, vec![0, 3, 4])],
        }
    }

    /// Two sites with a local set each: id 3 in site A, id 4 in site B. A
    /// read in one site can need a value that sits only at the other
    /// site's local replica.
    fn cross_site() -> Layout {
        Layout {
            servers: vec![A, B, B, A, B],
            local_sets: vec![(A, vec![3]), (B, vec![4])],
        }
    }
}

fn client(site: Site, ops: Vec<Op>) -> ClientSpec {
    ClientSpec { site, ops }
}

impl ModelConfig {
    /// A configuration of `algorithm` named `name` on `layout`, with these
    /// clients, a reliable network and no crash.
    fn on(
        algorithm: Algorithm,
        name: &str,
        layout: Layout,
        clients: Vec<ClientSpec>,
    ) -> ModelConfig {
        ModelConfig {
            name: name.into(),
            algorithm,
            servers: layout.servers,
            replicas: vec![0, 1, 2],
            local_sets: layout.local_sets,
            clients,
            network: Network::Unordered,
            max_crashes: 0,
            crashable: None,
            timestamps: TimestampMode::Clock,
            clock: ClockMode::Synchronized,
            commit_wait: 0,
            shared_ts_node: false,
            options: Options::default(),
            mutation: Mutation::None,
            collect_dead_messages: true,
            symmetry: true,
            takeover_waits_for_delegate: false,
        }
    }

    /// The workload of `base`, `lossy` and `cross-site`: a writer, and a
    /// reader that reads twice (RW: the second read follows the first while
    /// the write may still be in progress, so only the first read's
    /// write-back keeps it from returning an older value); RMW: one append
    /// each, run concurrently.
    fn writer_and_reader(algorithm: Algorithm, reader: Site) -> Vec<ClientSpec> {
        if algorithm.is_rmw() {
            vec![
                client(A, vec![append("a")]),
                client(reader, vec![append("b")]),
            ]
        } else {
            vec![
                client(A, vec![write("a")]),
                client(reader, vec![Op::Read, Op::Read]),
            ]
        }
    }

    /// `base`: RW on four servers (see `Layout::four`; ABD uses only the
    /// replicas), client 1 writes while client 2 reads twice; RMW on three
    /// servers (see `Layout::three`), two concurrent appends (on four,
    /// Algorithm 3 passes 15 million states unfinished).
    pub fn base(algorithm: Algorithm) -> ModelConfig {
        let layout = if algorithm.is_rmw() {
            Layout::three()
        } else {
            Layout::four()
        };
        Self::on(
            algorithm,
            "base",
            layout,
            Self::writer_and_reader(algorithm, A),
        )
    }

    /// `crash`: any one server may crash at any moment, on the paper's
    /// Figure 5 (a local set of three survives one crash); RW: a write and
    /// a concurrent read; RMW: two concurrent appends on three servers,
    /// where the replicas of site B may crash (the local set of one cannot
    /// lose its member: that is the window of vulnerability of Section
    /// 4.3, which `a_local_set_of_one_does_not_survive_its_crash` shows).
    pub fn crash(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = if algorithm.is_rmw() {
            let mut c = Self::on(
                algorithm,
                "crash",
                Layout::three(),
                Self::writer_and_reader(algorithm, A),
            );
            c.crashable = Some(vec![1, 2]);
            c
        } else {
            let clients = vec![client(A, vec![write("a")]), client(A, vec![Op::Read])];
            Self::on(algorithm, "crash", Layout::figure5(), clients)
        };
        cfg.max_crashes = 1;
        cfg
    }

    /// `lossy`: `base` on a network that may lose any one message, with
    /// retransmission on timers that fire once nothing is in flight to or
    /// from their actor (a timeout longer than any delay); RMW on three
    /// servers.
    pub fn lossy(algorithm: Algorithm) -> ModelConfig {
        let layout = if algorithm.is_rmw() {
            Layout::three()
        } else {
            Layout::four()
        };
        let mut cfg = Self::on(
            algorithm,
            "lossy",
            layout,
            Self::writer_and_reader(algorithm, A),
        );
        cfg.lose(1, 0);
        cfg
    }

    /// `cross-site`: the writer in site A, the reader (RMW: the second
    /// appender) in site B, each site with its own local set.
    pub fn cross_site(algorithm: Algorithm) -> ModelConfig {
        Self::on(
            algorithm,
            "cross-site",
            Layout::cross_site(),
            Self::writer_and_reader(algorithm, B),
        )
    }

    /// `ties`: two clients take equal clock times (each client's k-th
    /// reading is k), so only the node id orders their timestamps; three
    /// servers. RW: client 1 writes then reads, client 2 writes. RMW:
    /// client 1 appends twice, client 2 once, with timestamps equal
    /// outright (both clients write the same node id): the strict
    /// `ots > ots[key]` of OR-TS must still let at most one through. The
    /// third append is what lets an OR-DATA wait (with two, 28 thousand
    /// states and it never does; with three, 1.6 million).
    pub fn ties(algorithm: Algorithm) -> ModelConfig {
        let clients = if algorithm.is_rmw() {
            vec![
                client(A, vec![append("a"), append("c")]),
                client(A, vec![append("b")]),
            ]
        } else {
            vec![
                client(A, vec![write("a"), Op::Read]),
                client(A, vec![write("b")]),
            ]
        };
        let mut cfg = Self::on(algorithm, "ties", Layout::three(), clients);
        cfg.clock = ClockMode::PerClient;
        cfg.shared_ts_node = algorithm.is_rmw();
        cfg
    }

    /// `two-writes` (RW): three servers; client 1 writes `a` then `b` while
    /// client 2 reads twice. A read can meet data newer than the timestamp
    /// it writes back, and the second read observes what the first one
    /// left: what the parallel write-back's check of (C2) is for
    /// (Section 3.4.1).
    pub fn two_writes(algorithm: Algorithm) -> ModelConfig {
        let clients = vec![
            client(A, vec![write("a"), write("b")]),
            client(A, vec![Op::Read, Op::Read]),
        ];
        Self::on(algorithm, "two-writes", Layout::three(), clients)
    }

    /// `duplicates`: a lossy network where a timer may also fire once
    /// early, while its request or the reply is still in flight, so that a
    /// request and its duplicate are in flight together; three servers,
    /// one write and one read (RMW: two appends).
    pub fn duplicates(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = Self::tiny(algorithm);
        cfg.name = "duplicates".into();
        cfg.lose(1, 1);
        cfg
    }

    /// `lossy-crash` (Algorithms 1 and 3): Figure 5 with one write (one
    /// append), where the network may lose two messages and one server
    /// may crash: a write that sent its timestamp before a local majority
    /// stored its value can lose the value (the mutant
    /// `w-ts-before-local-majority`).
    pub fn lossy_crash(algorithm: Algorithm) -> ModelConfig {
        let op = if algorithm.is_rmw() {
            append("a")
        } else {
            write("a")
        };
        let mut cfg = Self::on(
            algorithm,
            "lossy-crash",
            Layout::figure5(),
            vec![client(A, vec![op])],
        );
        cfg.lose(2, 0);
        cfg.max_crashes = 1;
        cfg
    }

    /// A lossy network that may lose `drops` messages and fire a timer
    /// early `spurious` times, with retransmission on.
    pub fn lose(&mut self, drops: u8, spurious: u8) {
        self.network = Network::Lossy { drops, spurious };
        self.options.retransmit = true;
    }

    /// The shrink of every configuration with executing commands at
    /// replicas (Section 3.4.2): each client runs one execute.
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
    /// on: two coordinators then run one operation. Where a crash or a loss
    /// can happen, a client's delegation timer fires only once its
    /// delegate is quiet too ([`ModelConfig::takeover_waits_for_delegate`]);
    /// `takeover-crash` and `takeover-lossy` check the takeover at any
    /// moment under faults on three servers.
    pub fn shrink_delegation(&mut self) {
        if self.options.delegation && (self.max_crashes > 0 || self.network != Network::Unordered) {
            self.takeover_waits_for_delegate = true;
        }
    }

    /// `takeover-crash` and `takeover-lossy` (Section 3.4.2, delegation on):
    /// `tiny` with any one server crashing, or a lossy network with
    /// retransmission, and a client's takeover from its delegate at any
    /// moment the delegate is at work. `tiny`'s local set is one server,
    /// also the delegate: its crash can block a write and lose a value, so
    /// these check safety (`linearizable`) and that the takeover happens,
    /// not `progress` and `durable` (see `properties::for_config`).
    pub fn takeover(algorithm: Algorithm, name: &str) -> ModelConfig {
        let mut cfg = Self::tiny(algorithm);
        cfg.name = name.into();
        if name.ends_with("crash") {
            cfg.max_crashes = 1;
        } else {
            cfg.lose(1, 0);
        }
        cfg.options.delegation = true;
        cfg
    }

    /// `tiny` on a network that may lose one message, with retransmission.
    /// For tests.
    pub fn tiny_lossy(algorithm: Algorithm) -> ModelConfig {
        let mut cfg = Self::tiny(algorithm);
        cfg.name = "tiny-lossy".into();
        cfg.lose(1, 0);
        cfg
    }

    /// Algorithm 1's `tiny+delegation` with its writer alone: one delegated
    /// write, which its client may take over at any moment. For tests.
    pub fn one_write_delegation() -> ModelConfig {
        let mut cfg = Self::named(Algorithm::VivaceRw, "tiny+delegation").expect("a config");
        cfg.name = "one-write+delegation".into();
        cfg.clients.truncate(1);
        cfg
    }

    /// `small`: three servers (see `Layout::three`), two clients that each
    /// write then read (RMW: two appends each). For tests.
    pub fn small(algorithm: Algorithm) -> ModelConfig {
        let clients = if algorithm.is_rmw() {
            vec![
                client(A, vec![append("a"), append("a")]),
                client(A, vec![append("b"), append("b")]),
            ]
        } else {
            vec![
                client(A, vec![write("a"), Op::Read]),
                client(A, vec![write("b"), Op::Read]),
            ]
        };
        Self::on(algorithm, "small", Layout::three(), clients)
    }

    /// `tiny`: three servers, a write and a read (RMW: two appends),
    /// concurrent. For tests.
    pub fn tiny(algorithm: Algorithm) -> ModelConfig {
        let clients = if algorithm.is_rmw() {
            Self::writer_and_reader(algorithm, A)
        } else {
            vec![client(A, vec![write("a")]), client(A, vec![Op::Read])]
        };
        Self::on(algorithm, "tiny", Layout::three(), clients)
    }

    /// The configuration Stateright's linearizable-register example checks
    /// by default: clock-free ABD, 3 servers, 2 clients that each write then
    /// read, unordered non-duplicating network.
    pub fn stateright_default() -> ModelConfig {
        let clients = vec![
            client(A, vec![write("a"), Op::Read]),
            client(A, vec![write("b"), Op::Read]),
        ];
        let mut cfg = Self::on(
            Algorithm::Abd,
            "stateright-default",
            Layout::three(),
            clients,
        );
        cfg.servers = vec![A, A, A];
        cfg.local_sets = vec![];
        cfg.timestamps = TimestampMode::QueryMajority;
        cfg
    }

    /// `skew`: clocks that are not synchronized. Three servers; client 1
    /// writes `a`, and client 2 reads, writes `b` and reads again, with
    /// client 2's clock `SKEW` ticks behind: its write, invoked after client
    /// 1's completed, can take a lower timestamp. `skew-clock-free`
    /// (timestamps from a majority, no clock) and `skew-commit-wait` (a
    /// commit wait of `SKEW - 1` ticks: equal times are ordered by node id,
    /// which here favours the lagging client) must hold under it; the
    /// mutants `clock-goes-backwards` (no wait) and `commit-wait-too-short`
    /// (one tick less) must not.
    pub fn skew(algorithm: Algorithm) -> ModelConfig {
        let clients = vec![
            client(A, vec![write("a")]),
            client(A, vec![Op::Read, write("b"), Op::Read]),
        ];
        let mut cfg = Self::on(algorithm, "skew", Layout::three(), clients);
        cfg.clock = ClockMode::Lagging(vec![(Id::from(cfg.servers.len() + 1), Self::SKEW)]);
        cfg
    }

    /// How far client 2's clock lags in the `skew` configurations.
    pub const SKEW: u64 = 3;

    /// Configurations checked by `check --all` besides [`Self::OF_RECORD`].
    pub fn extra_of_record(algorithm: Algorithm) -> Vec<String> {
        let switches: &[&str] = match algorithm {
            Algorithm::Abd => &["writeback_skip"],
            Algorithm::VivaceRw => &[
                "writeback_skip",
                "parallel_writeback",
                "fewer_replicas",
                "delegation",
            ],
            Algorithm::VivaceRmw => &["execute_at_replicas", "delegation"],
            Algorithm::LanRmw => &[],
        };
        let mut v: Vec<String> = ["ties", "duplicates"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match algorithm {
            Algorithm::Abd => v.extend(["two-writes", "stateright-default"].map(String::from)),
            Algorithm::VivaceRw => v.extend(
                [
                    "two-writes",
                    "two-writes+parallel_writeback",
                    "lossy-crash",
                    "skew-clock-free",
                    "skew-commit-wait",
                ]
                .map(String::from),
            ),
            Algorithm::VivaceRmw => v.push("lossy-crash".into()),
            Algorithm::LanRmw => {}
        }
        for sw in switches {
            for base in Self::OF_RECORD {
                v.push(format!("{base}+{sw}"));
            }
        }
        if algorithm.uses_local_set() {
            v.extend(["takeover-crash", "takeover-lossy"].map(String::from));
        }
        v
    }

    /// Every configuration `check --all` checks for `algorithm`.
    pub fn all_of_record(algorithm: Algorithm) -> Vec<String> {
        let mut v: Vec<String> = Self::OF_RECORD.iter().map(|s| s.to_string()).collect();
        v.extend(Self::extra_of_record(algorithm));
        v
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
                ("parallel_writeback", Algorithm::VivaceRw) => o.parallel_writeback = true,
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
        let vivace = algorithm.uses_local_set();
        Some(match name {
            "base" => Self::base(algorithm),
            "crash" => Self::crash(algorithm),
            "lossy" => Self::lossy(algorithm),
            "cross-site" => Self::cross_site(algorithm),
            "ties" => Self::ties(algorithm),
            "duplicates" => Self::duplicates(algorithm),
            "two-writes" if !algorithm.is_rmw() => Self::two_writes(algorithm),
            "lossy-crash" if vivace => Self::lossy_crash(algorithm),
            "stateright-default" if algorithm == Algorithm::Abd => Self::stateright_default(),
            "small" => Self::small(algorithm),
            "tiny" => Self::tiny(algorithm),
            "skew" if !algorithm.is_rmw() => Self::skew(algorithm),
            "skew-clock-free" if !algorithm.is_rmw() => ModelConfig {
                name: "skew-clock-free".into(),
                timestamps: TimestampMode::QueryMajority,
                ..Self::skew(algorithm)
            },
            "skew-commit-wait" if !algorithm.is_rmw() => ModelConfig {
                name: "skew-commit-wait".into(),
                commit_wait: Self::SKEW - 1,
                ..Self::skew(algorithm)
            },
            "takeover-crash" | "takeover-lossy" if vivace => Self::takeover(algorithm, name),
            _ => return None,
        })
    }

    /// Every name [`ModelConfig::named`] knows for `algorithm`, without
    /// switches (`check --list`).
    pub fn names(algorithm: Algorithm) -> Vec<&'static str> {
        [
            "base",
            "crash",
            "lossy",
            "cross-site",
            "ties",
            "duplicates",
            "two-writes",
            "lossy-crash",
            "stateright-default",
            "small",
            "tiny",
            "skew",
            "skew-clock-free",
            "skew-commit-wait",
            "takeover-crash",
            "takeover-lossy",
        ]
        .into_iter()
        .filter(|n| Self::named(algorithm, n).is_some())
        .collect()
    }

    /// The CI tier (`check --ci`, `mutants --ci`): every algorithm and every
    /// switch, each in a configuration of record, where the coverage
    /// properties are reached; minutes in all on 2 cores.
    pub const CI_TIER: [(Algorithm, &'static str); 12] = [
        (Algorithm::Abd, "base"),
        (Algorithm::Abd, "base+writeback_skip"),
        (Algorithm::VivaceRw, "base"),
        (Algorithm::VivaceRw, "base+writeback_skip"),
        (Algorithm::VivaceRw, "base+parallel_writeback"),
        (Algorithm::VivaceRw, "base+fewer_replicas"),
        (Algorithm::VivaceRw, "crash+delegation"),
        (Algorithm::VivaceRw, "skew-commit-wait"),
        (Algorithm::LanRmw, "base"),
        (Algorithm::VivaceRmw, "base"),
        (Algorithm::VivaceRmw, "base+execute_at_replicas"),
        (Algorithm::VivaceRmw, "lossy+delegation"),
    ];

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
