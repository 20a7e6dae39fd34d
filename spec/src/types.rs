//! Domain types shared by every algorithm: timestamps, keys, values, priority
//! classes and small sets of node ids.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

pub use stateright::actor::Id;

/// A timestamp `(time, node)`, totally ordered: by time, then by the id of the
/// node that took it (Section 3.2: timestamps from synchronized clocks; the
/// node id breaks ties so two writers never share one).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ts {
    /// Clock reading (microseconds in the runtime, a counter in the model).
    pub time: u64,
    /// The node that took the timestamp.
    pub node: u32,
}

impl Ts {
    /// The timestamp of every object's initial value.
    pub const ZERO: Ts = Ts { time: 0, node: 0 };

    /// A timestamp taken by `node` at `time`.
    pub fn new(time: u64, node: Id) -> Ts {
        Ts {
            time,
            node: usize::from(node) as u32,
        }
    }
}

impl fmt::Debug for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.time, self.node)
    }
}

/// The network class of a message: the `*( )` marks of the pseudocode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Class {
    /// Prioritized: small critical fields (timestamps, acks), sent with DSCP EF.
    Priority,
    /// Normal: everything else, including every message that carries a value.
    Normal,
}

/// An immutable byte string, cheap to clone: keys, values and RMW command
/// arguments. Up to [`Bytes::INLINE`] bytes are stored inline (a clone is a
/// copy, with no shared counter that threads contend on); longer ones are
/// shared behind an `Arc`. Equality, order and hash are those of the bytes.
/// Printed as text when it is UTF-8.
#[derive(Clone)]
pub struct Bytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; Bytes::INLINE] },
    Shared(Arc<[u8]>),
}

impl Bytes {
    /// Longest byte string stored inline.
    pub const INLINE: usize = 30;

    /// The empty byte string: the initial value of every object.
    pub fn empty() -> Bytes {
        Bytes(Repr::Inline {
            len: 0,
            buf: [0; Bytes::INLINE],
        })
    }
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Shared(a) => a,
        }
    }
    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }
    /// True if there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&[u8]> for Bytes {
    fn from(s: &[u8]) -> Bytes {
        if s.len() <= Bytes::INLINE {
            let mut buf = [0; Bytes::INLINE];
            buf[..s.len()].copy_from_slice(s);
            Bytes(Repr::Inline {
                len: s.len() as u8,
                buf,
            })
        } else {
            Bytes(Repr::Shared(Arc::from(s)))
        }
    }
}
impl From<&str> for Bytes {
    fn from(s: &str) -> Bytes {
        Bytes::from(s.as_bytes())
    }
}
impl From<String> for Bytes {
    fn from(s: String) -> Bytes {
        Bytes::from(s.as_bytes())
    }
}
impl From<Vec<u8>> for Bytes {
    fn from(s: Vec<u8>) -> Bytes {
        Bytes::from(s.as_slice())
    }
}

impl Default for Bytes {
    fn default() -> Bytes {
        Bytes::empty()
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Bytes {}
impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Bytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bytes {
    fn cmp(&self, other: &Bytes) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}
impl std::hash::Hash for Bytes {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h)
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes::from(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Bytes, E> {
                Ok(Bytes::from(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Bytes, A::Error> {
                let mut v = Vec::new();
                while let Some(b) = a.next_element::<u8>()? {
                    v.push(b);
                }
                Ok(Bytes::from(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self.as_slice()) {
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "{:02x?}", self.as_slice()),
        }
    }
}

/// Object key (the container id is a prefix of it, Section 3.1).
pub type Key = Bytes;
/// Object value.
pub type Value = Bytes;
/// An epoch of a container's metadata (Section 3.1, the directory
/// service): it grows by one at each change of the container's replica
/// set. `0` marks a container whose metadata is fixed in the configuration
/// (no directory service for it, no epoch checks); directory-managed
/// containers start at epoch 1.
pub type Epoch = u64;
/// Request id: echoed by every reply so that late and duplicated replies are
/// recognised and retransmissions are harmless.
pub type ReqId = u32;

/// A set of node ids (ids below 64), as a bit mask: small, canonical, cheap
/// to hash. Used for "who has acknowledged" and "who is crashed".
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdSet(pub u64);

impl IdSet {
    /// The empty set.
    pub const EMPTY: IdSet = IdSet(0);
    /// Adds `id`; returns true if it was not there.
    pub fn insert(&mut self, id: Id) -> bool {
        let bit = 1u64 << usize::from(id);
        let new = self.0 & bit == 0;
        self.0 |= bit;
        new
    }
    /// Whether `id` is in the set.
    pub fn contains(&self, id: Id) -> bool {
        usize::from(id) < 64 && self.0 & (1u64 << usize::from(id)) != 0
    }
    /// Number of ids in the set.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }
    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// The ids, in increasing order.
    pub fn iter(self) -> impl Iterator<Item = Id> {
        (0..64usize)
            .filter(move |i| self.0 & (1u64 << i) != 0)
            .map(Id::from)
    }
}

impl FromIterator<Id> for IdSet {
    fn from_iter<I: IntoIterator<Item = Id>>(iter: I) -> Self {
        let mut s = IdSet::EMPTY;
        for id in iter {
            s.insert(id);
        }
        s
    }
}

impl fmt::Debug for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(usize::from)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_compare_by_content_whatever_the_representation() {
        let short = Bytes::from("abc");
        let long = Bytes::from("x".repeat(100));
        assert_eq!(short, Bytes::from(b"abc".to_vec()));
        assert_eq!(long, Bytes::from("x".repeat(100)));
        assert!(short < long, "order is the bytes' order");
        assert_eq!(
            Bytes::from("x".repeat(Bytes::INLINE + 1)).len(),
            Bytes::INLINE + 1
        );
        assert!(Bytes::empty().is_empty());
    }
}
