//! The two UDP sockets of a node (priority and normal class, each with its
//! own TOS mark), sending by class, receiving priority first, and the
//! counters of what was sent, received and dropped.
//!
//! **Batches.** Messages are not sent at once but kept in an outbox until
//! the runtime flushes it at the end of each pass of its event loop (and
//! every few received datagrams within a long pass): messages of the same
//! class for the same node then leave in one datagram, never larger than
//! what the path carries unfragmented (64 KiB on loopback, 1472 bytes of
//! UDP payload elsewhere). Under load this divides the datagrams between
//! servers (value propagation and its acks) by the number of operations a
//! pass handles; a lone message still leaves alone, at the end of the pass
//! that produced it. The priority class is never mixed with the normal one.

use crate::config::{canonical, ClusterConfig, Marks};
use crate::wire::{self, WireError};
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use vivace_spec::{Class, Id, Msg};

/// Socket buffer size asked for (the kernel may cap it).
const SOCKET_BUFFER: usize = 4 << 20;

/// Binds the socket of one class at `addr`, marked with `tos`. An IPv6
/// socket is dual-stack and gets both `IPV6_TCLASS` and `IP_TOS` (the latter
/// marks datagrams to IPv4-mapped peers).
pub fn bind_socket(addr: SocketAddr, tos: u8, recv_tos: bool) -> io::Result<UdpSocket> {
    let domain = Domain::for_address(addr);
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    match addr {
        SocketAddr::V4(_) => {
            s.set_tos(tos as u32)?;
            if recv_tos {
                s.set_recv_tos(true)?;
            }
        }
        SocketAddr::V6(_) => {
            // Dual stack when bound to the unspecified address.
            let _ = s.set_only_v6(false);
            s.set_tclass_v6(tos as u32)?;
            // IP_TOS on an AF_INET6 socket marks datagrams sent to IPv4-mapped
            // peers; not every kernel accepts it, and IPv6 peers do not need it.
            let _ = s.set_tos(tos as u32);
            if recv_tos {
                s.set_recv_tclass_v6(true)?;
                let _ = s.set_recv_tos(true);
            }
        }
    }
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// The two bound sockets of a node.
#[derive(Debug)]
pub struct Sockets {
    /// Priority-class socket.
    pub priority: UdpSocket,
    /// Normal-class socket.
    pub normal: UdpSocket,
}

impl Sockets {
    /// Binds both sockets.
    pub fn bind(
        priority: SocketAddr,
        normal: SocketAddr,
        marks: Marks,
        recv_tos: bool,
    ) -> io::Result<Sockets> {
        Ok(Sockets {
            priority: bind_socket(priority, marks.priority, recv_tos)?,
            normal: bind_socket(normal, marks.normal, recv_tos)?,
        })
    }
}

/// Counters of one node, updated with relaxed atomics.
#[derive(Debug, Default)]
pub struct Counters {
    sent: [AtomicU64; 2],
    sent_bytes: [AtomicU64; 2],
    received: [AtomicU64; 2],
    received_bytes: [AtomicU64; 2],
    dropped_stranger: AtomicU64,
    dropped_version: AtomicU64,
    dropped_malformed: AtomicU64,
    dropped_wrong_socket: AtomicU64,
    send_too_large: AtomicU64,
    send_failed: AtomicU64,
    recv_failed: AtomicU64,
    shim_dropped: AtomicU64,
    shim_duplicated: AtomicU64,
    coalesced: AtomicU64,
    wan_bytes: [AtomicU64; 2],
    backlog_entries: AtomicU64,
    backlog_bytes: AtomicU64,
    tos_checked: [AtomicU64; 2],
    tos_mismatch: [AtomicU64; 2],
    tos_by_message: Mutex<BTreeMap<&'static str, BTreeMap<u8, u64>>>,
}

fn idx(c: Class) -> usize {
    match c {
        Class::Priority => 0,
        Class::Normal => 1,
    }
}

/// A copy of the counters (also the JSON shape of the summaries).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Datagrams sent: priority class.
    pub sent_priority: u64,
    /// Datagrams sent: normal class.
    pub sent_normal: u64,
    /// UDP payload bytes sent: priority class.
    pub sent_bytes_priority: u64,
    /// UDP payload bytes sent: normal class.
    pub sent_bytes_normal: u64,
    /// Datagrams received and handled: priority class (by the message's class).
    pub received_priority: u64,
    /// Datagrams received and handled: normal class.
    pub received_normal: u64,
    /// Bytes of the handled datagrams: priority class.
    pub received_bytes_priority: u64,
    /// Bytes of the handled datagrams: normal class.
    pub received_bytes_normal: u64,
    /// Dropped: from an address not in the cluster.
    pub dropped_stranger: u64,
    /// Dropped: wrong version byte (or empty).
    pub dropped_version: u64,
    /// Dropped: not one or more valid messages.
    pub dropped_malformed: u64,
    /// Dropped: a message that arrived on the socket of the other class.
    pub dropped_wrong_socket: u64,
    /// Not sent: the message does not fit in one datagram.
    pub send_too_large: u64,
    /// Not sent: the socket refused it (buffer full, no route, ...).
    pub send_failed: u64,
    /// Receive calls that failed with another error than "nothing waiting".
    pub recv_failed: u64,
    /// Test shim: datagrams deliberately lost.
    pub shim_dropped: u64,
    /// Test shim: datagrams deliberately sent twice.
    pub shim_duplicated: u64,
    /// Messages that left in the datagram of an earlier message (batches).
    pub coalesced: u64,
    /// UDP payload bytes sent to nodes of another site: priority class.
    pub wan_bytes_priority: u64,
    /// UDP payload bytes sent to nodes of another site: normal class.
    pub wan_bytes_normal: u64,
    /// Gauge (servers): values a local replica holds that a majority of
    /// replicas has not acknowledged yet (`local_buf`, the background
    /// propagation's backlog).
    pub backlog_entries: u64,
    /// Gauge (servers): bytes of those values.
    pub backlog_bytes: u64,
    /// With TOS inspection: received messages whose TOS byte was read, per class
    /// `[priority, normal]`.
    pub tos_checked: [u64; 2],
    /// With TOS inspection: how many of them had another mark than their class's.
    pub tos_mismatch: [u64; 2],
    /// With TOS inspection: per message name, how often each TOS byte was seen.
    pub tos_by_message: BTreeMap<String, BTreeMap<u8, u64>>,
}

