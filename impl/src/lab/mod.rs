//! The WAN lab: two sites as Linux network namespaces joined through a
//! third, `wan`, in which a relay of ours holds every frame for the one-way
//! delay, and HTB at each site's egress limits the rate and gives DSCP EF a
//! priority band (`docs/lab.md` says what works on these
//! machines: no netem, so the delay comes from the relay).
//!
//! ```text
//!  site A (10.77.0.1)          wan                     site B (10.77.0.2)
//!  client, n1, n4, n5   a0 ── wa [relay A→B] wb ── b0   n2, n3
//!                       HTB on a0 and b0 (each site's egress, its WAN
//!                       router): 100 Mbit/s, EF band first
//! ```
//!
//! Everything runs as root and stays inside the namespaces the lab creates
//! (their names carry the process id and a count, so labs can run side by
//! side); a
//! [`Lab`] tears them down when dropped, also after a panic, and on SIGINT
//! or SIGTERM the experiments stop early so that it is dropped. Nodes run
//! on threads of this process: a socket is bound by a thread that entered
//! the site's namespace ([`in_netns`]) and keeps that namespace.

pub mod etcd;
pub mod experiments;
pub mod load;
pub mod opts;
pub mod relay;
pub mod traffic;
pub mod twitter;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Address of site A's interface.
pub const SITE_A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1));
/// Address of site B's interface.
pub const SITE_B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2));

/// Why the lab cannot run, or what failed while building it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Not root, no namespaces, or a tool or kernel feature is missing.
    #[error("the lab cannot run here: {0}")]
    Unavailable(String),
    /// A setup command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The emulated WAN.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct WanConfig {
    /// One-way delay added by the relay, each direction.
    pub delay: Duration,
    /// Rate limit of each direction, Mbit/s.
    pub rate_mbit: u32,
    /// Whether DSCP EF gets the priority band (else one FIFO for all).
    pub priority_band: bool,
    /// Packets the priority band may queue (docs/lab.md: 100, enough for
    /// small messages; bulk traffic in the band needs more, as one 16 KiB
    /// datagram is 12 fragments and losing one loses the datagram).
    pub priority_queue: u32,
}

impl Default for WanConfig {
    fn default() -> Self {
        WanConfig {
            delay: Duration::from_millis(50),
            rate_mbit: 100,
            priority_band: true,
            priority_queue: 100,
        }
    }
}

/// Set by SIGINT or SIGTERM once a lab was brought up.
fn stop_flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let f = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(sig, f.clone());
        }
        f
    })
}

/// Whether SIGINT or SIGTERM arrived since [`Lab::up`]: experiments stop
/// early, so that the lab is torn down.
pub fn interrupted() -> bool {
    stop_flag().load(Ordering::SeqCst)
}

/// CPU time (user and system) of this thread or process so far, seconds.
pub fn cpu_seconds(who: nix::sys::resource::UsageWho) -> f64 {
    nix::sys::resource::getrusage(who).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

/// Sleeps for `d`, or less if interrupted.
pub fn sleep(d: Duration) {
    let end = Instant::now() + d;
    while !interrupted() {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// Runs a command; its failure is an error with its stderr.
fn run(args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| LabError::Unavailable(format!("cannot run {}: {e}", args[0])))?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// Checks root, the tools, and that a namespace can be made; the reason
/// why not otherwise (tests skip with it).
pub fn check_available() -> Result<(), LabError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(LabError::Unavailable(
            "needs root (namespaces, tc, AF_PACKET)".into(),
        ));
    }
    for tool in ["ip", "tc", "ethtool"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        if !found {
            return Err(LabError::Unavailable(format!(
                "`{tool}` is not installed (Debian: iproute2, ethtool)"
            )));
        }
    }
    let probe = format!("vvprobe{}", std::process::id());
    run(&["ip", "netns", "add", &probe])
        .map_err(|e| LabError::Unavailable(format!("cannot create a network namespace: {e}")))?;
    let _ = run(&["ip", "netns", "del", &probe]);
    Ok(())
}

/// Runs `f` on a new thread that entered network namespace `ns` (sockets
/// it creates stay in that namespace).
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, LabError> {
    let path = format!("/var/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(|source| LabError::Io {
        what: format!("opening {path}"),
        source,
    })?;
    std::thread::spawn(move || {
        // Changes the namespace of this thread only.
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
            LabError::Io {
                what: "entering the namespace".into(),
                source: e.into(),
            }
        })?;
        Ok(f())
    })
    .join()
    .map_err(|_| LabError::Unavailable("a thread in the namespace panicked".into()))?
}

/// The topology, up until dropped.
pub struct Lab {
    /// Namespace of site A.
    pub ns_a: String,
    /// Namespace of site B.
    pub ns_b: String,
    /// Namespace of the WAN (relay and HTB).
    pub ns_wan: String,
    /// The emulated WAN.
    pub wan: WanConfig,
    relays: Vec<relay::Relay>,
    made: Vec<String>,
    /// Time the setup took.
    pub setup: Duration,
}

