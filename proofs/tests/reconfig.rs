//! The directory service's reconfiguration (`proofs/src/reconfig.rs`): the
//! protocol holds and its interesting paths are reached; every mutant that
//! drops a step is refuted with a counterexample. One thread, so the
//! counts are deterministic, and pinned.

use stateright::{Checker, HasDiscoveries, Model};
use vivace_proofs::reconfig::{
    ReconfigModel, ReconfigMutation, LINEARIZABLE, MOVED, PUBLISHED_AND_FINISHED,
};

#[test]
fn reconfiguration_holds_and_moves_operations() {
    let c = ReconfigModel::default()
        .checker()
        .threads(1)
        .spawn_bfs()
        .join();
    assert!(c.is_done(), "exhaustive");
    // A discovery of an `always` property is a violation; of a
    // `sometimes` one, an example.
    assert!(c.discovery(LINEARIZABLE).is_none(), "linearizable holds");
    assert!(c.discovery(MOVED).is_some(), "{MOVED}");
    assert!(c.discovery(PUBLISHED_AND_FINISHED).is_some());
    assert_eq!(c.unique_state_count(), 276_792, "pinned");
}

#[test]
fn every_step_is_needed() {
    // (mutation, states until the violation, counterexample length)
    let pinned = [
        (ReconfigMutation::NoSeal, 220_311, 29),
        (ReconfigMutation::CopyFromOne, 322_898, 27),
        (ReconfigMutation::InstallWithoutCopy, 205_683, 29),
    ];
    assert_eq!(pinned.len(), ReconfigMutation::ALL.len());
    for (mutation, states, steps) in pinned {
        let m = ReconfigModel {
            mutation,
            ..ReconfigModel::default()
        };
        let c = m
            .checker()
            .threads(1)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let path = c
            .discovery(LINEARIZABLE)
            .unwrap_or_else(|| panic!("{mutation:?}: not refuted"));
        let n = path.into_actions().len();
        println!(
            "{mutation:?}: refuted in {n} steps, {} states",
            c.unique_state_count()
        );
        assert_eq!((c.unique_state_count(), n), (states, steps), "{mutation:?}");
    }
}