impl CounterSnapshot {
    /// Every drop of a received datagram.
    pub fn dropped_received(&self) -> u64 {
        self.dropped_stranger
            + self.dropped_version
            + self.dropped_malformed
            + self.dropped_wrong_socket
    }
    /// Adds another node's counters to these.
    pub fn add(&mut self, o: &CounterSnapshot) {
        self.sent_priority += o.sent_priority;
        self.sent_normal += o.sent_normal;
        self.sent_bytes_priority += o.sent_bytes_priority;
        self.sent_bytes_normal += o.sent_bytes_normal;
        self.received_priority += o.received_priority;
        self.received_normal += o.received_normal;
        self.received_bytes_priority += o.received_bytes_priority;
        self.received_bytes_normal += o.received_bytes_normal;
        self.dropped_stranger += o.dropped_stranger;
        self.dropped_version += o.dropped_version;
        self.dropped_malformed += o.dropped_malformed;
        self.dropped_wrong_socket += o.dropped_wrong_socket;
        self.send_too_large += o.send_too_large;
        self.send_failed += o.send_failed;
        self.recv_failed += o.recv_failed;
        self.shim_dropped += o.shim_dropped;
        self.shim_duplicated += o.shim_duplicated;
        self.coalesced += o.coalesced;
        self.wan_bytes_priority += o.wan_bytes_priority;
        self.wan_bytes_normal += o.wan_bytes_normal;
        self.backlog_entries += o.backlog_entries;
        self.backlog_bytes += o.backlog_bytes;
        for i in 0..2 {
            self.tos_checked[i] += o.tos_checked[i];
            self.tos_mismatch[i] += o.tos_mismatch[i];
        }
        for (name, m) in &o.tos_by_message {
            let e = self.tos_by_message.entry(name.clone()).or_default();
            for (tos, n) in m {
                *e.entry(*tos).or_default() += n;
            }
        }
    }
}

