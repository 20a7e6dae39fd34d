//! Quorum arithmetic, kept pure: the `sendwait(msg, nodes, num_acks)` of the
//! paper's pseudocode waits for `num_acks` replies and, for the RMW
//! algorithms, fails if any of them says `false`.

use crate::types::{Id, IdSet};

/// `⌈(n+1)/2⌉`: the number of replies a majority phase waits for.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// What a phase knows after one more reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// Fewer than `needed` distinct repliers so far.
    Waiting,
    /// `needed` distinct repliers, all of them with status `true`.
    Accepted,
    /// `needed` distinct repliers, at least one with status `false`: the
    /// RMW algorithms return ⊥.
    Rejected,
}

/// The replies of one `sendwait` phase: who answered and whether any said
/// `false`. A reply from the same node twice (a retransmission) counts once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Votes {
    /// Nodes that replied.
    pub from: IdSet,
    /// Whether some reply carried status `false`.
    pub rejected: bool,
}

impl Votes {
    /// Records a reply; returns the tally against `needed` replies.
    /// Replies past the `needed`-th do not change an outcome already reached.
    pub fn record(&mut self, from: Id, ok: bool, needed: usize) -> Tally {
        if self.from.len() < needed && self.from.insert(from) && !ok {
            self.rejected = true;
        }
        self.tally(needed)
    }

    /// The tally against `needed` replies.
    pub fn tally(&self, needed: usize) -> Tally {
        match (self.from.len() >= needed, self.rejected) {
            (false, _) => Tally::Waiting,
            (true, false) => Tally::Accepted,
            (true, true) => Tally::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_is_ceiling_of_n_plus_one_over_two() {
        // (n, ⌈(n+1)/2⌉)
        for (n, m) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)] {
            assert_eq!(majority(n), m, "n = {n}");
        }
    }

    #[test]
    fn tally_table() {
        // Each row: replies in arrival order (node, status), needed, outcome.
        let rows: &[(&[(usize, bool)], usize, Tally)] = &[
            (&[], 2, Tally::Waiting),
            (&[(1, true)], 2, Tally::Waiting),
            // a duplicate reply counts once
            (&[(1, true), (1, true)], 2, Tally::Waiting),
            (&[(1, true), (2, true)], 2, Tally::Accepted),
            // one `false` among the first `needed` replies aborts (sendwait returns ⊥)
            (&[(1, false), (2, true)], 2, Tally::Rejected),
            (&[(1, true), (2, false)], 2, Tally::Rejected),
            // a `false` after the quorum was reached changes nothing
            (&[(1, true), (2, true), (3, false)], 2, Tally::Accepted),
            // a duplicate `false` from a node already counted as `true` changes nothing
            (&[(1, true), (1, false)], 2, Tally::Waiting),
            (&[(4, true)], 1, Tally::Accepted),
        ];
        for (replies, needed, expected) in rows {
            let mut v = Votes::default();
            let mut last = v.tally(*needed);
            for (node, ok) in replies.iter() {
                last = v.record(Id::from(*node), *ok, *needed);
            }
            assert_eq!(last, *expected, "replies {replies:?} needed {needed}");
        }
    }
}
