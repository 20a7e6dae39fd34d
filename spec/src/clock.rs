//! The clock role. The paper assumes synchronized clocks (Section 2); the
//! model makes that assumption an actor that hands out times, so that a
//! clock breaking it can be modelled too.

use crate::msg::Msg;
use crate::replica::Sends;
use crate::types::Id;
use std::collections::BTreeMap;

/// How the clock behaves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClockMode {
    /// Perfectly synchronized: every reading is later than every earlier one.
    Synchronized,
    /// The clocks of some clients run behind by a fixed amount: a reading
    /// handed to such a client can be earlier than one handed out before it
    /// (the clock "goes backwards"), which the paper's assumption forbids.
    Lagging(Vec<(Id, u64)>),
    /// Unsynchronized clocks that start equal: each client's k-th reading is
    /// k, so two clients read the same times.
    PerClient,
}

/// State of the clock: the last time handed out (per client for `PerClient`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockState {
    /// Last reading of the global clock.
    pub last: u64,
    /// Last reading per client (`PerClient` only).
    pub per_client: BTreeMap<Id, u64>,
}

/// The clock actor.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Its behaviour.
    pub mode: ClockMode,
    /// Commit wait, in clock ticks (0: none): the uncertainty of the
    /// clocks. A reading `r` is handed out only once true time has passed
    /// `r + commit_wait`, as the runtime delays its clock's answer by the
    /// configured uncertainty: then every clock that lags by at most that
    /// much reads above `r` from then on, so an operation invoked after this
    /// one returns takes a higher timestamp.
    pub commit_wait: u64,
}

impl Clock {
    /// Answers a clock request.
    pub fn on_msg(&self, s: &mut ClockState, src: Id, msg: Msg, out: &mut Sends) {
        let Msg::ClockReq { req } = msg else { return };
        let time = match &self.mode {
            ClockMode::Synchronized => {
                s.last += 1;
                s.last
            }
            ClockMode::Lagging(lags) => {
                s.last += 1;
                let lag = lags
                    .iter()
                    .find(|(id, _)| *id == src)
                    .map_or(0, |(_, l)| *l);
                s.last.saturating_sub(lag)
            }
            ClockMode::PerClient => {
                let t = s.per_client.entry(src).or_insert(0);
                *t += 1;
                *t
            }
        };
        if self.commit_wait > 0 {
            // True time passes while the reader waits.
            s.last = s.last.max(time + self.commit_wait);
        }
        out.push((src, Msg::ClockResp { req, time }));
    }
}
