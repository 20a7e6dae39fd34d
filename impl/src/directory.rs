//! The directory service's administration (Section 3.1): writing each
//! container's initial metadata into the directory (`vivace dir init`),
//! showing it (`vivace dir show`), and changing a container's replica set
//! (`vivace reconfig`).
//!
//! A directory object is read and written with the client library, as any
//! Algorithm 1 object. A reconfiguration drives the spec's
//! [`vivace_spec::directory::Reconfig`] (SEAL, COPY, INSTALL) from the
//! sockets of the same client, then publishes the new metadata with an
//! ordinary write, only once a majority of the new replica set serves the
//! new epoch. One administrator at a time: a second one that started from
//! the same epoch stops with [`DirError::Failed`] (superseded).

use crate::client::{Client, ClientError};
use crate::config::{ClusterConfig, Role};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use vivace_spec::directory::{
    decode_metadata, encode_metadata, metadata_key, Reconfig, ReconfigFailure, ReconfigState, Step,
};
use vivace_spec::{Container, Epoch, Id, Key, Site};

/// Why a directory command failed.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// The configuration has no `[directory]` section.
    #[error("the configuration has no [directory] section (Section 3.1)")]
    NotConfigured,
    /// No container of the configuration has that prefix.
    #[error("no container with prefix {0:?} in the configuration")]
    UnknownPrefix(String),
    /// A name in the new replica set or local sets is not a server.
    #[error("{0:?} is not a server of [[nodes]]")]
    UnknownServer(String),
    /// A local set names a site the configuration does not have.
    #[error("unknown site {0:?}")]
    UnknownSite(String),
    /// The new metadata is not usable.
    #[error("bad new metadata: {0}")]
    BadMetadata(String),
    /// The directory has no metadata for the container.
    #[error("the directory has no metadata for {0:?} (run `vivace dir init`)")]
    NoMetadata(String),
    /// The directory's value for the container does not decode.
    #[error("the directory's metadata for {prefix:?} is unreadable: {problem}")]
    Unreadable {
        /// The container.
        prefix: String,
        /// What is wrong.
        problem: String,
    },
    /// A read or write of the directory failed.
    #[error("directory access: {0}")]
    Client(#[from] ClientError),
    /// The reconfiguration cannot finish.
    #[error("reconfiguration of {prefix:?} from epoch {from}: {failure}")]
    Failed {
        /// The container.
        prefix: String,
        /// The epoch it started from.
        from: Epoch,
        /// Why.
        failure: ReconfigFailure,
    },
    /// The reconfiguration did not reach the next step in time.
    #[error("reconfiguration of {prefix:?} timed out while {step}{}", missing_note(*.missing))]
    Timeout {
        /// The container.
        prefix: String,
        /// The step it was in.
        step: &'static str,
        /// Keys whose value was still missing (copying).
        missing: usize,
    },
}

fn missing_note(missing: usize) -> String {
    if missing == 0 {
        String::new()
    } else {
        format!(
            ": the values of {missing} keys are on no sealed replica (still propagating, or lost with their local replicas: see `vivace audit`)"
        )
    }
}

/// Metadata with the configuration's names for nodes and sites.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Described {
    /// The epoch.
    pub epoch: Epoch,
    /// The algorithm.
    pub algorithm: &'static str,
    /// The replica set.
    pub replicas: Vec<String>,
    /// The local sets, by site.
    pub local_sets: BTreeMap<String, Vec<String>>,
}

/// One container as the directory holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The container's prefix.
    pub prefix: String,
    /// Its metadata (`None`: the directory has none).
    pub metadata: Option<Described>,
}

fn name(cfg: &ClusterConfig, id: Id) -> String {
    cfg.node_by_id(usize::from(id))
        .map_or_else(|| format!("#{}", usize::from(id)), |n| n.name.clone())
}

