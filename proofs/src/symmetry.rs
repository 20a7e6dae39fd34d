//! Symmetry reduction: servers with the same site and the same roles are
//! interchangeable (in Figure 5, replicas 2 and 3 in site B; local replicas
//! 4 and 5 in site A). Two states that differ only by a renaming of such
//! servers have the same futures up to that renaming, so the checker visits
//! one representative of each class: the least state, by `Ord`, among all
//! renamings.

use crate::config::ModelConfig;
use crate::model::{Envelope, State};
use crate::shared::Hashed;
use stateright::Representative;
use vivace_spec::client::{Current, Phase};
use vivace_spec::{Id, IdSet, NodeState};

/// Groups of interchangeable servers of a configuration.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Groups(pub Vec<Vec<usize>>);

impl ModelConfig {
    /// Groups of interchangeable servers: same site, same membership of the
    /// replica set and of every local set, both may crash or neither, and no
    /// tie-break by id between them.
    pub fn symmetric_groups(&self) -> Vec<Vec<usize>> {
        // A delegate (Section 3.4.2) is chosen by id, so it is a role too.
        let (deployment, _) = self.build();
        let delegates: Vec<vivace_spec::Id> = self
            .clients
            .iter()
            .filter_map(|c| deployment.delegate_of(&crate::config::key(), c.site))
            .collect();
        let role = |i: usize| {
            let locals: Vec<bool> = self
                .local_sets
                .iter()
                .map(|(_, v)| v.contains(&i))
                .collect();
            let crashable = self.crashable.as_ref().is_none_or(|c| c.contains(&i));
            (
                self.servers[i],
                self.replicas.contains(&i),
                crashable,
                locals,
                // Reading from fewer replicas asks the lowest id among
                // the replicas that reported `mts` (Section 3.4.1): a
                // tie-break by id, so no two replicas are interchangeable.
                (self.options.fewer_replicas && self.replicas.contains(&i)).then_some(i),
                delegates.contains(&Id::from(i)),
            )
        };
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..self.servers.len() {
            match groups.iter_mut().find(|g| role(g[0]) == role(i)) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        groups.retain(|g| g.len() > 1);
        groups
    }
}

fn id(m: &[usize], x: Id) -> Id {
    Id::from(m[usize::from(x)])
}

fn set(m: &[usize], s: IdSet) -> IdSet {
    s.iter().map(|x| id(m, x)).collect()
}

/// Whether renaming by `m` changes the set `s`.
fn moves(m: &[usize], s: IdSet) -> bool {
    set(m, s) != s
}

/// Whether renaming by `m` changes the ids an operation in progress holds.
fn moves_current(m: &[usize], cur: &Current) -> bool {
    moves(m, cur.votes.from)
        || moves(m, cur.to)
        || match &cur.phase {
            Phase::RTs { with_mts, .. } => moves(m, *with_mts),
            Phase::RDataWb { data_to, .. } => moves(m, *data_to),
            _ => false,
        }
}

fn node(m: &[usize], n: &Hashed<NodeState>) -> Hashed<NodeState> {
    match &**n {
        NodeState::Server(s)
            if s.local_buf.values().any(|p| moves(m, p.acks.from))
                || s.delegations
                    .values()
                    .any(|d| d.current.as_ref().is_some_and(|c| moves_current(m, c)))
                || s.parked.iter().any(|p| id(m, p.from) != p.from) =>
        {
            let mut s = s.clone();
            for p in s.local_buf.values_mut() {
                p.acks.from = set(m, p.acks.from);
            }
            // A parked request's sender can be a delegate.
            s.parked = std::mem::take(&mut s.parked)
                .into_iter()
                .map(|mut p| {
                    p.from = id(m, p.from);
                    p
                })
                .collect();
            // The operations a delegate coordinates (Section 3.4.2).
            for cur in s
                .delegations
                .values_mut()
                .filter_map(|d| d.current.as_mut())
            {
                current(m, cur);
            }
            Hashed::new(NodeState::Server(s))
        }
        NodeState::Client(c) if c.current.as_ref().is_some_and(|cur| moves_current(m, cur)) => {
            let mut c = c.clone();
            if let Some(cur) = &mut c.current {
                current(m, cur);
            }
            Hashed::new(NodeState::Client(c))
        }
        _ => n.clone(),
    }
}

/// Renames the server ids an operation in progress holds.
fn current(m: &[usize], cur: &mut Current) {
    cur.votes.from = set(m, cur.votes.from);
    cur.to = set(m, cur.to);
    match &mut cur.phase {
        Phase::RTs { with_mts, .. } => *with_mts = set(m, *with_mts),
        Phase::RDataWb { data_to, .. } => *data_to = set(m, *data_to),
        _ => {}
    }
}

/// The state with every id renamed by `m`.
pub fn rename(state: &State, m: &[usize]) -> State {
    let mut nodes = state.nodes.clone();
    for (i, n) in state.nodes.iter().enumerate() {
        nodes[m[i]] = node(m, n);
    }
    let envs = |v: &[Envelope]| {
        let mut v: Vec<Envelope> = v
            .iter()
            .map(|e| Envelope {
                src: id(m, e.src),
                dst: id(m, e.dst),
                msg: e.msg.clone(),
            })
            .collect();
        v.sort();
        v
    };
    State {
        nodes,
        net: envs(&state.net),
        timers: set(m, state.timers),
        crashed: set(m, state.crashed),
        drops_left: state.drops_left,
        spurious_left: state.spurious_left,
        history: state.history.clone(),
        groups: state.groups.clone(),
    }
}

impl Representative for State {
    /// Sorts the servers of each group by what can be seen of them without
    /// their names: their state, then the messages to and from them, then
    /// whether they are crashed or have a timer armed, and renames them in
    /// that order. The result is a renaming of `self`, so it has the same
    /// futures up to renaming: sound. It is not a perfect canonical form
    /// (servers that tie on every key keep their order), so two states of
    /// one class can keep distinct representatives: that costs states, never
    /// soundness, and makes the count of a multi-threaded search vary very
    /// slightly with the order threads visit states (a one-thread search is
    /// deterministic; the tests pin those counts).
    fn representative(&self) -> Self {
        let Some(groups) = &self.groups else {
            return self.clone();
        };
        let n = self.nodes.len();
        let mut m: Vec<usize> = (0..n).collect();
        let mut identity = true;
        for g in &groups.0 {
            // The messages to and from a server, by content: computed only
            // for servers whose states tie.
            let msgs = |i: usize| {
                let id = Id::from(i);
                let sorted = |pick: fn(&Envelope) -> Id| {
                    let mut v: Vec<&vivace_spec::Msg> = self
                        .net
                        .iter()
                        .filter(|e| pick(e) == id)
                        .map(|e| &e.msg)
                        .collect();
                    v.sort();
                    v
                };
                (
                    sorted(|e| e.dst),
                    sorted(|e| e.src),
                    self.crashed.contains(id),
                    self.timers.contains(id),
                )
            };
            let mut members: Vec<usize> = g.clone();
            members.sort_by(|&a, &b| {
                self.nodes[a]
                    .cmp(&self.nodes[b])
                    .then_with(|| msgs(a).cmp(&msgs(b)))
            });
            for (slot, old) in members.iter().enumerate() {
                m[*old] = g[slot];
                identity &= *old == g[slot];
            }
        }
        if identity {
            self.clone()
        } else {
            rename(self, &m)
        }
    }
}

/// Checks that every transposition of two servers of one group is an
/// automorphism of the part of `cfg`'s state graph reachable without the
/// symmetry reduction: the renamed state of every reachable state is
/// reachable, and its successors are exactly the renamed successors. This
/// is what makes visiting one representative per class sound, checked on
/// the handlers as they are (a tie-break by id shows up here). `groups`
/// are the groups to check, normally [`ModelConfig::symmetric_groups`].
/// Returns the number of states checked.
pub fn check_automorphisms(cfg: &ModelConfig, groups: &[Vec<usize>]) -> Result<usize, String> {
    use stateright::Model;
    use std::collections::HashSet;
    let model = crate::model::VivaceModel::new(ModelConfig {
        symmetry: false,
        ..cfg.clone()
    });
    let mut seen: HashSet<State> = HashSet::new();
    let mut todo: Vec<State> = model.init_states();
    let successors = |s: &State| -> Vec<State> {
        let mut actions = Vec::new();
        model.actions(s, &mut actions);
        let mut v: Vec<State> = actions
            .into_iter()
            .filter_map(|a| model.next_state(s, a))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    while let Some(s) = todo.pop() {
        if seen.insert(s.clone()) {
            todo.extend(successors(&s));
        }
    }
    let n = cfg.servers.len() + cfg.clients.len() + 1;
    for g in groups {
        for (x, &a) in g.iter().enumerate() {
            for &b in &g[x + 1..] {
                let mut m: Vec<usize> = (0..n).collect();
                m.swap(a, b);
                for s in &seen {
                    let r = rename(s, &m);
                    if !seen.contains(&r) {
                        return Err(format!(
                            "swapping {a} and {b}: the renamed state is not reachable: {s:?}"
                        ));
                    }
                    let mut mapped: Vec<State> =
                        successors(s).iter().map(|t| rename(t, &m)).collect();
                    mapped.sort();
                    if mapped != successors(&r) {
                        return Err(format!(
                            "swapping {a} and {b}: the successors differ at {s:?}"
                        ));
                    }
                }
            }
        }
    }
    Ok(seen.len())
}
