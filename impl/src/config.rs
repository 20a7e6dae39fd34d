//! Cluster configuration in TOML: sites, nodes (servers and clients) with
//! their two addresses, containers, DSCP marks and options. Every error
//! names the file, the line and the problem.
//!
//! ```toml
//! sites = ["A", "B"]
//! timestamps = "clock"          # or "query_majority" (ABD and Algorithm 1: no clock)
//! writeback_skip = true         # Section 3.4.1 (C1 and C2)
//! parallel_writeback = false    # Section 3.4.1: W-TS with R-DATA when C1 fails
//! fewer_replicas = false        # Section 3.4.1: R-DATA to one replica, fallback to all
//! execute_at_replicas = false   # Section 3.4.2: Algorithm 3 sends the command, not the value
//! delegation = false            # Section 3.4.2: one DELEGATE to a server of the client's site
//! clock_uncertainty_us = 0      # commit-wait of each clock reading
//!
//! [marks]                       # TOS bytes; these are the defaults
//! priority = 0xb8               # DSCP EF
//! normal = 0x00
//!
//! [[nodes]]                     # a server: replica and/or local replica
//! name = "n1"
//! id = 1                        # below 64
//! site = "A"
//! priority = "127.0.0.1:7101"   # socket of priority-class messages
//! normal = "127.0.0.1:7201"     # socket of normal-class messages
//!
//! [[clients]]                   # clients have addresses too: servers drop strangers
//! name = "c1"
//! id = 101                      # any id not used by a server
//! site = "A"
//! priority = "127.0.0.1:7301"
//! normal = "127.0.0.1:7401"
//!
//! [[containers]]
//! prefix = "rw/"                # the longest matching prefix wins
//! algorithm = "vivace_rw"       # abd | vivace_rw | lan_rmw | vivace_rmw
//! replicas = ["n1", "n2", "n3"]
//! local_sets = { A = ["n1", "n4", "n5"] }
//!
//! [directory]                   # optional: the directory service (Section 3.1)
//! replicas = ["n1", "n2", "n3"] # the directory container `dir/` (Algorithm 1), fixed
//! local_sets = { A = ["n1", "n4", "n5"], B = ["n2", "n3"] }
//! ```
//!
//! With a `[directory]`, each `[[containers]]` entry is the container's
//! *initial* metadata, epoch 1: `vivace dir init` writes it into the
//! directory object `dir/<prefix>`, servers start serving epoch 1 where
//! it puts them, and clients read the metadata from the directory (the
//! file gives them the prefixes, the container ids). Without one, the
//! file is all the metadata there is (epoch checks off), as before.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;
use vivace_spec::{
    Algorithm, Container, Deployment, Directory, Id, Key, Mutation, Options, Site, TimestampMode,
};

/// A configuration error: file, line (1-based, 0 when unknown) and problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// File name.
        file: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the expected shape.
    #[error("{file}:{line}: {problem}")]
    Syntax {
        /// File name.
        file: String,
        /// Line of the problem.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The content is inconsistent (unknown node, duplicate id, ...).
    #[error("{file}:{line}: {problem}")]
    Invalid {
        /// File name.
        file: String,
        /// Line of the problem.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// The role of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A storage server (replica and/or local replica).
    Server,
    /// A client (its messages must come from a configured address).
    Client,
}

/// One node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// Unique name.
    pub name: String,
    /// Actor id (servers below 64).
    pub id: usize,
    /// Index of its site in [`ClusterConfig::sites`].
    pub site: Site,
    /// Server or client.
    pub role: Role,
    /// Address of its priority-class socket.
    pub priority: SocketAddr,
    /// Address of its normal-class socket.
    pub normal: SocketAddr,
}

/// One container: key prefix, algorithm, replica set, local sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerConfig {
    /// Key prefix.
    pub prefix: String,
    /// Algorithm of its objects.
    pub algorithm: Algorithm,
    /// Replica set (server ids).
    pub replicas: Vec<usize>,
    /// Local set per site (server ids).
    pub local_sets: Vec<(Site, Vec<usize>)>,
}

