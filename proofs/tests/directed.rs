//! A directed counterexample: a schedule replayed through the model, each
//! step an action the model offers. Used where the bug lies too deep for a
//! breadth-first search to reach in memory and a depth-first search takes
//! too long to stumble on it.

use stateright::Model;
use vivace_proofs::config::ModelConfig;
use vivace_proofs::model::{Action, Envelope, VivaceModel};
use vivace_spec::{Algorithm, Msg, Mutation};

/// Algorithm 3 with OW-TS keeping the old value instead of ⊥: client 4
/// runs its whole execute first while the W-REMOTE messages to replicas 1
/// and 2 wait; its OW-TS makes them adopt its timestamp with the initial
/// value. Client 3 then reads that stale value by OR-DATA and both appends
/// apply to the empty value: a lost update, not linearizable. The same
/// schedule with the algorithm as written stays linearizable.
#[test]
fn ow_ts_keeping_the_old_value_loses_an_update() {
    let run = |mutation| {
        let mut cfg = ModelConfig::tiny(Algorithm::VivaceRmw);
        cfg.mutation = mutation;
        let m = VivaceModel::new(cfg);
        let mut s = m.init_states().pop().expect("one initial state");
        let mut steps = 0;
        loop {
            let mut actions = Vec::new();
            m.actions(&s, &mut actions);
            // Client 4's messages first, then replica 1's replies; W-REMOTE to
            // the remote replicas never.
            let pick: Option<Envelope> = actions
                .into_iter()
                .filter_map(|a| match a {
                    Action::Deliver(e) => Some(e),
                    _ => None,
                })
                .filter(|e| !matches!(e.msg, Msg::WRemote { .. }) || usize::from(e.dst) == 0)
                .max_by_key(|e| {
                    (
                        usize::from(e.src) == 4 || usize::from(e.dst) == 4,
                        usize::from(e.src) == 1,
                        usize::from(e.src),
                    )
                });
            let Some(e) = pick else { break };
            s = m
                .next_state(&s, Action::Deliver(e))
                .expect("an offered action applies");
            steps += 1;
            assert!(steps < 200, "the schedule terminates");
        }
        // The schedule ran to its end: both executes returned, so the
        // verdict below judges a whole history, not a prefix.
        assert!(
            m.all_finished(&s),
            "every operation returned: {:?}",
            s.history
        );
        s
    };
    let bad = run(Mutation::WTsKeepsOldValue);
    assert!(
        bad.history.violated,
        "the mutant loses an update: {:?}",
        bad.history
    );
    let good = run(Mutation::None);
    assert!(
        !good.history.violated,
        "the algorithm as written: {:?}",
        good.history
    );
}
