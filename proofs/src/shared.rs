//! `Hashed<T>`: an immutable value shared between model states, with its
//! hash computed once. Model states are cloned and fingerprinted millions
//! of times while most of their parts do not change from one state to the
//! next; sharing those parts and caching their hashes makes a step cost
//! what it changes, not the size of the whole state.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A shared value with a cached hash.
pub struct Hashed<T> {
    hash: u64,
    val: Arc<T>,
}

impl<T: Hash> Hashed<T> {
    /// Wraps `val`, hashing it once.
    pub fn new(val: T) -> Self {
        // Fixed keys: the same value hashes the same in every run and thread.
        let mut h = ahash::RandomState::with_seeds(1, 2, 3, 4).build_hasher();
        val.hash(&mut h);
        Hashed {
            hash: h.finish(),
            val: Arc::new(val),
        }
    }
}

impl<T> Clone for Hashed<T> {
    fn clone(&self) -> Self {
        Hashed {
            hash: self.hash,
            val: Arc::clone(&self.val),
        }
    }
}

impl<T> Deref for Hashed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.val
    }
}

impl<T> Hash for Hashed<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl<T: PartialEq> PartialEq for Hashed<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.val, &other.val) || (self.hash == other.hash && *self.val == *other.val)
    }
}
impl<T: Eq> Eq for Hashed<T> {}

impl<T: Ord> PartialOrd for Hashed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Ord> Ord for Hashed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.val, &other.val) {
            Ordering::Equal
        } else {
            self.val.cmp(&other.val)
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Hashed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.val.fmt(f)
    }
}