/// The directory service's own container (Section 3.1): Algorithm 1 on a
/// fixed replica set, prefix [`vivace_spec::directory::PREFIX`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryConfig {
    /// Replica set (server ids).
    pub replicas: Vec<usize>,
    /// Local set per site (server ids).
    pub local_sets: Vec<(Site, Vec<usize>)>,
}

/// TOS bytes of the two classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    /// TOS byte of priority-class datagrams (default 0xb8, DSCP EF).
    pub priority: u8,
    /// TOS byte of normal-class datagrams (default 0).
    pub normal: u8,
}

impl Default for Marks {
    fn default() -> Self {
        Marks {
            priority: 0xb8,
            normal: 0,
        }
    }
}

/// A whole cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Site names; a node's site is an index into this.
    pub sites: Vec<String>,
    /// Servers and clients.
    pub nodes: Vec<NodeConfig>,
    /// Containers.
    pub containers: Vec<ContainerConfig>,
    /// TOS marks.
    pub marks: Marks,
    /// How writers get timestamps.
    pub timestamps: TimestampMode,
    /// Section 3.4.1 write-back skipping.
    pub writeback_skip: bool,
    /// Section 3.4.1 parallel write-back.
    pub parallel_writeback: bool,
    /// Section 3.4.1 reading data from fewer replicas.
    pub fewer_replicas: bool,
    /// Section 3.4.2 executing commands at replicas.
    pub execute_at_replicas: bool,
    /// Section 3.4.2 delegating to a replica (Algorithms 1 and 3).
    pub delegation: bool,
    /// Commit-wait after each clock reading (0: none).
    pub clock_uncertainty: Duration,
    /// The directory service (Section 3.1), if configured.
    pub directory: Option<DirectoryConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    sites: Spanned<Vec<String>>,
    #[serde(default)]
    timestamps: Option<Spanned<String>>,
    #[serde(default)]
    writeback_skip: Option<bool>,
    #[serde(default)]
    parallel_writeback: Option<bool>,
    #[serde(default)]
    fewer_replicas: Option<bool>,
    #[serde(default)]
    execute_at_replicas: Option<bool>,
    #[serde(default)]
    delegation: Option<bool>,
    #[serde(default)]
    clock_uncertainty_us: Option<u64>,
    #[serde(default)]
    marks: Option<RawMarks>,
    #[serde(default)]
    nodes: Vec<Spanned<RawNode>>,
    #[serde(default)]
    clients: Vec<Spanned<RawNode>>,
    #[serde(default)]
    containers: Vec<Spanned<RawContainer>>,
    #[serde(default)]
    directory: Option<Spanned<RawDirectory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    replicas: Spanned<Vec<String>>,
    #[serde(default)]
    local_sets: Option<Spanned<BTreeMap<String, Vec<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMarks {
    priority: Option<u8>,
    normal: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: Spanned<String>,
    id: Spanned<usize>,
    site: Spanned<String>,
    priority: Spanned<String>,
    normal: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContainer {
    prefix: Spanned<String>,
    algorithm: Spanned<String>,
    replicas: Spanned<Vec<String>>,
    #[serde(default)]
    local_sets: Option<Spanned<BTreeMap<String, Vec<String>>>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl ClusterConfig {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<ClusterConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        ClusterConfig::parse(&text, &file)
    }

    /// Parses and validates TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<ClusterConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_string(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            problem: e.message().to_string(),
        })?;
        let err = |span: std::ops::Range<usize>, problem: String| ConfigError::Invalid {
            file: file.to_string(),
            line: line_of(text, span.start),
            problem,
        };
        let sites: Vec<String> = raw.sites.get_ref().clone();
        if sites.is_empty() || sites.len() > 255 {
            return Err(err(
                raw.sites.span(),
                "between 1 and 255 sites needed".into(),
            ));
        }
        let site_of = |s: &Spanned<String>| -> Result<Site, ConfigError> {
            sites
                .iter()
                .position(|x| x == s.get_ref())
                .map(|i| i as Site)
                .ok_or_else(|| {
                    err(
                        s.span(),
                        format!("unknown site {:?} (sites: {:?})", s.get_ref(), sites),
                    )
                })
        };
        let timestamps = match &raw.timestamps {
            None => TimestampMode::Clock,
            Some(t) => match t.get_ref().as_str() {
                "clock" => TimestampMode::Clock,
                "query_majority" => TimestampMode::QueryMajority,
                other => {
                    return Err(err(
                        t.span(),
                        format!(
                            "timestamps must be \"clock\" or \"query_majority\", not {other:?}"
                        ),
                    ))
                }
            },
        };
        let mut nodes = Vec::new();
        let mut spans = Vec::new();
        for (list, role) in [(&raw.nodes, Role::Server), (&raw.clients, Role::Client)] {
            for n in list {
                let r = n.get_ref();
                let addr = |a: &Spanned<String>| -> Result<SocketAddr, ConfigError> {
                    a.get_ref().parse().map_err(|e| {
                        err(
                            a.span(),
                            format!("bad socket address {:?}: {e}", a.get_ref()),
                        )
                    })
                };
                nodes.push(NodeConfig {
                    name: r.name.get_ref().clone(),
                    id: *r.id.get_ref(),
                    site: site_of(&r.site)?,
                    role,
                    priority: addr(&r.priority)?,
                    normal: addr(&r.normal)?,
                });
                spans.push((
                    r.name.span(),
                    r.id.span(),
                    r.priority.span(),
                    r.normal.span(),
                ));
            }
        }
        let mut containers = Vec::new();
        let mut cspans = Vec::new();
        for c in &raw.containers {
            let c = c.get_ref();
            let algorithm = Algorithm::from_name(c.algorithm.get_ref()).ok_or_else(|| {
                err(
                    c.algorithm.span(),
                    format!(
                        "unknown algorithm {:?} (abd, vivace_rw, lan_rmw, vivace_rmw)",
                        c.algorithm.get_ref()
                    ),
                )
            })?;
            let (replicas, local_sets) =
                members(&nodes, &sites, &c.replicas, c.local_sets.as_ref())
                    .map_err(|(span, problem)| err(span, problem))?;
            containers.push(ContainerConfig {
                prefix: c.prefix.get_ref().clone(),
                algorithm,
                replicas,
                local_sets,
            });
            cspans.push(c.prefix.span());
        }
        let marks = raw.marks.map_or(Marks::default(), |m| Marks {
            priority: m.priority.unwrap_or(0xb8),
            normal: m.normal.unwrap_or(0),
        });
        let mut directory = None;
        let mut dspan = 0..0;
        if let Some(d) = &raw.directory {
            dspan = d.span();
            let d = d.get_ref();
            let (replicas, local_sets) =
                members(&nodes, &sites, &d.replicas, d.local_sets.as_ref())
                    .map_err(|(span, problem)| err(span, problem))?;
            directory = Some(DirectoryConfig {
                replicas,
                local_sets,
            });
        }
        let cfg = ClusterConfig {
            directory,
            sites,
            nodes,
            containers,
            marks,
            timestamps,
            writeback_skip: raw.writeback_skip.unwrap_or(true),
            parallel_writeback: raw.parallel_writeback.unwrap_or(false),
            fewer_replicas: raw.fewer_replicas.unwrap_or(false),
            execute_at_replicas: raw.execute_at_replicas.unwrap_or(false),
            delegation: raw.delegation.unwrap_or(false),
            clock_uncertainty: Duration::from_micros(raw.clock_uncertainty_us.unwrap_or(0)),
        };
        cfg.validate().map_err(|(what, i, problem)| {
            let span = match what {
                Where::Node(field) => {
                    let (name, id, p, n) = spans[i].clone();
                    [name, id, p, n][field].clone()
                }
                Where::Container => cspans[i].clone(),
                Where::Directory => dspan.clone(),
                Where::Top => 0..0,
            };
            err(span, problem)
        })?;
        Ok(cfg)
    }

    /// Checks the consistency rules; the error says where (for line numbers).
    fn validate(&self) -> Result<(), (Where, usize, String)> {
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        let mut addrs = HashSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if !names.insert(&n.name) {
                return Err((
                    Where::Node(0),
                    i,
                    format!("duplicate node name {:?}", n.name),
                ));
            }
            if !ids.insert(n.id) {
                return Err((Where::Node(1), i, format!("duplicate id {}", n.id)));
            }
            if n.role == Role::Server && n.id >= 64 {
                return Err((
                    Where::Node(1),
                    i,
                    format!("server id {} must be below 64", n.id),
                ));
            }
            if n.id > 1_000_000 {
                return Err((Where::Node(1), i, format!("id {} is too large", n.id)));
            }
            for (f, a) in [(2, n.priority), (3, n.normal)] {
                if !addrs.insert(a) {
                    return Err((Where::Node(f), i, format!("address {a} used twice")));
                }
            }
        }
        if !self.nodes.iter().any(|n| n.role == Role::Server) {
            return Err((Where::Top, 0, "no server in [[nodes]]".into()));
        }
        let mut prefixes = HashSet::new();
        for (i, c) in self.containers.iter().enumerate() {
            if !prefixes.insert(&c.prefix) {
                return Err((
                    Where::Container,
                    i,
                    format!("duplicate prefix {:?}", c.prefix),
                ));
            }
            if c.replicas.is_empty() {
                return Err((Where::Container, i, "empty replica set".into()));
            }
            let uniq: HashSet<_> = c.replicas.iter().collect();
            if uniq.len() != c.replicas.len() {
                return Err((Where::Container, i, "a replica is listed twice".into()));
            }
            if c.algorithm == Algorithm::LanRmw || c.algorithm == Algorithm::VivaceRmw {
                // fine with either timestamp mode: RMW always uses the clock
            }
            if c.algorithm.uses_local_set() {
                for n in self.nodes.iter().filter(|n| n.role == Role::Client) {
                    let has = c
                        .local_sets
                        .iter()
                        .any(|(s, ids)| *s == n.site && !ids.is_empty());
                    if !has {
                        return Err((
                            Where::Container,
                            i,
                            format!(
                                "algorithm {} needs a local set at site {:?} (client {:?} is there)",
                                c.algorithm.name(),
                                self.sites[n.site as usize],
                                n.name
                            ),
                        ));
                    }
                }
            }
        }
        if self.containers.is_empty() {
            return Err((Where::Top, 0, "no [[containers]]".into()));
        }
        if let Some(d) = &self.directory {
            let dir = vivace_spec::directory::PREFIX;
            for (i, c) in self.containers.iter().enumerate() {
                if c.prefix.starts_with(dir) {
                    return Err((
                        Where::Container,
                        i,
                        format!(
                            "prefix {:?}: {dir:?} is the directory's (Section 3.1) with a [directory]",
                            c.prefix
                        ),
                    ));
                }
            }
            let here = |problem: String| Err((Where::Directory, 0, problem));
            if d.replicas.is_empty() {
                return here("[directory]: empty replica set".into());
            }
            let uniq: HashSet<_> = d.replicas.iter().collect();
            if uniq.len() != d.replicas.len() {
                return here("[directory]: a replica is listed twice".into());
            }
            for n in self.nodes.iter().filter(|n| n.role == Role::Client) {
                if !d
                    .local_sets
                    .iter()
                    .any(|(s, ids)| *s == n.site && !ids.is_empty())
                {
                    return here(format!(
                        "[directory] (Algorithm 1) needs a local set at site {:?} (client {:?} is there)",
                        self.sites[n.site as usize], n.name
                    ));
                }
            }
            if self.delegation {
                return here(
                    "delegation (Section 3.4.2) is not supported with a [directory] yet".into(),
                );
            }
        }
        Ok(())
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The node with id `id`.
    pub fn node_by_id(&self, id: usize) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The id of the clock role: the smallest id no node uses. Clock
    /// requests to it are answered in-process and never sent.
    pub fn clock_id(&self) -> usize {
        let used: HashSet<usize> = self.nodes.iter().map(|n| n.id).collect();
        (0..).find(|i| !used.contains(i)).expect("ids are finite")
    }

    /// Map from every configured address (both sockets) to its node id.
    pub fn address_map(&self) -> HashMap<SocketAddr, Id> {
        let mut m = HashMap::new();
        for n in &self.nodes {
            m.insert(canonical(n.priority), Id::from(n.id));
            m.insert(canonical(n.normal), Id::from(n.id));
        }
        m
    }

    /// The spec's view of the cluster: directory, sites, clock, options.
    /// Retransmission is always on (a real network loses datagrams).
    pub fn deployment(&self) -> Arc<Deployment> {
        let max = self.nodes.iter().map(|n| n.id).max().unwrap_or(0);
        let mut sites = vec![0 as Site; max.max(self.clock_id()) + 1];
        for n in &self.nodes {
            sites[n.id] = n.site;
        }
        let ids = |v: &[usize]| v.iter().map(|&i| Id::from(i)).collect::<Vec<_>>();
        let local = |v: &[(Site, Vec<usize>)]| {
            v.iter()
                .map(|(s, members)| (*s, ids(members)))
                .collect::<Vec<_>>()
        };
        // With the directory service the file's metadata is epoch 1's.
        let epoch = u64::from(self.directory.is_some());
        let mut containers: Vec<Container> = self
            .containers
            .iter()
            .map(|c| Container {
                prefix: Key::from(c.prefix.as_str()),
                algorithm: c.algorithm,
                replicas: ids(&c.replicas),
                local_sets: local(&c.local_sets),
                epoch,
            })
            .collect();
        if let Some(d) = &self.directory {
            containers.push(Container {
                prefix: Key::from(vivace_spec::directory::PREFIX),
                algorithm: Algorithm::VivaceRw,
                replicas: ids(&d.replicas),
                local_sets: local(&d.local_sets),
                epoch: 0,
            });
        }
        Arc::new(Deployment {
            directory: Directory { containers },
            sites,
            clock: Id::from(self.clock_id()),
            timestamps: self.timestamps,
            options: Options {
                retransmit: true,
                writeback_skip: self.writeback_skip,
                parallel_writeback: self.parallel_writeback,
                fewer_replicas: self.fewer_replicas,
                execute_at_replicas: self.execute_at_replicas,
                delegation: self.delegation,
            },
            mutation: Mutation::None,
        })
    }
}