impl Counters {
    /// Sets the propagation backlog gauges.
    pub fn set_backlog(&self, entries: u64, bytes: u64) {
        self.backlog_entries.store(entries, Relaxed);
        self.backlog_bytes.store(bytes, Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> CounterSnapshot {
        let g = |a: &AtomicU64| a.load(Relaxed);
        CounterSnapshot {
            sent_priority: g(&self.sent[0]),
            sent_normal: g(&self.sent[1]),
            sent_bytes_priority: g(&self.sent_bytes[0]),
            sent_bytes_normal: g(&self.sent_bytes[1]),
            received_priority: g(&self.received[0]),
            received_normal: g(&self.received[1]),
            received_bytes_priority: g(&self.received_bytes[0]),
            received_bytes_normal: g(&self.received_bytes[1]),
            dropped_stranger: g(&self.dropped_stranger),
            dropped_version: g(&self.dropped_version),
            dropped_malformed: g(&self.dropped_malformed),
            dropped_wrong_socket: g(&self.dropped_wrong_socket),
            send_too_large: g(&self.send_too_large),
            send_failed: g(&self.send_failed),
            recv_failed: g(&self.recv_failed),
            shim_dropped: g(&self.shim_dropped),
            shim_duplicated: g(&self.shim_duplicated),
            coalesced: g(&self.coalesced),
            wan_bytes_priority: g(&self.wan_bytes[0]),
            wan_bytes_normal: g(&self.wan_bytes[1]),
            backlog_entries: g(&self.backlog_entries),
            backlog_bytes: g(&self.backlog_bytes),
            tos_checked: [g(&self.tos_checked[0]), g(&self.tos_checked[1])],
            tos_mismatch: [g(&self.tos_mismatch[0]), g(&self.tos_mismatch[1])],
            tos_by_message: self
                .tos_by_message
                .lock()
                .expect("counter lock")
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }
}

/// Test-only fault shim: loses and duplicates outgoing datagrams at random.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// Probability that a datagram is not sent.
    pub loss: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Seed of the shim's random numbers.
    pub seed: u64,
}

/// Test and demo shim: emulates a wide-area network on loopback by holding
/// every datagram sent to a node of another site for a one-way delay that
/// depends on its class (a congested path delays normal datagrams by `normal`
/// while prioritized ones bypass the congestion with `priority`; the paper's
/// D and d, Figure 2). Datagrams within a site go at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WanDelay {
    /// One-way delay of normal-class datagrams between sites (D).
    pub normal: std::time::Duration,
    /// One-way delay of priority-class datagrams between sites (d).
    pub priority: std::time::Duration,
}

struct Wan {
    delay: WanDelay,
    my_site: vivace_spec::Site,
    sites: HashMap<Id, vivace_spec::Site>,
    /// Held datagrams per class, in order of release time.
    queues: [std::collections::VecDeque<(std::time::Instant, SocketAddr, Vec<u8>)>; 2],
}

/// Small xorshift generator (timers' jitter, the fault shim).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What a receive produced.
pub enum Received {
    /// A valid message from a cluster member.
    Msg(Id, Msg),
    /// A datagram that was dropped (and counted).
    Dropped,
}

/// A node's network endpoint.
pub struct Endpoint {
    /// Priority-class socket.
    pub priority: mio::net::UdpSocket,
    /// Normal-class socket.
    pub normal: mio::net::UdpSocket,
    peers: Arc<HashMap<SocketAddr, Id>>,
    addrs: Arc<HashMap<Id, (SocketAddr, SocketAddr)>>,
    counters: Arc<Counters>,
    marks: Marks,
    faults: Option<(Faults, Rng)>,
    wan: Option<Wan>,
    /// Whether each socket is IPv6 (then IPv4 peers are reached mapped).
    v6: [bool; 2],
    inspect_tos: bool,
    buf: Vec<u8>,
    out: Vec<u8>,
    batching: bool,
    all_priority: bool,
    /// Addresses of the nodes of other sites (their bytes count as WAN bytes).
    remote: std::collections::HashSet<SocketAddr>,
    outbox: Vec<Outgoing>,
    /// Messages of received batches not handled yet, per class.
    inbox: [VecDeque<(Id, Msg)>; 2],
}

/// Messages waiting to leave together: one destination, one class.
struct Outgoing {
    to: SocketAddr,
    class: Class,
    /// The version byte, then the messages.
    buf: Vec<u8>,
    messages: usize,
}

/// The largest datagram a batch may grow to on the way to `to`: a batch
/// must not need IP fragmentation (a lone message larger than this still
/// goes, as it would without batches).
pub fn batch_limit(to: &SocketAddr) -> usize {
    if to.ip().is_loopback() {
        wire::MAX_DATAGRAM
    } else if to.is_ipv4() {
        1500 - 20 - 8
    } else {
        1500 - 40 - 8
    }
}

impl Endpoint {
    /// An endpoint over bound sockets, knowing the cluster's addresses.
    pub fn new(
        sockets: Sockets,
        cfg: &ClusterConfig,
        faults: Option<Faults>,
        inspect_tos: bool,
        batching: bool,
        all_priority: bool,
    ) -> Endpoint {
        let addrs = cfg
            .nodes
            .iter()
            .map(|n| (Id::from(n.id), (n.priority, n.normal)))
            .collect();
        let is_v6 = |s: &UdpSocket| matches!(s.local_addr(), Ok(SocketAddr::V6(_)));
        let v6 = [is_v6(&sockets.priority), is_v6(&sockets.normal)];
        Endpoint {
            v6,
            priority: mio::net::UdpSocket::from_std(sockets.priority),
            normal: mio::net::UdpSocket::from_std(sockets.normal),
            peers: Arc::new(cfg.address_map()),
            addrs: Arc::new(addrs),
            counters: Arc::new(Counters::default()),
            marks: cfg.marks,
            faults: faults.map(|f| (f, Rng::new(f.seed))),
            wan: None,
            inspect_tos,
            buf: vec![0; 65_536],
            out: Vec::with_capacity(2048),
            batching,
            all_priority,
            remote: Default::default(),
            outbox: Vec::new(),
            inbox: Default::default(),
        }
    }

