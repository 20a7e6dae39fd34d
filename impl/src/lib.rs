//! # vivace-impl: the Vivace runtime over UDP
//!
//! Runs the actors of `vivace-spec` unchanged over real sockets:
//!
//! - [`runtime`]: the per-node event loop (mio), which interprets the
//!   actors' `Out` commands, delivers self-messages and clock replies
//!   in-process, and drains the priority socket before the normal one;
//! - [`net`]: the two UDP sockets of a node, each with its own TOS mark, and
//!   the counters of sent, received and dropped datagrams;
//! - [`wire`]: the versioned compact binary format;
//! - [`config`]: the TOML cluster description;
//! - [`client`]: the client library (`write`, `read`, `execute`);
//! - [`directory`]: the directory service's administration (Section 3.1):
//!   `dir init`, `dir show`, `reconfig`;
//! - [`history`]: history recording in the checker's JSON-lines format;
//! - [`pool`]: many clients driven by one thread (one poller);
//! - [`cluster`]: a whole cluster on loopback inside one process;
//! - [`workload`]: the demo and the closed-loop benchmark;
//! - [`curves`] and [`plot`]: the benchmark's three curves, as SVG.

pub mod audit;
pub mod client;
pub mod cluster;
pub mod config;
pub mod curves;
pub mod directory;
pub mod history;
pub mod lab;
pub mod net;
pub mod plot;
pub mod pool;
pub mod runtime;
pub mod wire;
pub mod workload;

pub use client::{Client, ClientError};
pub use config::{ClusterConfig, ConfigError};
pub use history::{Recorder, Verdict};
pub use runtime::{RuntimeError, RuntimeOptions};