enum Where {
    /// Field of a node: 0 name, 1 id, 2 priority, 3 normal.
    Node(usize),
    Container,
    Directory,
    Top,
}

/// The replica set and local sets of a container or of the directory, by
/// server id; errors name the line of the list.
#[allow(clippy::type_complexity)]
fn members(
    nodes: &[NodeConfig],
    sites: &[String],
    replicas: &Spanned<Vec<String>>,
    local_sets: Option<&Spanned<BTreeMap<String, Vec<String>>>>,
) -> Result<(Vec<usize>, Vec<(Site, Vec<usize>)>), (std::ops::Range<usize>, String)> {
    let server_id = |name: &str, span: std::ops::Range<usize>| {
        nodes
            .iter()
            .find(|n| n.name == name && n.role == Role::Server)
            .map(|n| n.id)
            .ok_or_else(|| (span, format!("{name:?} is not a server of [[nodes]]")))
    };
    let ids = replicas
        .get_ref()
        .iter()
        .map(|n| server_id(n, replicas.span()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sets = Vec::new();
    if let Some(ls) = local_sets {
        for (site, names) in ls.get_ref() {
            let s = sites
                .iter()
                .position(|x| x == site)
                .ok_or_else(|| (ls.span(), format!("local set of unknown site {site:?}")))?
                as Site;
            let members = names
                .iter()
                .map(|n| server_id(n, ls.span()))
                .collect::<Result<Vec<_>, _>>()?;
            sets.push((s, members));
        }
    }
    Ok((ids, sets))
}

/// An address as a socket reports it: IPv4-mapped IPv6 addresses become IPv4.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => a,
        },
        a => a,
    }
}