    /// Tells the endpoint that it is node `me`, so that it counts the bytes
    /// it sends to other sites.
    pub fn set_site(&mut self, me: Id, cfg: &ClusterConfig) {
        let site = cfg.node_by_id(usize::from(me)).map(|n| n.site);
        self.remote = cfg
            .nodes
            .iter()
            .filter(|n| Some(n.site) != site)
            .flat_map(|n| [n.priority, n.normal])
            .collect();
    }

    /// Turns on the WAN emulation for node `me`.
    pub fn set_wan(&mut self, delay: WanDelay, me: Id, cfg: &ClusterConfig) {
        let sites: HashMap<Id, vivace_spec::Site> =
            cfg.nodes.iter().map(|n| (Id::from(n.id), n.site)).collect();
        self.wan = Some(Wan {
            delay,
            my_site: sites.get(&me).copied().unwrap_or(0),
            sites,
            queues: Default::default(),
        });
    }

    /// When the next held datagram is due (WAN emulation).
    pub fn next_due(&self) -> Option<std::time::Instant> {
        let w = self.wan.as_ref()?;
        w.queues.iter().filter_map(|q| q.front().map(|e| e.0)).min()
    }

    /// Sends the held datagrams that are due (WAN emulation).
    pub fn flush_due(&mut self) {
        let Some(mut w) = self.wan.take() else { return };
        let now = std::time::Instant::now();
        for class in [Class::Priority, Class::Normal] {
            let q = &mut w.queues[idx(class)];
            while q.front().is_some_and(|e| e.0 <= now) {
                let (_, to, d) = q.pop_front().expect("non-empty");
                self.transmit(class, to, &d);
            }
        }
        self.wan = Some(w);
    }

