//! The sequential specification of an object: the [`Model`] trait, and the
//! recorded [`Operation`]s a history is made of.

use std::fmt::Debug;
use std::hash::{Hash, Hasher};

/// One completed (or never completed) operation of a history.
///
/// Times are in arbitrary but consistent units (nanoseconds for the project's
/// own format, line numbers for Jepsen logs). Intervals are closed: an
/// operation whose call time equals another's return time is concurrent with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client (process) that issued the operation.
    pub client: u64,
    /// What was asked.
    pub input: I,
    /// Invocation time.
    pub call: u64,
    /// What was answered (including "failed" or "unknown" outcomes, if the
    /// model's output type can express them).
    pub output: O,
    /// Completion time; `None` means the outcome is unknown and the operation
    /// stays pending until the end of the history (return time = +infinity):
    /// it may take effect at any point after its call, or never.
    pub ret: Option<u64>,
}

impl<I, O> Operation<I, O> {
    /// Return time with pending operations mapped to `u64::MAX`.
    pub fn return_time(&self) -> u64 {
        self.ret.unwrap_or(u64::MAX)
    }
}

/// A sequential specification, checked porcupine-style.
///
/// `step` must be a pure function. Operations with an unknown outcome are
/// pending until the end of the history; to let such an operation "never take
/// effect", `step` must accept it in every state (the checker can then place
/// it after everything else, where it is unobservable).
pub trait Model: Sync {
    /// Object state. `Eq` and [`Model::hash_state`] must agree.
    type State: Clone + Eq + Send + Debug;
    /// Operation input.
    type Input: Sync + Debug;
    /// Operation output.
    type Output: Sync + Debug;

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Applies `input` in `state`; `None` if `output` is impossible there,
    /// otherwise the next state.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: &Self::Output,
    ) -> Option<Self::State>;

    /// P-compositionality: operations with different keys act on independent
    /// objects and are checked separately. `None` (the default) means the
    /// whole history is one object.
    fn partition_key(&self, _input: &Self::Input) -> Option<u64> {
        None
    }

    /// Hash of a state, used by the search's memoization cache (collisions
    /// are harmless: entries are compared exactly).
    fn hash_state(&self, state: &Self::State) -> u64;

    /// Whether the memoization cache should store equal states once
    /// (sharing them) rather than once per cache entry. Worth it when states
    /// own large heap data that many search paths rebuild (e.g. strings
    /// grown by appends); it costs an extra lookup per new cache entry.
    fn share_states(&self) -> bool {
        false
    }

    /// Human-readable operation, for explanations and the HTML report.
    fn describe_operation(&self, input: &Self::Input, output: &Self::Output) -> String {
        format!("{input:?} -> {output:?}")
    }

    /// Human-readable state, for explanations and the HTML report.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A small, fast, non-cryptographic hasher (FxHash-like) used for states and
/// the memoization cache.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hashes any `Hash` value with [`FastHasher`].
pub fn fast_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FastHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// Final mixing of a 64-bit value (splitmix64 finalizer).
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
