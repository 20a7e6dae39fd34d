//! Porcupine-style linearizability checker for histories recorded from real
//! runs of Vivace (and for the reference Jepsen / key-value histories).
//!
//! Contract:
//! - [`check_operations`] / [`analyze`] decide whether a history of
//!   [`Operation`]s is linearizable with respect to a [`Model`]; the result is
//!   three-way ([`CheckResult`]): `Ok`, `Illegal`, or `Unknown` when the
//!   deadline passed. A timeout is never reported as `Ok`.
//! - Intervals are closed (an operation returning at time t is concurrent
//!   with one called at t). Operations with an unknown outcome (`ret: None`)
//!   stay pending to the end of the history: they may take effect at any point
//!   after their call, or never.
//! - The search is Wing & Gong's with Lowe's memoization (porcupine's
//!   `checkSingle`), iterative; histories are split per key
//!   ([`Model::partition_key`]) and partitions are checked concurrently,
//!   stopping at the first illegal one, which is then re-run to explain it
//!   ([`Explanation`]).
//! - Readers ([`formats`]) report input errors with file, line and reason;
//!   [`html::render`] writes a self-contained HTML report.

pub mod checker;
pub mod formats;
pub mod gen;
pub mod html;
pub mod model;
pub mod models;

pub use checker::{
    analyze, check_operations, Analysis, CheckOptions, CheckResult, Explanation, PartitionOutcome,
};
pub use model::{Model, Operation};