    /// The counters (shared: readable while the node runs).
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Sends `msg` to node `dst` from the socket of the message's class.
    pub fn send(&mut self, dst: Id, msg: &Msg) {
        let class = if self.all_priority {
            Class::Priority
        } else {
            msg.class()
        };
        let Some(&(pa, na)) = self.addrs.get(&dst) else {
            self.counters.send_failed.fetch_add(1, Relaxed);
            return;
        };
        match wire::encode_into(msg, &mut self.out) {
            Ok(_) => {}
            Err(WireError::TooLarge { .. }) | Err(_) => {
                self.counters.send_too_large.fetch_add(1, Relaxed);
                return;
            }
        }
        let mut copies = 1;
        if let Some((f, rng)) = &mut self.faults {
            if rng.unit() < f.loss {
                self.counters.shim_dropped.fetch_add(1, Relaxed);
                return;
            }
            if rng.unit() < f.duplicate {
                self.counters.shim_duplicated.fetch_add(1, Relaxed);
                copies = 2;
            }
        }
        let to = match class {
            Class::Priority => pa,
            Class::Normal => na,
        };
        let to = match (self.v6[idx(class)], to) {
            (true, SocketAddr::V4(v4)) => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            _ => to,
        };
        if let Some(w) = &mut self.wan {
            if w.sites.get(&dst).copied().unwrap_or(w.my_site) != w.my_site {
                let delay = match class {
                    Class::Priority => w.delay.priority,
                    Class::Normal => w.delay.normal,
                };
                let at = std::time::Instant::now() + delay;
                for _ in 0..copies {
                    w.queues[idx(class)].push_back((at, to, self.out.clone()));
                }
                return;
            }
        }
        for _ in 0..copies {
            if self.batching {
                self.enqueue(class, to);
            } else {
                self.transmit(class, to, &self.out);
            }
        }
    }

    /// Sends one datagram now and counts it.
    fn transmit(&self, class: Class, to: SocketAddr, datagram: &[u8]) {
        let sock = match class {
            Class::Priority => &self.priority,
            Class::Normal => &self.normal,
        };
        match sock.send_to(datagram, to) {
            Ok(n) => {
                self.counters.sent[idx(class)].fetch_add(1, Relaxed);
                self.counters.sent_bytes[idx(class)].fetch_add(n as u64, Relaxed);
                if !self.remote.is_empty() && self.remote.contains(&canonical(to)) {
                    self.counters.wan_bytes[idx(class)].fetch_add(n as u64, Relaxed);
                }
            }
            Err(_) => {
                self.counters.send_failed.fetch_add(1, Relaxed);
            }
        }
    }

    /// Puts the encoded message in `self.out` into the outbox: appended to
    /// the batch for the same node and class if it fits, else that batch
    /// leaves now and the message starts the next one.
    fn enqueue(&mut self, class: Class, to: SocketAddr) {
        let Some(i) = self
            .outbox
            .iter()
            .position(|o| o.to == to && o.class == class)
        else {
            self.outbox.push(Outgoing {
                to,
                class,
                buf: self.out.clone(),
                messages: 1,
            });
            return;
        };
        let body = &self.out[1..];
        let o = &self.outbox[i];
        if o.messages > 0 && o.buf.len() + body.len() <= batch_limit(&to) {
            let o = &mut self.outbox[i];
            o.buf.extend_from_slice(body);
            o.messages += 1;
            self.counters.coalesced.fetch_add(1, Relaxed);
            return;
        }
        if o.messages > 0 {
            self.transmit(class, to, &o.buf);
        }
        let o = &mut self.outbox[i];
        o.buf.clear();
        o.buf.extend_from_slice(&self.out);
        o.messages = 1;
    }

