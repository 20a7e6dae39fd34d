//! Traffic of the lab's own: congestion flows (paced UDP from site A to
//! site B, always bounded in time) and the EF-versus-normal probes of
//! Figure 4 (with their echo in site B).

use super::{in_netns, interrupted, Lab, LabError, SITE_A, SITE_B};
use crate::net::bind_socket;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// UDP payload of a congestion datagram.
const FLOOD_PAYLOAD: usize = 1400;
/// Ports of the congestion sinks in site B (one per flow).
const SINK_PORT: u16 = 9000;
/// Ports of the probe echoes in site B: EF, then normal.
const ECHO_PORTS: [u16; 2] = [9100, 9101];

/// Congestion: `flows` paced UDP flows of `mbit` Mbit/s each from site A
/// to sinks in site B, for at most `duration` (or until stopped).
pub struct Flood {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

fn bind_in(ns: &str, addr: SocketAddr, tos: u8) -> Result<UdpSocket, LabError> {
    in_netns(ns, move || bind_socket(addr, tos, false))?.map_err(|source| LabError::Io {
        what: format!("binding {addr}"),
        source,
    })
}

impl Flood {
    /// Starts the flows (normal class, TOS 0).
    pub fn start(lab: &Lab, flows: u16, mbit: u32, duration: Duration) -> Result<Flood, LabError> {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        let end = Instant::now() + duration;
        for i in 0..flows {
            let sink_addr = SocketAddr::new(SITE_B, SINK_PORT + i);
            let sink = bind_in(&lab.ns_b, sink_addr, 0)?;
            sink.set_nonblocking(false).ok();
            sink.set_read_timeout(Some(Duration::from_millis(100))).ok();
            let src = bind_in(&lab.ns_a, SocketAddr::new(SITE_A, 0), 0)?;
            src.set_nonblocking(false).ok();
            let (st, rc) = (stop.clone(), received.clone());
            threads.push(std::thread::spawn(move || {
                let mut buf = vec![0u8; 2048];
                while !st.load(Ordering::Relaxed) && Instant::now() < end + Duration::from_secs(1) {
                    if sink.recv(&mut buf).is_ok() {
                        rc.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
            let (st, sn) = (stop.clone(), sent.clone());
            // Datagrams per second at the IP layer (payload + UDP + IP headers).
            let pps = mbit as f64 * 1e6 / 8.0 / (FLOOD_PAYLOAD + 28) as f64;
            threads.push(std::thread::spawn(move || {
                let payload = vec![0x5au8; FLOOD_PAYLOAD];
                let start = Instant::now();
                let mut n = 0u64;
                while !st.load(Ordering::Relaxed) && !interrupted() && Instant::now() < end {
                    let owed = (start.elapsed().as_secs_f64() * pps) as u64;
                    while n < owed {
                        let _ = src.send_to(&payload, sink_addr);
                        n += 1;
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
                sn.fetch_add(n, Ordering::Relaxed);
            }));
        }
        Ok(Flood {
            stop,
            threads,
            sent,
            received,
        })
    }

    /// Stops the flows; returns datagrams (sent, received at the sinks).
    pub fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// One probe of Figure 4.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Probe {
    /// Seconds since the start of the run when it was sent.
    pub t: f64,
    /// `EF` or `normal`.
    pub class: &'static str,
    /// Round-trip time, ms; `None` if it never came back.
    pub rtt_ms: Option<f64>,
}

/// Sends a probe every `every` on each class from site A to an echo in
/// site B for `duration`, calling `at(t)` once per second (to start and
/// stop congestion); returns every probe. Each probe carries its sequence
/// number and send time; a receiver thread per class takes the time of
/// each echo as it arrives, so one class's losses never delay the other's
/// measurement.
pub fn probes(
    lab: &Lab,
    duration: Duration,
    every: Duration,
    mut at: impl FnMut(u64),
) -> Result<Vec<Probe>, LabError> {
    let classes = [("EF", 0xb8u8), ("normal", 0u8)];
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut threads = Vec::new();
    let mut senders = Vec::new();
    let mut results = Vec::new();
    for (i, &(_, tos)) in classes.iter().enumerate() {
        let e = bind_in(&lab.ns_b, SocketAddr::new(SITE_B, ECHO_PORTS[i]), tos)?;
        e.set_nonblocking(false).ok();
        e.set_read_timeout(Some(Duration::from_millis(50))).ok();
        let st = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !st.load(Ordering::Relaxed) {
                if let Ok((n, from)) = e.recv_from(&mut buf) {
                    let _ = e.send_to(&buf[..n], from);
                }
            }
        }));
        let s = bind_in(&lab.ns_a, SocketAddr::new(SITE_A, 0), tos)?;
        s.set_nonblocking(false).ok();
        s.set_read_timeout(Some(Duration::from_millis(50))).ok();
        let r = s.try_clone().map_err(|source| LabError::Io {
            what: "cloning a probe socket".into(),
            source,
        })?;
        let got = Arc::new(std::sync::Mutex::new(Vec::<(u64, f64)>::new()));
        let (st, g) = (stop.clone(), got.clone());
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while !st.load(Ordering::Relaxed) {
                if let Ok(16) = r.recv(&mut buf) {
                    let now = start.elapsed().as_nanos() as u64;
                    let seq = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
                    let sent = u64::from_le_bytes(buf[8..16].try_into().expect("8 bytes"));
                    let rtt = now.saturating_sub(sent) as f64 / 1e6;
                    g.lock().expect("probe results").push((seq, rtt));
                }
            }
        }));
        senders.push(s);
        results.push(got);
    }
    let mut sent = [Vec::new(), Vec::new()];
    let mut next = start;
    let mut second = 0;
    while start.elapsed() < duration && !interrupted() {
        if start.elapsed().as_secs() >= second {
            at(second);
            second += 1;
        }
        let now = Instant::now();
        if now < next {
            std::thread::sleep((next - now).min(Duration::from_millis(5)));
            continue;
        }
        for (i, s) in senders.iter().enumerate() {
            let seq = sent[i].len() as u64;
            // The time is taken before the send, so no RTT is short.
            let t = start.elapsed();
            let mut d = [0u8; 16];
            d[..8].copy_from_slice(&seq.to_le_bytes());
            d[8..].copy_from_slice(&(t.as_nanos() as u64).to_le_bytes());
            let _ = s.send_to(&d, SocketAddr::new(SITE_B, ECHO_PORTS[i]));
            sent[i].push(t.as_secs_f64());
        }
        next += every;
    }
    // Late echoes: wait 2 s more.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let mut out = Vec::new();
    for (i, &(name, _)) in classes.iter().enumerate() {
        let mut rtt = vec![None; sent[i].len()];
        for &(seq, r) in results[i].lock().expect("probe results").iter() {
            if let Some(slot) = rtt.get_mut(seq as usize) {
                *slot = Some(r);
            }
        }
        for (t, r) in sent[i].iter().zip(rtt) {
            out.push(Probe {
                t: *t,
                class: name,
                rtt_ms: r,
            });
        }
    }
    Ok(out)
}
