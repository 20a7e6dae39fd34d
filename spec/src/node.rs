//! The Stateright actor: one type for every role, so a model or a runtime
//! can hold a whole cluster in one vector.

use crate::client::{Client, ClientState};
use crate::clock::{Clock, ClockState};
use crate::msg::Msg;
use crate::replica::{Sends, Server, ServerState};
use crate::types::Id;
use crate::Timer;
use stateright::actor::{Actor, Out};
use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

/// A node of the cluster in one of its roles.
#[derive(Clone, Debug)]
pub enum Node {
    /// A server: replica and/or local replica.
    Server(Server),
    /// A client.
    Client(Client),
    /// The clock.
    Clock(Clock),
}

/// State of a [`Node`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeState {
    /// Server state.
    Server(ServerState),
    /// Client state.
    Client(ClientState),
    /// Clock state.
    Clock(ClockState),
}

pub use crate::client::{DELEGATION_TIMEOUT, RETRANSMIT_AFTER};

fn emit(sends: Sends, timer: Option<Range<Duration>>, o: &mut Out<Node>) {
    for (dst, msg) in sends {
        o.send(dst, msg);
    }
    if let Some(after) = timer {
        o.set_timer(Timer::Retransmit, after);
    }
}

impl Actor for Node {
    type Msg = Msg;
    type Timer = Timer;
    type State = NodeState;
    type Storage = ();
    type Random = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> NodeState {
        match self {
            Node::Server(s) => NodeState::Server(s.initial(id)),
            Node::Clock(_) => NodeState::Clock(ClockState::default()),
            Node::Client(c) => {
                let mut sends = Sends::new();
                let s = c.on_start(&mut sends);
                let timer = c.needs_timer(&s).then(|| c.timer_after(&s));
                emit(sends, timer, o);
                NodeState::Client(s)
            }
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<NodeState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let mut sends = Sends::new();
        let mut timer = None;
        match (self, state.to_mut()) {
            (Node::Server(a), NodeState::Server(s)) => {
                let had = a.needs_timer(s);
                a.on_msg(s, src, msg, &mut sends);
                if !had && a.needs_timer(s) {
                    timer = Some(RETRANSMIT_AFTER);
                }
            }
            (Node::Client(a), NodeState::Client(s)) => {
                let before = s.next_req;
                a.on_msg(s, src, msg, &mut sends);
                // A new phase started, or the client waits to read the
                // directory again (Section 3.1): (re)arm the timer.
                if (s.next_req != before || a.waits_for_directory(s)) && a.needs_timer(s) {
                    timer = Some(a.timer_after(s));
                }
            }
            (Node::Clock(a), NodeState::Clock(s)) => a.on_msg(s, src, msg, &mut sends),
            _ => unreachable!("a node's state matches its role"),
        }
        emit(sends, timer, o);
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out<Self>) {
        let mut sends = Sends::new();
        let again = match (self, state.to_mut()) {
            (Node::Server(a), NodeState::Server(s)) => a
                .on_timeout(s, timer, &mut sends)
                .then_some(RETRANSMIT_AFTER),
            (Node::Client(a), NodeState::Client(s)) => {
                a.on_timeout(s, &mut sends).then(|| a.timer_after(s))
            }
            _ => None,
        };
        emit(sends, again, o);
    }
}
