//! A whole cluster on loopback inside one process (servers on threads):
//! the paper's Figure 5 deployment, for the demo, the benchmark and tests.

use crate::client::{Client, ClientError};
use crate::config::{ClusterConfig, ContainerConfig, DirectoryConfig, Marks, NodeConfig, Role};
use crate::directory::{DirError, ReconfigReport, ReconfigRequest};
use crate::net::{CounterSnapshot, Sockets};
use crate::runtime::{spawn_server, RuntimeError, RuntimeOptions, ServerHandle};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use vivace_spec::{Algorithm, TimestampMode};

/// What to start.
#[derive(Clone, Debug)]
pub struct LocalSpec {
    /// Number of client actors (all at site A, ids 64, 65, ...).
    pub clients: usize,
    /// Containers: key prefix and algorithm; replicas n1, n2, n3, local set
    /// n1, n4, n5 at site A (and n2, n3 at site B).
    pub containers: Vec<(String, Algorithm)>,
    /// Section 3.4.1 write-back skipping.
    pub writeback_skip: bool,
    /// Section 3.4.1 parallel write-back.
    pub parallel_writeback: bool,
    /// Section 3.4.1 reading data from fewer replicas.
    pub fewer_replicas: bool,
    /// Section 3.4.2 executing commands at replicas.
    pub execute_at_replicas: bool,
    /// Section 3.4.2 delegating to a replica.
    pub delegation: bool,
    /// ABD writes without the clock (footnote 3).
    pub timestamps: TimestampMode,
    /// Bind on `::1` instead of `127.0.0.1`.
    pub ipv6: bool,
    /// Bind the servers on dual-stack IPv6 sockets (`[::]`) while the
    /// clients and the configuration use IPv4 `127.0.0.1`: the servers
    /// then talk to IPv4-mapped peers (and mark with `IP_TOS`).
    pub dual_stack_servers: bool,
    /// Commit-wait after each clock reading.
    pub clock_uncertainty: Duration,
    /// Runtime knobs of every node.
    pub options: RuntimeOptions,
    /// Where the nodes of site A and of site B bind; `None`: all on
    /// loopback (see `ipv6`).
    pub sites: Option<[Placement; 2]>,
    /// The directory service (Section 3.1): a `[directory]` on n1, n2, n3
    /// (local sets n1, n4, n5 in A and n2, n3 in B), an administrator
    /// client `admin` (id 64 + `clients`, site A), and the directory
    /// initialized with every container's metadata, epoch 1, at start.
    pub directory: bool,
}

/// Where the nodes of one site bind (the WAN lab puts each site in its own
/// network namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The site's address.
    pub ip: IpAddr,
    /// The network namespace to bind in, if not this process's.
    pub netns: Option<String>,
}

impl LocalSpec {
    /// Figure 5 with one container per algorithm: `abd/`, `rw/`, `lan/`, `rmw/`.
    pub fn figure5(clients: usize) -> LocalSpec {
        LocalSpec {
            clients,
            containers: Algorithm::ALL
                .iter()
                .map(|&a| (prefix_of(a).to_string(), a))
                .collect(),
            writeback_skip: true,
            parallel_writeback: false,
            fewer_replicas: false,
            execute_at_replicas: false,
            delegation: false,
            timestamps: TimestampMode::Clock,
            ipv6: false,
            dual_stack_servers: false,
            clock_uncertainty: Duration::ZERO,
            options: RuntimeOptions::default(),
            sites: None,
            directory: false,
        }
    }
}

/// The key prefix of the container of `a` in [`LocalSpec::figure5`].
pub fn prefix_of(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Abd => "abd/",
        Algorithm::VivaceRw => "rw/",
        Algorithm::LanRmw => "lan/",
        Algorithm::VivaceRmw => "rmw/",
    }
}

/// A running in-process cluster.
pub struct LocalCluster {
    /// Its configuration (with the addresses actually bound).
    pub config: ClusterConfig,
    servers: Vec<(String, Option<ServerHandle>)>,
    client_sockets: Vec<Option<Sockets>>,
    options: RuntimeOptions,
    retired: CounterSnapshot,
    admin: Option<Client>,
}