/// `c` with names.
pub fn describe(cfg: &ClusterConfig, c: &Container) -> Described {
    Described {
        epoch: c.epoch,
        algorithm: c.algorithm.name(),
        replicas: c.replicas.iter().map(|&r| name(cfg, r)).collect(),
        local_sets: c
            .local_sets
            .iter()
            .map(|(s, ids)| {
                let site = cfg
                    .sites
                    .get(usize::from(*s))
                    .cloned()
                    .unwrap_or_else(|| s.to_string());
                (site, ids.iter().map(|&r| name(cfg, r)).collect())
            })
            .collect(),
    }
}

fn check(cfg: &ClusterConfig) -> Result<(), DirError> {
    cfg.directory
        .as_ref()
        .map(|_| ())
        .ok_or(DirError::NotConfigured)
}

/// Reads the metadata of container `prefix` from the directory.
pub fn read(client: &mut Client, prefix: &str) -> Result<Option<Container>, DirError> {
    let v = client.read(metadata_key(&Key::from(prefix)))?;
    if v.is_empty() {
        return Ok(None);
    }
    decode_metadata(&Key::from(prefix), v.as_slice())
        .map(Some)
        .map_err(|e| DirError::Unreadable {
            prefix: prefix.into(),
            problem: e.to_string(),
        })
}

/// What `dir init` did for one container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InitOutcome {
    /// The container.
    pub prefix: String,
    /// Whether it wrote the metadata (else the directory had some).
    pub written: bool,
    /// The epoch in the directory now.
    pub epoch: Epoch,
}

/// `vivace dir init`: writes each container's metadata from the
/// configuration, as epoch 1, into the directory, unless the directory
/// already has metadata for it (which is never overwritten: after a
/// reconfiguration the file's replica set is out of date).
pub fn init(cfg: &ClusterConfig, client: &mut Client) -> Result<Vec<InitOutcome>, DirError> {
    check(cfg)?;
    let d = cfg.deployment();
    let mut done = Vec::new();
    for c in d.directory.containers.iter().filter(|c| c.epoch > 0) {
        let prefix = String::from_utf8_lossy(c.prefix.as_slice()).into_owned();
        let outcome = match read(client, &prefix)? {
            Some(now) => InitOutcome {
                prefix,
                written: false,
                epoch: now.epoch,
            },
            None => {
                client.write(metadata_key(&c.prefix), encode_metadata(c))?;
                InitOutcome {
                    prefix,
                    written: true,
                    epoch: c.epoch,
                }
            }
        };
        done.push(outcome);
    }
    Ok(done)
}

/// `vivace dir show`: the directory's metadata of every container of the
/// configuration, or of `prefix` only.
pub fn show(
    cfg: &ClusterConfig,
    client: &mut Client,
    prefix: Option<&str>,
) -> Result<Vec<Entry>, DirError> {
    check(cfg)?;
    if let Some(p) = prefix {
        if !cfg.containers.iter().any(|c| c.prefix == p) {
            return Err(DirError::UnknownPrefix(p.into()));
        }
    }
    let mut entries = Vec::new();
    for c in &cfg.containers {
        if prefix.is_some_and(|p| p != c.prefix) {
            continue;
        }
        let metadata = read(client, &c.prefix)?.map(|m| describe(cfg, &m));
        entries.push(Entry {
            prefix: c.prefix.clone(),
            metadata,
        });
    }
    Ok(entries)
}

/// A change of a container's replica set (and, optionally, local sets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconfigRequest {
    /// The container.
    pub prefix: String,
    /// The new replica set (server names).
    pub replicas: Vec<String>,
    /// The new local sets (site name, server names); `None`: unchanged.
    pub local_sets: Option<Vec<(String, Vec<String>)>>,
    /// Deadline of each step (seal, copy, install).
    pub step_timeout: Duration,
}

