//! The delay relay: one thread per direction reads every frame from one
//! veth of the `wan` namespace with an AF_PACKET socket, holds it for the
//! one-way delay, and writes it to the other veth. The rate limit and the
//! priority band sit before it, at each site's egress, so it never carries
//! more than the link. It records how late it forwarded each frame, and its
//! own CPU time, so that an experiment can show its emulator kept up.

use super::{in_netns, LabError};
use serde::Serialize;
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `PACKET_OUTGOING` (linux/if_packet.h): a frame this host sent on the
/// interface (the other direction's relay); not relayed back.
const PACKET_OUTGOING: u8 = 4;
/// Lateness histogram: 10 µs buckets up to 100 ms (the last bucket holds
/// everything later).
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 10_000;

/// What one direction of the relay did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RelayStats {
    /// `wa->wb` (site A to site B) or `wb->wa`.
    pub direction: String,
    /// Frames forwarded.
    pub frames: u64,
    /// Bytes forwarded (Ethernet frames).
    pub bytes: u64,
    /// Frames the outgoing interface refused (none expected: the queues
    /// are at the sites' egress).
    pub dropped: u64,
    /// Median lateness of a forwarded frame past its due time, µs.
    pub late_p50_us: u64,
    /// 99th percentile of the lateness, µs.
    pub late_p99_us: u64,
    /// Largest lateness, µs.
    pub late_max_us: u64,
    /// CPU time of the relay thread, seconds.
    pub cpu_seconds: f64,
}

/// One direction of the relay, running until stopped.
pub struct Relay {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<RelayStats>>,
    thread: Option<JoinHandle<()>>,
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io {
        what: what.to_string(),
        source,
    }
}

/// An AF_PACKET socket bound to interface `dev` (of the calling thread's
/// namespace; its link-layer address comes from `getifaddrs`), with large
/// forced buffers, so that the qdisc drops rather than the socket blocking.
fn packet_socket(dev: &str) -> nix::Result<OwnedFd> {
    use nix::sys::socket::{
        bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockProtocol, SockType,
    };
    let link = nix::ifaddrs::getifaddrs()?
        .filter(|a| a.interface_name == dev)
        .find_map(|a| a.address.and_then(|s| s.as_link_addr().copied()))
        .ok_or(nix::errno::Errno::ENODEV)?;
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_NONBLOCK,
        SockProtocol::EthAll,
    )?;
    bind(fd.as_raw_fd(), &link)?;
    setsockopt(&fd, sockopt::RcvBufForce, &(32 << 20))?;
    setsockopt(&fd, sockopt::SndBufForce, &(32 << 20))?;
    Ok(fd)
}

struct Lateness {
    buckets: Vec<u64>,
    max_us: u64,
}

impl Lateness {
    fn record(&mut self, late: Duration) {
        let us = late.as_micros() as u64;
        self.max_us = self.max_us.max(us);
        self.buckets[((us / BUCKET_US) as usize).min(BUCKETS - 1)] += 1;
    }
    fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return 0;
        }
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return ((i as u64 + 1) * BUCKET_US).min(self.max_us);
            }
        }
        self.max_us
    }
}

impl Relay {
    /// Starts relaying from `from` to `to`, two interfaces of namespace
    /// `ns`, with the one-way `delay`.
    pub fn start(ns: &str, from: &str, to: &str, delay: Duration) -> Result<Relay, LabError> {
        let (f, t) = (from.to_string(), to.to_string());
        let (rx, tx) = in_netns(ns, move || {
            Ok::<_, nix::Error>((packet_socket(&f)?, packet_socket(&t)?))
        })?
        .map_err(|e| LabError::Io {
            what: "opening the relay's AF_PACKET sockets".into(),
            source: e.into(),
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(RelayStats {
            direction: format!("{from}->{to}"),
            ..RelayStats::default()
        }));
        let (s, st) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name(format!("relay-{from}"))
            .spawn(move || relay_loop(rx, tx, delay, &s, &st))
            .map_err(io("starting a relay thread"))?;
        Ok(Relay {
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// What it did so far.
    pub fn stats(&self) -> RelayStats {
        self.stats.lock().expect("relay stats").clone()
    }

    /// Stops the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn relay_loop(
    rx: OwnedFd,
    tx: OwnedFd,
    delay: Duration,
    stop: &AtomicBool,
    stats: &Mutex<RelayStats>,
) {
    use nix::poll::{ppoll, PollFd, PollFlags};
    use nix::sys::socket::{recvfrom, send, LinkAddr, MsgFlags};
    // Wake-ups within a few µs of the due time (the default slack is 50 µs).
    let _ = nix::sys::prctl::set_timerslack(1);
    let mut held: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut buf = vec![0u8; 65_536];
    let mut late = Lateness {
        buckets: vec![0; BUCKETS],
        max_us: 0,
    };
    let (mut frames, mut bytes, mut dropped) = (0u64, 0u64, 0u64);
    let mut published = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while held.front().is_some_and(|f| f.0 <= now) {
            let (due, frame) = held.pop_front().expect("non-empty");
            match send(tx.as_raw_fd(), &frame, MsgFlags::empty()) {
                Ok(_) => {
                    frames += 1;
                    bytes += frame.len() as u64;
                    late.record(Instant::now().saturating_duration_since(due));
                }
                // ENOBUFS and the like: the outgoing queue is full, a drop.
                Err(_) => dropped += 1,
            }
            spare.push(frame);
        }
        let wait = held
            .front()
            .map_or(Duration::from_millis(20), |f| {
                f.0.saturating_duration_since(Instant::now())
            })
            .min(Duration::from_millis(20));
        let mut fds = [PollFd::new(rx.as_fd(), PollFlags::POLLIN)];
        let _ = ppoll(&mut fds, Some(wait.into()), None);
        while let Ok((n, from)) = recvfrom::<LinkAddr>(rx.as_raw_fd(), &mut buf) {
            if from.is_some_and(|a| a.pkttype() == PACKET_OUTGOING) {
                continue;
            }
            let at = Instant::now();
            let mut frame = spare.pop().unwrap_or_default();
            frame.clear();
            frame.extend_from_slice(&buf[..n]);
            held.push_back((at + delay, frame));
        }
        if published.elapsed() >= Duration::from_millis(200) {
            publish(stats, frames, bytes, dropped, &late);
            published = Instant::now();
        }
    }
    publish(stats, frames, bytes, dropped, &late);
}

fn publish(stats: &Mutex<RelayStats>, frames: u64, bytes: u64, dropped: u64, late: &Lateness) {
    let mut s = stats.lock().expect("relay stats");
    s.frames = frames;
    s.bytes = bytes;
    s.dropped = dropped;
    s.late_p50_us = late.quantile(0.5);
    s.late_p99_us = late.quantile(0.99);
    s.late_max_us = late.max_us;
    s.cpu_seconds = super::cpu_seconds(nix::sys::resource::UsageWho::RUSAGE_THREAD);
}
