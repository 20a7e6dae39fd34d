//! Mutants: broken variants of the algorithms that the checker must refute.
//! Each drops one step the paper says is needed, and is refuted in a
//! configuration of record, with every reduction on, by the property that
//! catches it.

use crate::config::ModelConfig;
use crate::properties::{DURABLE, LINEARIZABLE, PROGRESS};
use crate::run::Search;
use vivace_spec::{Algorithm, Mutation};

/// A broken variant and the configuration of record that must refute it.
pub struct Mutant {
    /// Name used on the command line and in JSON.
    pub name: &'static str,
    /// What is broken, and the paper's reason for the step it drops.
    pub why: &'static str,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The configuration of record that must refute it
    /// ([`ModelConfig::named`]).
    pub config: &'static str,
    /// The break, applied to that configuration: a [`Mutation`] of the
    /// handlers, or of the configuration's clock.
    pub mutate: fn(&mut ModelConfig),
    /// The property that must be violated.
    pub refuted_by: &'static str,
    /// Search order: breadth first gives the shortest counterexample;
    /// depth first where breadth first needs too much memory.
    pub search: Search,
}

impl Mutant {
    /// The mutated configuration.
    pub fn model_config(&self) -> ModelConfig {
        let mut cfg = ModelConfig::named(self.algorithm, self.config)
            .expect("a mutant names a configuration of record");
        (self.mutate)(&mut cfg);
        cfg
    }
}

macro_rules! mutation {
    ($m:ident) => {
        |c: &mut ModelConfig| c.mutation = Mutation::$m
    };
}