/// What a reconfiguration did, and how long each step took.
#[derive(Clone, Debug, Serialize)]
pub struct ReconfigReport {
    /// The container.
    pub prefix: String,
    /// The epoch it left.
    pub from_epoch: Epoch,
    /// The epoch it published.
    pub to_epoch: Epoch,
    /// The old metadata.
    pub from: Described,
    /// The new metadata.
    pub to: Described,
    /// Keys installed.
    pub keys: u64,
    /// ACK-SEAL pages received.
    pub seal_pages: u64,
    /// Bytes of keys and values copied from the sealed replicas.
    pub copied_bytes: u64,
    /// INSTALL pages sent (all replicas).
    pub install_pages: u64,
    /// Bytes of keys and values sent by INSTALL (all replicas).
    pub installed_bytes: u64,
    /// Requests retransmitted.
    pub retransmissions: u64,
    /// SEAL until a majority had sealed and listed its keys.
    pub seal_ms: f64,
    /// COPY of the values.
    pub copy_ms: f64,
    /// INSTALL until a majority of the new set served the new epoch.
    pub install_ms: f64,
    /// PUBLISH: the write of the directory object.
    pub publish_ms: f64,
    /// From the first SEAL to the end of PUBLISH.
    pub total_ms: f64,
    /// Old replicas that acknowledged the seal.
    pub sealed: Vec<String>,
    /// New replicas that serve the new epoch.
    pub installed: Vec<String>,
}

/// How long the administrator waits before it sends its unanswered
/// requests again.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

/// How long, after PUBLISH, the administrator keeps installing the new
/// replicas beyond the majority (and sealing the old ones) that have not
/// answered yet.
pub const STRAGGLERS_FOR: Duration = Duration::from_secs(1);

fn server_ids(cfg: &ClusterConfig, names: &[String]) -> Result<Vec<Id>, DirError> {
    names
        .iter()
        .map(|n| {
            cfg.node(n)
                .filter(|x| x.role == Role::Server)
                .map(|x| Id::from(x.id))
                .ok_or_else(|| DirError::UnknownServer(n.clone()))
        })
        .collect()
}

/// The new metadata: `from` with the request's replica set and local sets,
/// in the next epoch; checked as the configuration's are.
fn new_metadata(
    cfg: &ClusterConfig,
    from: &Container,
    req: &ReconfigRequest,
) -> Result<Container, DirError> {
    let replicas = server_ids(cfg, &req.replicas)?;
    if replicas.is_empty() {
        return Err(DirError::BadMetadata("empty replica set".into()));
    }
    let mut uniq = replicas.clone();
    uniq.sort();
    uniq.dedup();
    if uniq.len() != replicas.len() {
        return Err(DirError::BadMetadata("a replica is listed twice".into()));
    }
    let local_sets = match &req.local_sets {
        None => from.local_sets.clone(),
        Some(sets) => {
            let mut out: Vec<(Site, Vec<Id>)> = Vec::new();
            for (site, names) in sets {
                let s = cfg
                    .sites
                    .iter()
                    .position(|x| x == site)
                    .ok_or_else(|| DirError::UnknownSite(site.clone()))?
                    as Site;
                out.retain(|(x, _)| *x != s);
                out.push((s, server_ids(cfg, names)?));
            }
            // Sites not named keep their local sets.
            for (s, ids) in &from.local_sets {
                if !out.iter().any(|(x, _)| x == s) {
                    out.push((*s, ids.clone()));
                }
            }
            out.sort();
            out
        }
    };
    if from.algorithm.uses_local_set() {
        for n in cfg.nodes.iter().filter(|n| n.role == Role::Client) {
            if !local_sets
                .iter()
                .any(|(s, ids)| *s == n.site && !ids.is_empty())
            {
                return Err(DirError::BadMetadata(format!(
                    "algorithm {} needs a local set at site {:?} (client {:?} is there)",
                    from.algorithm.name(),
                    cfg.sites[usize::from(n.site)],
                    n.name
                )));
            }
        }
    }
    Ok(Container {
        replicas,
        local_sets,
        epoch: from.epoch + 1,
        ..from.clone()
    })
}

fn step_name(s: &Step) -> &'static str {
    match s {
        Step::Sealing => "sealing",
        Step::Copying => "copying",
        Step::Installing => "installing",
        Step::Installed => "installed",
        Step::Failed(_) => "failed",
    }
}

