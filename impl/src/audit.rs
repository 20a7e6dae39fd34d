//! `vivace audit` (Section 4.3): after a site disaster, the keys whose
//! replicas hold a timestamp without its value, the data that was lost
//! with the destroyed local replicas. Each live server is asked with
//! [`Msg::Audit`], page by page, from the sockets of a configured client
//! (servers drop datagrams from strangers); a server that does not answer
//! is reported as such, not skipped silently.

use crate::config::{canonical, ClusterConfig, Role};
use crate::net::Sockets;
use crate::wire;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use vivace_spec::{Key, Msg, Ts};

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The client named is not in the configuration.
    #[error("no client {0:?} in the configuration")]
    UnknownClient(String),
    /// Binding the client's sockets failed.
    #[error("binding the sockets of client {name:?}: {source}")]
    Bind {
        /// The client.
        name: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A send or receive failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What the audit found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    /// Each key some server holds without its value: the timestamp and
    /// the servers that miss it.
    pub lost: BTreeMap<String, (Ts, Vec<String>)>,
    /// Servers that answered every page.
    pub answered: Vec<String>,
    /// Servers that did not answer within the timeout (down, or
    /// unreachable).
    pub silent: Vec<String>,
}

/// Asks every server of `cfg` for its missing values, from client `client`'s
/// addresses; `timeout` per page.
pub fn audit(
    cfg: &ClusterConfig,
    client: &str,
    timeout: Duration,
) -> Result<AuditReport, AuditError> {
    let me = cfg
        .node(client)
        .filter(|n| n.role == Role::Client)
        .ok_or_else(|| AuditError::UnknownClient(client.into()))?;
    let s = Sockets::bind(me.priority, me.normal, cfg.marks, false).map_err(|source| {
        AuditError::Bind {
            name: client.into(),
            source,
        }
    })?;
    // The runtime's sockets are non-blocking; the audit waits with a
    // read timeout instead.
    s.normal
        .set_nonblocking(false)
        .map_err(|source| AuditError::Io {
            what: "making the socket blocking".into(),
            source,
        })?;
    let mut report = AuditReport::default();
    // Every server is asked at once, page after page: one round waits at
    // most `timeout`, however many servers are down.
    let servers: Vec<_> = cfg
        .nodes
        .iter()
        .filter(|n| n.role == Role::Server)
        .collect();
    let mut after: Vec<Option<Key>> = vec![None; servers.len()];
    let mut pending: Vec<usize> = (0..servers.len()).collect();
    let mut req = 0;
    while !pending.is_empty() {
        req += 1;
        for &i in &pending {
            let msg = Msg::Audit {
                req,
                after: after[i].clone(),
            };
            let bytes = wire::encode(&msg).expect("an audit request fits a datagram");
            s.normal
                .send_to(&bytes, servers[i].normal)
                .map_err(|source| AuditError::Io {
                    what: format!("sending AUDIT to {}", servers[i].name),
                    source,
                })?;
        }
        let addrs: Vec<_> = pending.iter().map(|&i| servers[i].normal).collect();
        let replies = wait_replies(&s, &addrs, req, timeout)?;
        let mut next = Vec::new();
        for (&i, reply) in pending.iter().zip(replies) {
            let name = &servers[i].name;
            let Some((missing, more)) = reply else {
                report.silent.push(name.clone());
                continue;
            };
            for (k, ts) in missing {
                let key = String::from_utf8_lossy(k.as_slice()).into_owned();
                let e = report.lost.entry(key).or_insert((ts, Vec::new()));
                e.0 = e.0.max(ts);
                e.1.push(name.clone());
                after[i] = Some(k);
            }
            if more {
                next.push(i);
            } else {
                report.answered.push(name.clone());
            }
        }
        pending = next;
    }
    report.answered.sort();
    report.silent.sort();
    Ok(report)
}

/// The ACK-AUDIT of request `req` from each of `from`, `None` for those
/// that did not answer within `timeout`.
#[allow(clippy::type_complexity)]
fn wait_replies(
    s: &Sockets,
    from: &[std::net::SocketAddr],
    req: u32,
    timeout: Duration,
) -> Result<Vec<Option<(Vec<(Key, Ts)>, bool)>>, AuditError> {
    let deadline = Instant::now() + timeout;
    let mut got: Vec<Option<(Vec<(Key, Ts)>, bool)>> = vec![None; from.len()];
    let mut buf = vec![0u8; wire::MAX_DATAGRAM];
    while got.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        s.normal
            .set_read_timeout(Some(left))
            .map_err(|source| AuditError::Io {
                what: "setting a timeout".into(),
                source,
            })?;
        let (len, src) = match s.normal.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(source) => {
                return Err(AuditError::Io {
                    what: "receiving ACK-AUDIT".into(),
                    source,
                })
            }
        };
        let Some(i) = from.iter().position(|a| canonical(*a) == canonical(src)) else {
            continue;
        };
        // Anything else from that server (another reply, a malformed
        // datagram) is skipped.
        for m in wire::decode_batch(&buf[..len]).unwrap_or_default() {
            if let Msg::AckAudit {
                req: r,
                missing,
                more,
            } = m
            {
                if r == req {
                    got[i] = Some((missing, more));
                }
            }
        }
    }
    Ok(got)
}
