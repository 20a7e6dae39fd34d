//! Mutants: broken variants of the algorithms that the checker must refute.
//! Each drops one step the paper says is needed; each is checked in the
//! smallest configuration that exposes it, with the property that catches it.

use crate::config::{ClientSpec, ModelConfig, Network, A};
use crate::properties::{DURABLE, LINEARIZABLE, PROGRESS};
use crate::run::Search;
use vivace_spec::clock::ClockMode;
use vivace_spec::{Algorithm, Bytes, Mutation, Op};

/// A broken variant and where it must fail.
pub struct Mutant {
    /// Name used on the command line and in JSON.
    pub name: &'static str,
    /// What is broken, and the paper's reason for the step it drops.
    pub why: &'static str,
    /// The model that must refute it.
    pub config: fn() -> ModelConfig,
    /// The property that must be violated.
    pub refuted_by: &'static str,
    /// Search order: breadth first gives the shortest counterexample;
    /// depth first where breadth first needs too much memory.
    pub search: Search,
}

fn w(v: &str) -> Op {
    Op::Write(Bytes::from(v))
}

/// A writer that writes twice and a reader that reads twice: the shape that
/// exposes a new-old inversion when a read does not write back.
fn writer_and_reader(algorithm: Algorithm, name: &str, mutation: Mutation) -> ModelConfig {
    let mut cfg = ModelConfig::small(algorithm);
    cfg.name = name.into();
    cfg.mutation = mutation;
    cfg.clients = vec![
        ClientSpec {
            site: A,
            ops: vec![w("a"), w("b")],
        },
        ClientSpec {
            site: A,
            ops: vec![Op::Read, Op::Read],
        },
    ];
    cfg
}

/// [`writer_and_reader`] with the parallel write-back on (Section 3.4.1).
fn parallel_writer_and_reader(name: &str, mutation: Mutation) -> ModelConfig {
    let mut cfg = writer_and_reader(Algorithm::VivaceRw, name, mutation);
    cfg.options.parallel_writeback = true;
    cfg
}

fn mutated(mut cfg: ModelConfig, name: &str, mutation: Mutation) -> ModelConfig {
    cfg.name = name.into();
    cfg.mutation = mutation;
    cfg
}