/// `vivace reconfig`: changes container `req.prefix` from the metadata the
/// directory holds (epoch `e`) to the requested replica set (epoch
/// `e + 1`): SEAL, COPY, INSTALL, then PUBLISH. `client` is the
/// administrator's identity (a client of the configuration).
pub fn reconfig(
    cfg: &ClusterConfig,
    client: &mut Client,
    req: &ReconfigRequest,
) -> Result<ReconfigReport, DirError> {
    check(cfg)?;
    if !cfg.containers.iter().any(|c| c.prefix == req.prefix) {
        return Err(DirError::UnknownPrefix(req.prefix.clone()));
    }
    let from =
        read(client, &req.prefix)?.ok_or_else(|| DirError::NoMetadata(req.prefix.clone()))?;
    let to = new_metadata(cfg, &from, req)?;
    let r = Reconfig {
        from: from.clone(),
        to: to.clone(),
    };
    let mut st = ReconfigState::default();
    let mut out = Vec::new();
    let start = Instant::now();
    r.start(&mut st, &mut out);
    let mut retry_at = start + RETRY_AFTER;
    let mut step_started = start;
    let mut step = st.step.clone();
    let mut times: BTreeMap<&'static str, f64> = BTreeMap::new();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let failed = |f: ReconfigFailure| DirError::Failed {
        prefix: req.prefix.clone(),
        from: from.epoch,
        failure: f,
    };
    // SEAL, COPY, INSTALL until a majority of the new set serves epoch e+1.
    loop {
        let now = Instant::now();
        let wait = retry_at
            .saturating_duration_since(now)
            .min(Duration::from_millis(20));
        for (src, m) in client.admin_round(std::mem::take(&mut out), wait)? {
            r.on_msg(&mut st, src, m, &mut out);
        }
        let now = Instant::now();
        if st.step != step {
            times.insert(step_name(&step), ms(now - step_started));
            step = st.step.clone();
            step_started = now;
        }
        match &st.step {
            Step::Installed => break,
            Step::Failed(f) => return Err(failed(f.clone())),
            _ => {}
        }
        if now >= retry_at {
            r.on_timeout(&mut st, &mut out);
            retry_at = now + RETRY_AFTER;
        }
        if now - step_started > req.step_timeout {
            return Err(DirError::Timeout {
                prefix: req.prefix.clone(),
                step: step_name(&st.step),
                missing: if st.step == Step::Copying {
                    st.missing_values().len()
                } else {
                    0
                },
            });
        }
    }
    // PUBLISH: only now may clients learn epoch e+1.
    let publish = Instant::now();
    client.write(
        metadata_key(&Key::from(req.prefix.as_str())),
        encode_metadata(&to),
    )?;
    let published = Instant::now();
    // The replicas beyond the majority: installed (and the old ones
    // sealed) in the background for a while.
    let until = published + STRAGGLERS_FOR;
    while !r.all_done(&st) && Instant::now() < until {
        for (src, m) in client.admin_round(std::mem::take(&mut out), Duration::from_millis(20))? {
            r.on_msg(&mut st, src, m, &mut out);
        }
        if Instant::now() >= retry_at {
            r.on_timeout(&mut st, &mut out);
            retry_at = Instant::now() + RETRY_AFTER;
        }
    }
    client.admin_round(std::mem::take(&mut out), Duration::ZERO)?;
    let names = |ids: Vec<Id>| ids.into_iter().map(|i| name(cfg, i)).collect();
    Ok(ReconfigReport {
        prefix: req.prefix.clone(),
        from_epoch: from.epoch,
        to_epoch: to.epoch,
        from: describe(cfg, &from),
        to: describe(cfg, &to),
        keys: st.stats.keys,
        seal_pages: st.stats.seal_pages,
        copied_bytes: st.stats.copied_bytes,
        install_pages: st.stats.install_pages,
        installed_bytes: st.stats.installed_bytes,
        retransmissions: st.stats.retransmissions,
        seal_ms: times.get("sealing").copied().unwrap_or(0.0),
        copy_ms: times.get("copying").copied().unwrap_or(0.0),
        install_ms: times.get("installing").copied().unwrap_or(0.0),
        publish_ms: ms(published - publish),
        total_ms: ms(published - start),
        sealed: names(st.sealed()),
        installed: names(st.active()),
    })
}