/// Every mutant.
pub fn all() -> Vec<Mutant> {
    use Algorithm::*;
    vec![
        Mutant {
            name: "w-ts-before-local-majority",
            why: "Algorithm 1 sends W-TS after one ACK-W-LOCAL, not a local majority (Section 3.2: \
                  the writer may send ts only after a majority of local replicas store the value). \
                  Two lost W-LOCALs and one crash leave a timestamp whose value no one has.",
            algorithm: VivaceRw,
            config: "lossy-crash",
            mutate: mutation!(WTsBeforeLocalMajority),
            refuted_by: DURABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "r-data-serves-bottom",
            why: "R-DATA at a replica that holds the timestamp asked for but not its value answers \
                  with ⊥ as the empty value, as ABD's query does (Algorithm 1: 'wait until \
                  ts[key] >= ts and val[key] != ⊥'). W-TS overtook W-REMOTE there, and a read \
                  returns \"\" after the write of a completed.",
            algorithm: VivaceRw,
            config: "base",
            mutate: mutation!(RDataServesBottom),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "r-data-lower-ts",
            why: "R-DATA answers at once, even with a timestamp lower than requested (Algorithm 1: \
                  'wait until ts[key] >= ts'). A read returns a value older than one already written.",
            algorithm: VivaceRw,
            config: "base",
            mutate: mutation!(RDataLowerTs),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "w-ts-keeps-old-value",
            why: "W-TS adopts the new timestamp but keeps the old value instead of ⊥ (Algorithm 1: \
                  'else val[key] <- ⊥'). R-DATA then serves the old value under the new timestamp.",
            algorithm: VivaceRw,
            config: "base",
            mutate: mutation!(WTsKeepsOldValue),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "abd-read-skips-write-back",
            why: "An ABD read returns without its write-back phase (Section 3.2: 'This write-back \
                  phase is needed to provide linearizability'). New-old inversion.",
            algorithm: Abd,
            config: "base",
            mutate: mutation!(ReadSkipsWriteBack),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "read-skips-write-back",
            why: "An Algorithm 1 read returns without its W-TS write-back phase. New-old inversion.",
            algorithm: VivaceRw,
            config: "base",
            mutate: mutation!(ReadSkipsWriteBack),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "skip-write-back-c1-only",
            why: "The read skips its write-back on condition C1 alone, without C2 (Section 3.4.1: \
                  'Condition (C2) is not needed in the original ABD algorithm because the data and \
                  timestamps are together'). The data can be newer than mts.",
            algorithm: VivaceRw,
            config: "base+writeback_skip",
            mutate: mutation!(SkipWriteBackC1Only),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "write-back-phase1-ts",
            why: "The read writes back its phase-one mts instead of the timestamp of the data it \
                  returns (Algorithm 1: 'sendwait(*W-TS, key, data[0].ts)').",
            algorithm: VivaceRw,
            config: "base",
            mutate: mutation!(WriteBackPhase1Ts),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "w-remote-stores-lower",
            why: "W-REMOTE stores its value although its timestamp is lower than ts[key] \
                  (Algorithm 1: only 'if ts = ts[key]', else buffer if higher). A late propagation \
                  overwrites a newer value: a read after two writes, the second invoked once the \
                  first completed, returns the first.",
            algorithm: VivaceRw,
            config: "skew-commit-wait",
            mutate: mutation!(WRemoteStoresLower),
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
        Mutant {
            name: "or-ts-accepts-equal",
            why: "OR-TS accepts an ordering timestamp equal to the stored one (Algorithm 3: \
                  'if ots > ots[key]'). With unique timestamps an equal one is only a duplicate; the \
                  strict inequality is what stops two operations whose timestamps collide (here: \
                  unsynchronized clocks that read equal, one timestamp node id) from both passing.",
            algorithm: VivaceRmw,
            config: "ties",
            mutate: mutation!(OrTsAcceptsEqual),
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
            algorithm: VivaceRmw,
            config: "crash",
            mutate: mutation!(OrDataWaitsForTs),
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
            algorithm: VivaceRw,
            config: "two-writes+parallel_writeback",
            mutate: mutation!(ParallelWriteBackIgnoresC2),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "parallel-write-back-no-wait",
            why: "The parallel write-back's read returns on its data without waiting for a majority \
                  to acknowledge the W-TS of mts: with (C1) failed that is a read without its \
                  write-back (Section 3.2).",
            algorithm: VivaceRw,
            config: "base+parallel_writeback",
            mutate: mutation!(ParallelWriteBackNoWait),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "fewer-replicas-no-fallback",
            why: "Reading from fewer replicas (Section 3.4.1) without a fallback: the one replica \
                  asked for data crashes and the read waits forever, although a majority of \
                  replicas is live (Algorithm 1 tolerates f crashes, Section 4.3).",
            algorithm: VivaceRw,
            config: "crash+fewer_replicas",
            mutate: mutation!(FewerReplicasNoFallback),
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
            algorithm: VivaceRmw,
            config: "base+execute_at_replicas",
            mutate: mutation!(ExecAppliesToOtherTs),
            refuted_by: LINEARIZABLE,
            search: Search::Bfs,
        },
        Mutant {
            name: "exec-no-fallback",
            why: "Executing commands at replicas (Section 3.4.2) without the fallback to OR-DATA: \
                  when the replica that sends the result back crashes, or a majority waits for \
                  the value of mts that only a crashed replica computed, the execute waits \
                  forever although a majority of replicas is live (Section 4.3).",
            algorithm: VivaceRmw,
            config: "crash+execute_at_replicas",
            mutate: mutation!(ExecNoFallback),
            refuted_by: PROGRESS,
            search: Search::Dfs,
        },
        Mutant {
            name: "delegation-no-fallback",
            why: "Delegating to a replica (Section 3.4.2) without the client's fallback: the \
                  delegate crashes and its client waits forever, although a majority of replicas \
                  and of the local set is live (Section 3.1: the algorithms make progress despite \
                  a minority of crashes in each).",
            algorithm: VivaceRw,
            config: "crash+delegation",
            mutate: mutation!(DelegationNoFallback),
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
            algorithm: VivaceRmw,
            config: "base+delegation",
            mutate: mutation!(DelegationFallbackNewTimestamp),
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
        Mutant {
            name: "clock-goes-backwards",
            why: "skew-commit-wait without its commit wait: the second client's clock lags, its \
                  write, invoked after the other's completed, takes a lower timestamp and is lost; \
                  its next read returns the older value (Section 2 assumes synchronized clocks).",
            algorithm: VivaceRw,
            config: "skew-commit-wait",
            mutate: |c| c.commit_wait = 0,
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
        Mutant {
            name: "commit-wait-too-short",
            why: "skew-commit-wait with a commit wait one tick shorter: two ticks shorter than the \
                  skew. A later write can still take a lower timestamp. (Equal times are ordered \
                  by node id, which here favours the lagging client, so a wait of the skew less \
                  one is just enough.)",
            algorithm: VivaceRw,
            config: "skew-commit-wait",
            mutate: |c| c.commit_wait -= 1,
            refuted_by: LINEARIZABLE,
            search: Search::Dfs,
        },
    ]
}