/// Every mutant.
pub fn all() -> Vec<Mutant> {
    vec![
        Mutant {
            name: "w-ts-before-local-majority",
            why: "Algorithm 1 sends W-TS after one ACK-W-LOCAL, not a local majority (Section 3.2: \
                  the writer may send ts only after a majority of local replicas store the value). \
                  Two lost W-LOCALs and one crash leave a timestamp whose value no one has.",
            config: || {
                let mut cfg = ModelConfig::base(Algorithm::VivaceRw);
                cfg.clients = vec![
                    ClientSpec { site: A, ops: vec![w("a")] },
                    ClientSpec { site: A, ops: vec![Op::Read] },
                ];
                cfg.network = Network::Lossy { drops: 2, spurious: 0 };
                cfg.options.retransmit = true;
                cfg.max_crashes = 1;
                mutated(cfg, "lossy-crash", Mutation::WTsBeforeLocalMajority)
            },
            refuted_by: DURABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "r-data-lower-ts",
            why: "R-DATA answers at once, even with a timestamp lower than requested (Algorithm 1: \
                  'wait until ts[key] >= ts'). A read returns a value older than one already written.",
            config: || mutated(ModelConfig::small(Algorithm::VivaceRw), "small", Mutation::RDataLowerTs),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "w-ts-keeps-old-value",
            why: "W-TS adopts the new timestamp but keeps the old value instead of ⊥ (Algorithm 1: \
                  'else val[key] <- ⊥'). R-DATA then serves the old value under the new timestamp.",
            config: || mutated(ModelConfig::small(Algorithm::VivaceRw), "small", Mutation::WTsKeepsOldValue),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "abd-read-skips-write-back",
            why: "An ABD read returns without its write-back phase (Section 3.2: 'This write-back \
                  phase is needed to provide linearizability'). New-old inversion.",
            config: || writer_and_reader(Algorithm::Abd, "writer-reader", Mutation::ReadSkipsWriteBack),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "read-skips-write-back",
            why: "An Algorithm 1 read returns without its W-TS write-back phase. New-old inversion.",
            config: || writer_and_reader(Algorithm::VivaceRw, "writer-reader", Mutation::ReadSkipsWriteBack),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "skip-write-back-c1-only",
            why: "The read skips its write-back on condition C1 alone, without C2 (Section 3.4.1: \
                  'Condition (C2) is not needed in the original ABD algorithm because the data and \
                  timestamps are together'). The data can be newer than mts.",
            config: || writer_and_reader(Algorithm::VivaceRw, "writer-reader", Mutation::SkipWriteBackC1Only),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "write-back-phase1-ts",
            why: "The read writes back its phase-one mts instead of the timestamp of the data it \
                  returns (Algorithm 1: 'sendwait(*W-TS, key, data[0].ts)').",
            config: || writer_and_reader(Algorithm::VivaceRw, "writer-reader", Mutation::WriteBackPhase1Ts),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "w-remote-stores-lower",
            why: "W-REMOTE stores its value although its timestamp is lower than ts[key] \
                  (Algorithm 1: only 'if ts = ts[key]', else buffer if higher). A late propagation \
                  overwrites a newer value.",
            config: || mutated(ModelConfig::small(Algorithm::VivaceRw), "small", Mutation::WRemoteStoresLower),
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
        Mutant {
            name: "or-ts-accepts-equal",
            why: "OR-TS accepts an ordering timestamp equal to the stored one (Algorithm 3: \
                  'if ots > ots[key]'). With unique timestamps an equal one is only a duplicate; the \
                  strict inequality is what stops two operations whose timestamps collide (here: \
                  unsynchronized clocks that read equal, one timestamp node id) from both passing.",
            config: || {
                let mut cfg = mutated(ModelConfig::tiny(Algorithm::VivaceRmw), "colliding-timestamps", Mutation::OrTsAcceptsEqual);
                cfg.clock = ClockMode::PerClient;
                cfg.shared_ts_node = true;
                cfg
            },
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "or-data-waits-for-ts",
            why: "Algorithm 3's OR-DATA exactly as the paper writes it ('wait until ts[key] >= ts'), \
                  without our answer from remote_buf. An execute aborts after one replica adopted its \
                  OW-TS; the next execute's OR-TS learns that timestamp from that replica, which then \
                  crashes: the other replicas never adopt it, and the OR-DATA waits forever. Not a \
                  safety bug: a liveness gap with one crash, which the paper's fault tolerance \
                  (Section 4.3) excludes.",
            config: || mutated(ModelConfig::crash(Algorithm::VivaceRmw), "crash", Mutation::OrDataWaitsForTs),
            refuted_by: PROGRESS,
            search: Search::Dfs,
        },
        Mutant {
            name: "parallel-write-back-ignores-c2",
            why: "The parallel write-back (Section 3.4.1) completes in two phases although the data \
                  came with a newer timestamp than the mts it wrote back: (C2) not checked. The \
                  newer timestamp may sit at one replica only; a later read that misses it returns \
                  the older value (a new-old inversion). The paper: when (C2) fails, the read needs \
                  its third phase.",
            config: || parallel_writer_and_reader("writer-reader+parallel_writeback", Mutation::ParallelWriteBackIgnoresC2),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "parallel-write-back-no-wait",
            why: "The parallel write-back's read returns on its data without waiting for a majority \
                  to acknowledge the W-TS of mts: with (C1) failed that is a read without its \
                  write-back (Section 3.2).",
            config: || parallel_writer_and_reader("writer-reader+parallel_writeback", Mutation::ParallelWriteBackNoWait),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "fewer-replicas-no-fallback",
            why: "Reading from fewer replicas (Section 3.4.1) without a fallback: the one replica \
                  asked for data crashes and the read waits forever, although a majority of \
                  replicas is live (Algorithm 1 tolerates f crashes, Section 4.3).",
            config: || {
                let mut cfg = mutated(ModelConfig::crash(Algorithm::VivaceRw), "crash+fewer_replicas", Mutation::FewerReplicasNoFallback);
                cfg.options.fewer_replicas = true;
                cfg
            },
            refuted_by: PROGRESS,
            search: Search::Dfs,
        },
        Mutant {
            name: "exec-applies-to-other-ts",
            why: "Executing commands at replicas (Section 3.4.2) with a replica that applies the \
                  command to whatever value it holds, not to the value of timestamp mts ('the \
                  replicas apply the command to the value with timestamp mts (they may have to \
                  wait until they obtain that value ...), or they reject the command if they see \
                  a larger timestamp'). A replica that missed the previous execute computes from \
                  a stale value, and the result it returns loses that execute.",
            config: || {
                let cfg = ModelConfig::named(Algorithm::VivaceRmw, "tiny+execute_at_replicas")
                    .expect("a configuration of record");
                mutated(cfg, "tiny+execute_at_replicas", Mutation::ExecAppliesToOtherTs)
            },
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "exec-no-fallback",
            why: "Executing commands at replicas (Section 3.4.2) without the fallback to OR-DATA: \
                  when the replica that sends the result back crashes, or a majority waits for \
                  the value of mts that only a crashed replica computed, the execute waits \
                  forever although a majority of replicas is live (Section 4.3).",
            config: || {
                let cfg = ModelConfig::named(Algorithm::VivaceRmw, "crash+execute_at_replicas")
                    .expect("a configuration of record");
                mutated(cfg, "crash+execute_at_replicas", Mutation::ExecNoFallback)
            },
            refuted_by: PROGRESS,
            search: Search::Dfs,
        },
        Mutant {
            name: "delegation-no-fallback",
            why: "Delegating to a replica (Section 3.4.2) without the client's fallback: the \
                  delegate crashes and its client waits forever, although a majority of replicas \
                  and of the local set is live (Section 3.1: the algorithms make progress despite \
                  a minority of crashes in each).",
            config: || {
                let cfg = ModelConfig::named(Algorithm::VivaceRw, "crash+delegation")
                    .expect("a configuration of record");
                mutated(cfg, "crash+delegation", Mutation::DelegationNoFallback)
            },
            refuted_by: PROGRESS,
            search: Search::Dfs,
        },
        Mutant {
            name: "delegation-fallback-new-timestamp",
            why: "Delegating to a replica (Section 3.4.2) with a fallback that takes a new ordering \
                  timestamp instead of the one the client gave its delegate. The client's timer \
                  fires while the delegate is still at work (a timeout says nothing about a \
                  crash), both coordinators complete, and the command takes effect twice: the \
                  client library, not the delegate, must own the timestamp.",
            config: || {
                let cfg = ModelConfig::named(Algorithm::VivaceRmw, "tiny+delegation")
                    .expect("a configuration");
                mutated(cfg, "tiny+delegation", Mutation::DelegationFallbackNewTimestamp)
            },
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
        Mutant {
            name: "clock-goes-backwards",
            why: "The second client's clock lags by 2: its write, invoked after the other's \
                  completed, takes a lower timestamp and is lost; its next read returns the older \
                  value (Section 2 assumes synchronized clocks).",
            config: || ModelConfig::skew(Algorithm::VivaceRw),
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
        Mutant {
            name: "commit-wait-too-short",
            why: "A commit wait shorter than the clock skew: client 2's clock lags by 3 ticks and \
                  the wait is 1 (the `skew` configuration otherwise). A later write can still take \
                  a lower timestamp. (Equal times are ordered by node id, which here favours the \
                  lagging client, so a wait of lag - 1 is just enough; `skew-commit-wait` waits 2 \
                  under a lag of 2 and holds.)",
            config: || ModelConfig {
                name: "skew-3-commit-wait-1".into(),
                commit_wait: 1,
                ..ModelConfig::skew_by(Algorithm::VivaceRw, 3)
            },
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
    ]
}

/// The correct algorithms in the mutants' own configurations: each must
/// hold, so that a refutation is the mutation's doing and not the setup's.
pub fn controls() -> Vec<ModelConfig> {
    let mut seen: Vec<ModelConfig> = Vec::new();
    for m in all() {
        let mut cfg = (m.config)();
        cfg.mutation = Mutation::None;
        if matches!(cfg.clock, ClockMode::Lagging(_)) {
            continue; // the clock itself is the bug
        }
        if !seen
            .iter()
            .any(|s| s.name == cfg.name && s.algorithm == cfg.algorithm)
        {
            seen.push(cfg);
        }
    }
    seen
}