/// Checks that a deployment is one the runtime may run: no deliberate bug,
/// retransmission on.
pub fn check_runnable(d: &Deployment) -> Result<(), String> {
    if d.mutation != Mutation::None {
        return Err(format!(
            "mutation {:?} is for the proofs only; the runtime runs Mutation::None",
            d.mutation
        ));
    }
    if !d.options.retransmit {
        return Err("retransmission must be on over a real network".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_configs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        for f in [
            "cluster3.toml",
            "figure5.toml",
            "figure5-ipv6.toml",
            "directory.toml",
        ] {
            let c = ClusterConfig::load(&dir.join(f)).unwrap_or_else(|e| panic!("{e}"));
            assert!(c.nodes.len() >= 3);
            check_runnable(&c.deployment()).unwrap();
        }
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "sites = [\"A\"]\n\n[[nodes]]\nname = \"n1\"\nid = 1\nsite = \"Z\"\npriority = \"127.0.0.1:1\"\nnormal = \"127.0.0.1:2\"\n";
        let e = ClusterConfig::parse(text, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:6:"), "{e}");
        assert!(e.contains("unknown site"), "{e}");
        let e = ClusterConfig::parse("sites = [\"A\"\n", "y.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("y.toml:"), "{e}");
        let bad_id = text.replace("\"Z\"", "\"A\"").replace("id = 1", "id = 70");
        let e = ClusterConfig::parse(&bad_id, "z.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("z.toml:5:") && e.contains("below 64"), "{e}");
    }

    /// A `[directory]` (Section 3.1): its container `dir/` is in the
    /// deployment with fixed metadata (epoch 0) and every other container
    /// starts at epoch 1; without one, every epoch is 0 (checks off).
    #[test]
    fn the_directory_section() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let c = ClusterConfig::load(&dir.join("directory.toml")).unwrap();
        let d = c.deployment();
        let epochs: Vec<(String, u64)> = d
            .directory
            .containers
            .iter()
            .map(|c| (String::from_utf8_lossy(c.prefix.as_slice()).into(), c.epoch))
            .collect();
        assert!(epochs.contains(&("dir/".into(), 0)), "{epochs:?}");
        assert!(epochs.contains(&("rw/".into(), 1)), "{epochs:?}");
        let f = ClusterConfig::load(&dir.join("figure5.toml")).unwrap();
        assert!(f
            .deployment()
            .directory
            .containers
            .iter()
            .all(|c| c.epoch == 0));
    }

    /// A bad `[directory]` section: the error names the file and the line.
    #[test]
    fn a_bad_directory_section_names_the_line() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let good = std::fs::read_to_string(dir.join("directory.toml")).unwrap();
        let line_of = |text: &str, needle: &str| {
            text.lines()
                .position(|l| l.contains(needle) && !l.starts_with('#'))
                .unwrap()
                + 1
        };
        let cases = [
            // An unknown server in the directory's replica set.
            (
                good.replace(
                    "replicas = [\"n1\", \"n2\", \"n3\"]\nlocal_sets = { A = [\"n1\", \"n4\", \"n5\"], B = [\"n2\", \"n3\"] }\n\n[[nodes]]",
                    "replicas = [\"n1\", \"n9\", \"n3\"]\nlocal_sets = { A = [\"n1\", \"n4\", \"n5\"], B = [\"n2\", \"n3\"] }\n\n[[nodes]]",
                ),
                "\"n9\"",
                "\"n9\" is not a server",
            ),
            // A field the section does not have.
            (
                good.replace("[directory]\n", "[directory]\nalgorithm = \"abd\"\n"),
                "algorithm = \"abd\"",
                "unknown field",
            ),
            // No local set where the clients are.
            (
                good.replace(
                    "local_sets = { A = [\"n1\", \"n4\", \"n5\"], B = [\"n2\", \"n3\"] }\n\n[[nodes]]",
                    "local_sets = { B = [\"n2\", \"n3\"] }\n\n[[nodes]]",
                ),
                "[directory]",
                "needs a local set at site \"A\"",
            ),
            // A container prefix in the directory's own.
            (
                good.replace("prefix = \"lan/\"", "prefix = \"dir/lan/\""),
                "prefix = \"dir/lan/\"",
                "is the directory's",
            ),
            // Delegation is not supported with a directory.
            (
                good.replace("writeback_skip = true\n", "writeback_skip = true\ndelegation = true\n"),
                "[directory]",
                "not supported with a [directory]",
            ),
        ];
        for (text, at, problem) in cases {
            assert_ne!(text, good, "the case changed the file ({problem})");
            let e = ClusterConfig::parse(&text, "d.toml")
                .unwrap_err()
                .to_string();
            let want = format!("d.toml:{}:", line_of(&text, at));
            assert!(e.starts_with(&want), "{e} (wanted {want})");
            assert!(e.contains(problem), "{e}");
        }
    }
}
