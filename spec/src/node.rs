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

/// How long a retransmission timer waits (the model ignores it).
pub const RETRANSMIT_AFTER: Range<Duration> =
    Duration::from_millis(200)..Duration::from_millis(400);

fn emit(sends: Sends, timer: bool, o: &mut Out<Node>) {
    for (dst, msg) in sends {
        o.send(dst, msg);
    }
    if timer {
        o.set_timer(Timer::Retransmit, RETRANSMIT_AFTER);
    }
}

impl Actor for Node {
    type Msg = Msg;
    type Timer = Timer;
    type State = NodeState;
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> NodeState {
        match self {
            Node::Server(_) => NodeState::Server(ServerState::default()),
            Node::Clock(_) => NodeState::Clock(ClockState::default()),
            Node::Client(c) => {
                let mut sends = Sends::new();
                let s = c.on_start(&mut sends);
                let timer = c.needs_timer(&s);
                emit(sends, timer, o);
                NodeState::Client(s)
            }
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<NodeState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let mut sends = Sends::new();
        let mut timer = false;
        match (self, state.to_mut()) {
            (Node::Server(a), NodeState::Server(s)) => {
                let had = !s.local_buf.is_empty();
                timer = a.on_msg(s, src, msg, &mut sends) && !had;
            }
            (Node::Client(a), NodeState::Client(s)) => {
                let before = s.next_req;
                a.on_msg(s, src, msg, &mut sends);
                // A new phase started: (re)arm the retransmission timer.
                timer = s.next_req != before && a.needs_timer(s);
            }
            (Node::Clock(a), NodeState::Clock(s)) => a.on_msg(s, src, msg, &mut sends),
            _ => unreachable!("a node's state matches its role"),
        }
        emit(sends, timer, o);
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out<Self>) {
        let mut sends = Sends::new();
        let again = match (self, state.to_mut()) {
            (Node::Server(a), NodeState::Server(s)) => a.on_timeout(s, timer, &mut sends),
            (Node::Client(a), NodeState::Client(s)) => a.on_timeout(s, &mut sends),
            _ => false,
        };
        emit(sends, again, o);
    }
}
