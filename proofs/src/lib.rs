//! # vivace-proofs: the Vivace algorithms, model checked
//!
//! Each configuration ([`config::ModelConfig`]) puts spec's actors in a
//! model ([`model::VivaceModel`]) whose every reachable state Stateright
//! visits. A check counts only when the search finished: no timeout, no
//! state cap. Properties are in [`properties`]; the linearizability tester,
//! which knows that an aborted RMW operation may or may not have taken
//! effect, is in [`linearizability`]; the deliberately broken variants that
//! the checker must refute are in [`mutants`]; [`run`] runs checks and
//! reports them as text or JSON.

pub mod config;
pub mod garbage;
pub mod linearizability;
pub mod model;
pub mod mutants;
pub mod properties;
pub mod reconfig;
pub mod run;
pub mod shared;
pub mod symmetry;