    /// Sends every batch of the outbox, priority class first.
    pub fn flush(&mut self) {
        for class in [Class::Priority, Class::Normal] {
            for i in 0..self.outbox.len() {
                let o = &self.outbox[i];
                if o.messages > 0 && o.class == class {
                    self.transmit(class, o.to, &o.buf);
                    self.outbox[i].messages = 0;
                }
            }
        }
    }

    /// Receives one datagram from the socket of `class`; `None` when there
    /// is none waiting.
    pub fn recv(&mut self, class: Class) -> Option<Received> {
        if let Some((src, msg)) = self.inbox[idx(class)].pop_front() {
            return Some(Received::Msg(src, msg));
        }
        let sock = match class {
            Class::Priority => &self.priority,
            Class::Normal => &self.normal,
        };
        let r = if self.inspect_tos {
            recv_with_tos(sock, &mut self.buf)
        } else {
            sock.recv_from(&mut self.buf).map(|(n, a)| (n, a, None))
        };
        let (len, from, tos) = match r {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(_) => {
                // E.g. a pending ICMP error: count it and keep draining.
                self.counters.recv_failed.fetch_add(1, Relaxed);
                return Some(Received::Dropped);
            }
        };
        let Some(&src) = self.peers.get(&canonical(from)) else {
            self.counters.dropped_stranger.fetch_add(1, Relaxed);
            return Some(Received::Dropped);
        };
        let msgs = match wire::decode_batch(&self.buf[..len]) {
            Ok(m) => m,
            Err(WireError::Version { .. }) | Err(WireError::Empty) => {
                self.counters.dropped_version.fetch_add(1, Relaxed);
                return Some(Received::Dropped);
            }
            Err(_) => {
                self.counters.dropped_malformed.fetch_add(1, Relaxed);
                return Some(Received::Dropped);
            }
        };
        if !self.all_priority && msgs.iter().any(|m| m.class() != class) {
            self.counters.dropped_wrong_socket.fetch_add(1, Relaxed);
            return Some(Received::Dropped);
        }
        let c = idx(class);
        self.counters.received[c].fetch_add(1, Relaxed);
        self.counters.received_bytes[c].fetch_add(len as u64, Relaxed);
        if let Some(tos) = tos {
            let want = match class {
                Class::Priority => self.marks.priority,
                Class::Normal => self.marks.normal,
            };
            let mut by_message = self.counters.tos_by_message.lock().expect("counter lock");
            for m in &msgs {
                self.counters.tos_checked[c].fetch_add(1, Relaxed);
                if tos != want {
                    self.counters.tos_mismatch[c].fetch_add(1, Relaxed);
                }
                *by_message
                    .entry(m.name())
                    .or_default()
                    .entry(tos)
                    .or_default() += 1;
            }
        }
        let mut msgs = msgs.into_iter();
        let first = msgs.next().expect("a batch has a message");
        self.inbox[c].extend(msgs.map(|m| (src, m)));
        Some(Received::Msg(src, first))
    }
}

/// `recvmsg` with the TOS byte (IPv4 `IP_TOS`) or traffic class (IPv6
/// `IPV6_TCLASS`) of the datagram, when the socket was asked for it.
pub fn recv_with_tos(
    sock: &impl AsRawFd,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<u8>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut iov = [io::IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(libc_int, libc_int);
    let r = recvmsg::<SockaddrStorage>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let mut tos = None;
    for c in r.cmsgs().map_err(io::Error::from)? {
        match c {
            ControlMessageOwned::Ipv4Tos(t) => tos = Some(t),
            ControlMessageOwned::Ipv6TClass(t) => tos = Some(t as u8),
            _ => {}
        }
    }
    let addr = r
        .address
        .and_then(|a: SockaddrStorage| {
            if let Some(v4) = a.as_sockaddr_in() {
                Some(SocketAddr::V4((*v4).into()))
            } else {
                a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
            }
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
    Ok((r.bytes, addr, tos))
}

#[allow(non_camel_case_types)]
type libc_int = i32;
