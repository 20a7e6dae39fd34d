//! # vivace-spec: the Vivace protocol, sans IO
//!
//! The four algorithms of "Surviving congestion in geo-distributed storage
//! systems" (Cho and Aguilera, USENIX ATC 2012) as [Stateright] actors:
//! ABD, Algorithm 1 (Vivace RW), Algorithm 2 (RMW in a LAN) and Algorithm 3
//! (Vivace RMW), written to read like the paper's pseudocode.
//!
//! ## Contract
//!
//! - **No IO, no clock, no threads.** Handlers take a state, a message and
//!   its sender, and return effects as data: messages to send (each knows its
//!   [`Class`] through [`Msg::class`]) and whether a retransmission timer is
//!   wanted. Time enters only as messages from the clock role.
//! - The same code runs in two worlds: the `vivace-proofs` crate explores
//!   every interleaving of it with Stateright; the `vivace-impl` runtime
//!   drives it over UDP, one socket per class.
//! - Handlers are idempotent and replies carry the request id, so
//!   retransmission over a lossy network is safe.
//! - All state is ordered collections (`BTreeMap`, bit sets), so equal states
//!   hash equally and the model's state space is canonical.
//!
//! ## Roles
//!
//! - [`replica::Server`]: the replica role (`upon receive` handlers) and the
//!   local-replica role (W-LOCAL and the background W-REMOTE propagation).
//! - [`client::Client`]: coordinates read, write and execute, one `sendwait`
//!   phase at a time.
//! - [`clock::Clock`]: hands out timestamps; a model of the synchronized
//!   clocks the paper assumes.
//! - [`directory`]: the directory service of Section 3.1: container
//!   metadata with epochs in directory objects, and the administrator's
//!   reconfiguration (SEAL, COPY, INSTALL; then PUBLISH); the server's
//!   epoch checks and the client's resume rule are in the two roles.
//!
//! [Stateright]: https://docs.rs/stateright

pub mod client;
pub mod clock;
pub mod config;
pub mod coverage;
pub mod directory;
pub mod msg;
pub mod node;
pub mod object;
pub mod quorum;
pub mod replica;
pub mod types;

pub use config::{
    Algorithm, Container, Deployment, Directory, Mutation, Options, Site, TimestampMode,
};
pub use msg::{Msg, Op, Ret};
pub use node::{Node, NodeState};
pub use object::Command;
pub use types::{Bytes, Class, Epoch, Id, IdSet, Key, ReqId, Ts, Value};

/// Timers an actor can set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Resend the requests that have not been answered.
    Retransmit,
}