/// The name of the administrator client of a cluster with a directory.
pub const ADMIN: &str = "admin";

/// The name of client `i`.
pub fn client_name(i: usize) -> String {
    format!("c{i}")
}

impl LocalCluster {
    /// Binds every socket on loopback (ephemeral ports), writes the
    /// configuration, and starts the five servers.
    pub fn start(spec: &LocalSpec) -> Result<LocalCluster, RuntimeError> {
        let ip: IpAddr = if spec.ipv6 {
            Ipv6Addr::LOCALHOST.into()
        } else {
            Ipv4Addr::LOCALHOST.into()
        };
        let marks = Marks::default();
        let inspect = spec.options.inspect_tos;
        let bind = |site: u8| -> Result<Sockets, RuntimeError> {
            let (ip, netns) = match &spec.sites {
                None => (ip, None),
                Some(p) => (p[site as usize].ip, p[site as usize].netns.clone()),
            };
            let any = SocketAddr::new(ip, 0);
            let io = |source| RuntimeError::Io {
                what: format!("binding on {ip}"),
                source,
            };
            match netns {
                None => Sockets::bind(any, any, marks, inspect).map_err(io),
                Some(ns) => {
                    crate::lab::in_netns(&ns, move || Sockets::bind(any, any, marks, inspect))
                        .map_err(|e| RuntimeError::Io {
                            what: format!("binding in namespace {ns}"),
                            source: std::io::Error::other(e.to_string()),
                        })?
                        .map_err(io)
                }
            }
        };
        let addr = |s: &Sockets| -> (SocketAddr, SocketAddr) {
            (
                s.priority.local_addr().expect("bound"),
                s.normal.local_addr().expect("bound"),
            )
        };
        let mut nodes = Vec::new();
        let mut server_sockets = Vec::new();
        // Figure 5: n1 in A, n2 and n3 in B, n4 and n5 in A.
        for (i, site) in [(1usize, 0u8), (2, 1), (3, 1), (4, 0), (5, 0)] {
            let (s, p, n) = if spec.dual_stack_servers && !spec.ipv6 {
                let v6 = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0);
                let s =
                    Sockets::bind(v6, v6, marks, spec.options.inspect_tos).map_err(|source| {
                        RuntimeError::Io {
                            what: "binding a dual-stack socket on [::]".into(),
                            source,
                        }
                    })?;
                let (p, n) = addr(&s);
                let v4 = |a: SocketAddr| SocketAddr::new(ip, a.port());
                (s, v4(p), v4(n))
            } else {
                let s = bind(site)?;
                let (p, n) = addr(&s);
                (s, p, n)
            };
            nodes.push(NodeConfig {
                name: format!("n{i}"),
                id: i,
                site,
                role: Role::Server,
                priority: p,
                normal: n,
            });
            server_sockets.push(s);
        }
        let mut client_sockets = Vec::new();
        for i in 0..spec.clients {
            let s = bind(0)?;
            let (p, n) = addr(&s);
            nodes.push(NodeConfig {
                name: client_name(i),
                id: 64 + i,
                site: 0,
                role: Role::Client,
                priority: p,
                normal: n,
            });
            client_sockets.push(Some(s));
        }
        let mut admin_sockets = None;
        if spec.directory {
            let s = bind(0)?;
            let (p, n) = addr(&s);
            nodes.push(NodeConfig {
                name: ADMIN.into(),
                id: 64 + spec.clients,
                site: 0,
                role: Role::Client,
                priority: p,
                normal: n,
            });
            admin_sockets = Some(s);
        }
        let containers = spec
            .containers
            .iter()
            .map(|(prefix, a)| ContainerConfig {
                prefix: prefix.clone(),
                algorithm: *a,
                replicas: vec![1, 2, 3],
                local_sets: vec![(0, vec![1, 4, 5]), (1, vec![2, 3])],
            })
            .collect();
        let config = ClusterConfig {
            sites: vec!["A".into(), "B".into()],
            nodes,
            containers,
            marks,
            timestamps: spec.timestamps,
            writeback_skip: spec.writeback_skip,
            parallel_writeback: spec.parallel_writeback,
            fewer_replicas: spec.fewer_replicas,
            execute_at_replicas: spec.execute_at_replicas,
            delegation: spec.delegation,
            clock_uncertainty: spec.clock_uncertainty,
            directory: spec.directory.then(|| DirectoryConfig {
                replicas: vec![1, 2, 3],
                local_sets: vec![(0, vec![1, 4, 5]), (1, vec![2, 3])],
            }),
        };
        let mut servers = Vec::new();
        for (i, s) in server_sockets.into_iter().enumerate() {
            let name = format!("n{}", i + 1);
            let h = spawn_server(&config, &name, s, &spec.options)?;
            servers.push((name, Some(h)));
        }
        let mut admin = None;
        if let Some(s) = admin_sockets {
            let mut a = Client::with_sockets(&config, ADMIN, s, &spec.options).map_err(|e| {
                RuntimeError::Io {
                    what: "starting the administrator".into(),
                    source: std::io::Error::other(e.to_string()),
                }
            })?;
            crate::directory::init(&config, &mut a).map_err(|e| RuntimeError::Io {
                what: "initializing the directory".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
            admin = Some(a);
        }
        Ok(LocalCluster {
            config,
            servers,
            client_sockets,
            options: spec.options.clone(),
            retired: CounterSnapshot::default(),
            admin,
        })
    }

    /// The administrator client (with a directory).
    pub fn admin(&mut self) -> Option<&mut Client> {
        self.admin.as_mut()
    }

    /// Changes the replica set of container `prefix` to `replicas` (and the
    /// local sets named in `local_sets`) through the directory service
    /// (Section 3.1), from the administrator client.
    pub fn reconfig(
        &mut self,
        prefix: &str,
        replicas: &[&str],
        local_sets: &[(&str, &[&str])],
    ) -> Result<ReconfigReport, DirError> {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let req = ReconfigRequest {
            prefix: prefix.into(),
            replicas: strings(replicas),
            local_sets: (!local_sets.is_empty()).then(|| {
                local_sets
                    .iter()
                    .map(|(site, names)| (site.to_string(), strings(names)))
                    .collect()
            }),
            step_timeout: Duration::from_secs(10),
        };
        let admin = self.admin.as_mut().ok_or(DirError::NotConfigured)?;
        crate::directory::reconfig(&self.config, admin, &req)
    }

    /// Client `i` (each can be taken once).
    pub fn client(&mut self, i: usize) -> Result<Client, ClientError> {
        let s = self
            .client_sockets
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| RuntimeError::UnknownNode(client_name(i)))?;
        Client::with_sockets(&self.config, &client_name(i), s, &self.options)
    }

    /// The bound sockets of client `i` instead of a client (tests use them
    /// to send raw datagrams from a cluster member's address).
    pub fn take_sockets(&mut self, i: usize) -> Option<Sockets> {
        self.client_sockets.get_mut(i).and_then(Option::take)
    }

    /// Crashes server `name`: its thread stops and its sockets close.
    pub fn kill(&mut self, name: &str) -> bool {
        for (n, h) in &mut self.servers {
            if n == name {
                if let Some(h) = h.take() {
                    self.retired.add(&h.counters());
                    h.stop();
                    return true;
                }
            }
        }
        false
    }

    /// Counters of server `name` (if running).
    pub fn server_counters(&self, name: &str) -> Option<CounterSnapshot> {
        self.servers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, h)| h.as_ref().map(|h| h.counters()))
    }

    /// Sum of the counters of every server (killed ones up to their death).
    pub fn total_server_counters(&self) -> CounterSnapshot {
        let mut t = self.retired.clone();
        for (_, h) in &self.servers {
            if let Some(h) = h {
                t.add(&h.counters());
            }
        }
        t
    }
}
