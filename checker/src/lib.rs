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
//!
//! ```
//! use vivace_checker::models::{Command, OpInput, OpOutput, RegisterModel};
//! use vivace_checker::{check_operations, CheckResult, Operation};
//!
//! let op = |client, command, output, call, ret| Operation {
//!     client,
//!     input: OpInput { key: 0, command },
//!     call,
//!     output,
//!     ret,
//! };
//! let history = vec![
//!     op(0, Command::Write("1".into()), OpOutput::Ok(None), 0, Some(10)),
//!     // Concurrent with the write: may read either value.
//!     op(1, Command::Read, OpOutput::Ok(None), 5, Some(8)),
//!     // After the write returned: must see it.
//!     op(1, Command::Read, OpOutput::Ok(None), 11, Some(12)),
//! ];
//! assert_eq!(check_operations(&RegisterModel, &history, None), CheckResult::Illegal);
//! // A write with unknown outcome may never have taken effect.
//! let mut unsure = history.clone();
//! unsure[0].output = OpOutput::Unknown;
//! unsure[0].ret = None;
//! assert_eq!(check_operations(&RegisterModel, &unsure, None), CheckResult::Ok);
//! ```

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
