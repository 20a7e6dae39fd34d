//! Named branch points of the handlers, counted outside any state, so that
//! a model check can say which branches of the protocol it never executed
//! (`vivace-proofs check --coverage`). With the `coverage` feature off (the
//! runtime) [`hit`] compiles to nothing.

macro_rules! branches {
    ($($name:ident => $text:literal,)*) => {
        /// A branch point of a handler, named after what the paper's
        /// pseudocode does there.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(missing_docs)]
        pub enum Branch { $($name,)* }

        impl Branch {
            /// Every branch point, in declaration order.
            pub const ALL: &'static [Branch] = &[$(Branch::$name,)*];
            /// What happens at the branch point.
            pub fn name(self) -> &'static str {
                match self { $(Branch::$name => $text,)* }
            }
        }
    };
}

branches! {
    // ABD (Section 3.2, prior work).
    AbdQuery => "abd: QUERY answers (ts, val)",
    AbdStoreNewer => "abd: STORE of a newer timestamp stores it",
    AbdStoreOlder => "abd: STORE of an older or equal timestamp is acknowledged only",
    // Algorithm 1, replica.
    RTs => "alg1: R-TS answers ts[key]",
    RDataParks => "alg1: R-DATA waits (ts[key] < ts or val[key] = ⊥)",
    RDataAnswersAtOnce => "alg1: R-DATA is answered at once",
    RDataAnsweredLater => "alg1: a waiting R-DATA is answered when the value arrives",
    WTsNewerFromBuffer => "alg1: W-TS of a newer timestamp takes the value from remote_buf",
    WTsNewerWaits => "alg1: W-TS of a newer timestamp sets val[key] to ⊥",
    WTsOlder => "alg1: W-TS of an older or equal timestamp is acknowledged only",
    WLocalStarts => "alg1: W-LOCAL stores in local_buf and starts W-REMOTE",
    WLocalAgain => "alg1: W-LOCAL already in local_buf is acknowledged only",
    WRemoteFillsValue => "alg1: W-REMOTE of ts[key] fills val[key]",
    WRemoteSameTsHasValue => "alg1: W-REMOTE of ts[key] with the value already there",
    WRemoteBuffers => "alg1: W-REMOTE of a newer timestamp goes to remote_buf",
    WRemoteOlder => "alg1: W-REMOTE of an older timestamp is acknowledged only",
    AckWRemoteCounts => "alg1: ACK-W-REMOTE counts towards the propagation's majority",
    AckWRemoteDone => "alg1: the propagation reaches a majority and leaves local_buf",
    AckWRemoteStale => "alg1: ACK-W-REMOTE of no propagation in progress",
    // Algorithm 2 (Section 3.3, prior work).
    OrAccepts => "alg2: OR of a newer ordering timestamp accepts",
    OrRejects => "alg2: OR of an older or equal ordering timestamp rejects",
    OwAccepts => "alg2: OW accepts",
    OwRejects => "alg2: OW rejects",
    // Algorithm 3, replica.
    OrTsAccepts => "alg3: OR-TS of a newer ordering timestamp accepts",
    OrTsRejects => "alg3: OR-TS of an older or equal ordering timestamp rejects",
    OrDataParks => "alg3: OR-DATA waits",
    OrDataExact => "alg3: OR-DATA answers the value of exactly ts",
    OrDataNewer => "alg3: OR-DATA answers false (ts[key] is newer)",
    OrDataFromBuffer => "alg3: OR-DATA answers from remote_buf (ts[key] < ts)",
    OrDataAnsweredLater => "alg3: a waiting OR-DATA is answered when the value arrives",
    OwTsAdoptsFromBuffer => "alg3: OW-TS adopts ots and takes the value from remote_buf",
    OwTsAdoptsWaits => "alg3: OW-TS adopts ots and sets val[key] to ⊥",
    OwTsSameTs => "alg3: OW-TS of the timestamp already adopted keeps the value",
    OwTsRejects => "alg3: OW-TS of an older ordering timestamp rejects",
    // Section 3.4.2, executing commands at replicas.
    ExecApplies => "exec: EXEC applies the command to the value of mts",
    ExecRepeated => "exec: EXEC already applied answers from exec_buf",
    ExecRejects => "exec: EXEC rejects (a newer timestamp or ordering timestamp)",
    ExecWaits => "exec: EXEC waits for the value of mts",
    // Clients: Algorithm 1.
    ReadC1Holds => "client alg1: the R-TS replies all carry mts (C1)",
    ReadC1Fails => "client alg1: the R-TS replies differ (C1 fails)",
    ReadDataOfMts => "client alg1: R-DATA returns the data of mts (C2)",
    ReadDataNewer => "client alg1: R-DATA returns newer data than mts (C2 fails)",
    ReadSkipsWriteBack => "client alg1: the read skips its write-back (C1 and C2)",
    ReadWritesBack => "client alg1: the read writes back the data's timestamp",
    ReadParallelWriteBack => "client alg1: the data phase writes back mts in parallel",
    ReadFallsBack => "client alg1: the data phase falls back to every replica",
    WriteLocalMajority => "client alg1: a local majority stored the value; W-TS goes out",
    // Clients: Algorithm 3.
    ExecuteOrTsAborts => "client alg3: OR-TS rejected: the execute aborts",
    ExecuteOrDataAborts => "client alg3: OR-DATA answered false: the execute aborts",
    ExecuteOwTsAborts => "client alg3: OW-TS rejected: the execute aborts",
    ExecuteCompletes => "client alg3: OW-TS accepted by a majority: the execute returns",
    ExecuteAtReplicas => "client exec: a majority applied the command; OW-TS goes out",
    ExecuteFallsBack => "client exec: the EXEC phase falls back to OR-DATA",
    // Retransmission, delegation.
    Retransmits => "a timer resends a request",
    Delegated => "a delegate answers the operation",
    TakenOver => "a client takes its operation over from its delegate",
}

#[cfg(feature = "coverage")]
mod counters {
    use super::Branch;
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    const N: usize = Branch::ALL.len();
    static HITS: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];

    thread_local! {
        static PAUSED: Cell<bool> = const { Cell::new(false) };
    }

    pub fn hit(b: Branch) {
        if !PAUSED.with(Cell::get) {
            HITS[b as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn take() -> Vec<(Branch, u64)> {
        Branch::ALL
            .iter()
            .map(|&b| (b, HITS[b as usize].swap(0, Ordering::Relaxed)))
            .collect()
    }

    pub fn paused<R>(f: impl FnOnce() -> R) -> R {
        let was = PAUSED.with(|p| p.replace(true));
        let r = f();
        PAUSED.with(|p| p.set(was));
        r
    }
}

/// Counts one execution of branch point `b` (with the `coverage` feature).
#[inline(always)]
pub fn hit(_b: Branch) {
    #[cfg(feature = "coverage")]
    counters::hit(_b);
}

/// The counts since the last call, every branch point included (with the
/// `coverage` feature; all zero without it). Counts are process-wide.
pub fn take() -> Vec<(Branch, u64)> {
    #[cfg(feature = "coverage")]
    return counters::take();
    #[cfg(not(feature = "coverage"))]
    Branch::ALL.iter().map(|&b| (b, 0)).collect()
}

/// Runs `f` without counting on this thread: for handler runs that are
/// not steps of an execution (a checker's own bookkeeping).
pub fn paused<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "coverage")]
    return counters::paused(f);
    #[cfg(not(feature = "coverage"))]
    f()
}

/// Whether branch points are counted in this build.
pub const ENABLED: bool = cfg!(feature = "coverage");