fn mac_of(ns: &str, dev: &str) -> Result<String, LabError> {
    let out = run(&["ip", "-n", ns, "-o", "link", "show", dev])?;
    out.split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| LabError::Unavailable(format!("no MAC address on {dev} in {ns}")))
}

impl Lab {
    /// Builds the topology and starts the relays.
    pub fn up(wan: WanConfig) -> Result<Lab, LabError> {
        check_available()?;
        stop_flag().store(false, Ordering::SeqCst);
        let t0 = Instant::now();
        static LABS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let id = format!(
            "{}-{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::SeqCst)
        );
        let mut lab = Lab {
            ns_a: format!("vv-{id}-a"),
            ns_b: format!("vv-{id}-b"),
            ns_wan: format!("vv-{id}-wan"),
            wan,
            relays: Vec::new(),
            made: Vec::new(),
            setup: Duration::ZERO,
        };
        // On any error from here on, dropping `lab` removes what was made.
        for ns in [lab.ns_a.clone(), lab.ns_b.clone(), lab.ns_wan.clone()] {
            run(&["ip", "netns", "add", &ns])?;
            lab.made.push(ns.clone());
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        }
        let (a, b, w) = (lab.ns_a.clone(), lab.ns_b.clone(), lab.ns_wan.clone());
        run(&[
            "ip", "link", "add", "a0", "netns", &a, "type", "veth", "peer", "name", "wa", "netns",
            &w,
        ])?;
        run(&[
            "ip", "link", "add", "b0", "netns", &b, "type", "veth", "peer", "name", "wb", "netns",
            &w,
        ])?;
        run(&["ip", "-n", &a, "addr", "add", "10.77.0.1/24", "dev", "a0"])?;
        run(&["ip", "-n", &b, "addr", "add", "10.77.0.2/24", "dev", "b0"])?;
        for (ns, dev) in [(&a, "a0"), (&b, "b0"), (&w, "wa"), (&w, "wb")] {
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
            // Without this, datagrams forwarded by the relay arrive with
            // bad checksums (docs/lab.md).
            run(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "rx", "off", "tso",
                "off", "gso", "off", "gro", "off",
            ])?;
        }
        // Static ARP: nothing waits behind congestion to resolve an address.
        let (mac_a, mac_b) = (mac_of(&a, "a0")?, mac_of(&b, "b0")?);
        run(&[
            "ip",
            "-n",
            &a,
            "neigh",
            "replace",
            "10.77.0.2",
            "lladdr",
            &mac_b,
            "dev",
            "a0",
            "nud",
            "permanent",
        ])?;
        run(&[
            "ip",
            "-n",
            &b,
            "neigh",
            "replace",
            "10.77.0.1",
            "lladdr",
            &mac_a,
            "dev",
            "b0",
            "nud",
            "permanent",
        ])?;
        // IP reassembly at each site: values above the path MTU travel as
        // fragments, and a fragment lost to a full queue leaves its
        // datagram's other fragments waiting `ipfrag_time` (30 s by
        // default) in a 4 MiB pool; once the pool is full every new
        // fragmented datagram is dropped, so one overloaded load step made
        // the next ones fail whole (measured: ABD at 25% after ABD at 75%,
        // 829 of 954 writes failed; alone, none). 5 s still covers
        // fragments that cross the emulated WAN together, and 64 MiB holds
        // several seconds of the link.
        for ns in [&a, &b] {
            for (key, value) in [
                ("net.ipv4.ipfrag_high_thresh", "67108864"),
                ("net.ipv4.ipfrag_low_thresh", "50331648"),
                ("net.ipv4.ipfrag_time", "5"),
            ] {
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-q",
                    "-w",
                    &format!("{key}={value}"),
                ])?;
            }
        }
        // Each site's egress is its WAN router: the rate limit and the
        // priority band sit there, before the relay, so that the relay never
        // carries more than the link (a sender that offers more is dropped
        // at its own site, as at a real router).
        lab.shape(&a, "a0")?;
        lab.shape(&b, "b0")?;
        let delay = wan.delay;
        lab.relays.push(relay::Relay::start(&w, "wa", "wb", delay)?);
        lab.relays.push(relay::Relay::start(&w, "wb", "wa", delay)?);
        lab.setup = t0.elapsed();
        Ok(lab)
    }

    /// HTB on the egress of `dev` (in namespace `w`): the link rate, and
    /// under it a priority class for DSCP EF and a default class.
    fn shape(&self, w: &str, dev: &str) -> Result<(), LabError> {
        let rate = format!("{}mbit", self.wan.rate_mbit);
        let prio_rate = format!("{}mbit", (self.wan.rate_mbit / 10).max(1));
        let rest_rate = format!(
            "{}mbit",
            self.wan.rate_mbit - (self.wan.rate_mbit / 10).max(1)
        );
        run(&[
            "tc", "-n", w, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default",
            "20", "r2q", "100",
        ])?;
        run(&[
            "tc", "-n", w, "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb",
            "rate", &rate, "ceil", &rate,
        ])?;
        run(&[
            "tc", "-n", w, "class", "add", "dev", dev, "parent", "1:1", "classid", "1:10", "htb",
            "rate", &prio_rate, "ceil", &rate, "prio", "0",
        ])?;
        run(&[
            "tc", "-n", w, "class", "add", "dev", dev, "parent", "1:1", "classid", "1:20", "htb",
            "rate", &rest_rate, "ceil", &rate, "prio", "1",
        ])?;
        let prio_limit = self.wan.priority_queue.to_string();
        run(&[
            "tc",
            "-n",
            w,
            "qdisc",
            "add",
            "dev",
            dev,
            "parent",
            "1:10",
            "handle",
            "10:",
            "pfifo",
            "limit",
            &prio_limit,
        ])?;
        run(&[
            "tc", "-n", w, "qdisc", "add", "dev", dev, "parent", "1:20", "handle", "20:", "pfifo",
            "limit", "1000",
        ])?;
        if self.wan.priority_band {
            run(&[
                "tc", "-n", w, "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip",
                "prio", "1", "u32", "match", "ip", "tos", "0xb8", "0xfc", "flowid", "1:10",
            ])?;
        }
        Ok(())
    }

    /// Puts every datagram from or to one of `ports` (TCP or UDP) into the
    /// priority band too, in both directions (e.g. all of etcd's peer
    /// traffic).
    pub fn prioritize_ports(&self, ports: &[u16]) -> Result<(), LabError> {
        for (ns, dev) in [(&self.ns_a, "a0"), (&self.ns_b, "b0")] {
            for port in ports {
                for dir in ["sport", "dport"] {
                    run(&[
                        "tc",
                        "-n",
                        ns,
                        "filter",
                        "add",
                        "dev",
                        dev,
                        "parent",
                        "1:",
                        "protocol",
                        "ip",
                        "prio",
                        "2",
                        "u32",
                        "match",
                        "ip",
                        dir,
                        &port.to_string(),
                        "0xffff",
                        "flowid",
                        "1:10",
                    ])?;
                }
            }
        }
        Ok(())
    }

    /// What the relays measured so far, per direction (A→B first).
    pub fn relay_stats(&self) -> Vec<relay::RelayStats> {
        self.relays.iter().map(|r| r.stats()).collect()
    }

    /// Starts an in-process cluster (the Figure-5 layout of `spec`) with
    /// the nodes of site A bound in the lab's site A and those of site B in
    /// site B.
    pub fn start_cluster(
        &self,
        mut spec: crate::cluster::LocalSpec,
    ) -> Result<crate::cluster::LocalCluster, LabError> {
        use crate::cluster::Placement;
        spec.sites = Some([
            Placement {
                ip: SITE_A,
                netns: Some(self.ns_a.clone()),
            },
            Placement {
                ip: SITE_B,
                netns: Some(self.ns_b.clone()),
            },
        ]);
        crate::cluster::LocalCluster::start(&spec)
            .map_err(|e| LabError::Unavailable(format!("cluster: {e}")))
    }

    /// Runs `f` on a thread in site A's namespace.
    pub fn in_a<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, LabError> {
        in_netns(&self.ns_a, f)
    }

    /// Runs `f` on a thread in site B's namespace.
    pub fn in_b<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, LabError> {
        in_netns(&self.ns_b, f)
    }

    /// Stops the relays and removes the namespaces (and with them the
    /// links and queues). Returns how long it took.
    pub fn down(mut self) -> Duration {
        self.teardown()
    }

    fn teardown(&mut self) -> Duration {
        let t0 = Instant::now();
        for r in self.relays.drain(..) {
            r.stop();
        }
        for ns in self.made.drain(..).rev() {
            let _ = run(&["ip", "netns", "del", &ns]);
        }
        t0.elapsed()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// The namespaces this process's labs still hold (none once every [`Lab`]
/// was dropped).
pub fn leftovers() -> Result<Vec<String>, LabError> {
    let mine = format!("vv-{}-", std::process::id());
    Ok(run(&["ip", "netns", "list"])?
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&mine))
        .map(str::to_string)
        .collect())
}

/// Removes the namespaces of labs that did not tear down (e.g. killed with
/// SIGKILL); returns their names.
pub fn clean() -> Result<Vec<String>, LabError> {
    let out = run(&["ip", "netns", "list"])?;
    let mut removed = Vec::new();
    for line in out.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if name.starts_with("vv-") {
            run(&["ip", "netns", "del", name])?;
            removed.push(name.to_string());
        }
    }
    Ok(removed)
}
