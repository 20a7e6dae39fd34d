//! etcd beside Vivace in the lab: a three-member etcd 3.4 cluster (Debian's
//! `etcd-server`), member m1 in site A with the client, m2 and m3 in site
//! B, reached through etcd's HTTP/JSON gateway (`/v3/kv/put`,
//! `/v3/kv/range`, linearizable reads) with a small HTTP/1.1 client of ours.

use super::{in_netns, Lab, LabError, SITE_A, SITE_B};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The members: name, site address, peer port, client port.
pub const MEMBERS: [(&str, IpAddr, u16, u16); 3] = [
    ("m1", SITE_A, 2380, 2379),
    ("m2", SITE_B, 2380, 2379),
    ("m3", SITE_B, 12380, 12379),
];

/// A running etcd cluster, stopped (and its data removed) when dropped.
pub struct Etcd {
    children: Vec<Child>,
    dir: PathBuf,
}

/// Standard base64 (the gateway's encoding of keys and values).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].iter().enumerate() {
            if i <= c.len() {
                s.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

impl Etcd {
    /// Starts the three members in their sites and waits until m1 answers
    /// a linearizable read (at most 30 s), then makes m1 (site A) the leader.
    pub fn start(lab: &Lab) -> Result<Etcd, LabError> {
        if !std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("etcd").is_file()))
        {
            return Err(LabError::Unavailable(
                "`etcd` is not installed (Debian: etcd-server)".into(),
            ));
        }
        let dir = std::env::temp_dir().join(format!("vivace-etcd-{}", lab.ns_a));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|source| LabError::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let cluster: Vec<String> = MEMBERS
            .iter()
            .map(|(m, ip, p, _)| format!("{m}=http://{ip}:{p}"))
            .collect();
        let mut etcd = Etcd {
            children: Vec::new(),
            dir: dir.clone(),
        };
        for (m, ip, peer, client) in MEMBERS {
            let ns = if ip == SITE_A { &lab.ns_a } else { &lab.ns_b };
            let log = std::fs::File::create(dir.join(format!("{m}.log"))).map_err(|source| {
                LabError::Io {
                    what: "creating an etcd log".into(),
                    source,
                }
            })?;
            let child = Command::new("ip")
                .args(["netns", "exec", ns, "etcd", "--name", m])
                .arg("--data-dir")
                .arg(dir.join(m))
                .args(["--listen-peer-urls", &format!("http://{ip}:{peer}")])
                .args([
                    "--initial-advertise-peer-urls",
                    &format!("http://{ip}:{peer}"),
                ])
                .args(["--listen-client-urls", &format!("http://{ip}:{client}")])
                .args(["--advertise-client-urls", &format!("http://{ip}:{client}")])
                .args(["--initial-cluster", &cluster.join(",")])
                .args([
                    "--initial-cluster-token",
                    "vivace-lab",
                    "--initial-cluster-state",
                    "new",
                ])
                // 100 ms round trips between the sites: a longer election
                // timeout than the default 1 s keeps congestion from
                // causing elections.
                .args(["--heartbeat-interval", "100", "--election-timeout", "2500"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(|e| LabError::Unavailable(format!("starting etcd: {e}")))?;
            etcd.children.push(child);
        }
        let end = Instant::now() + Duration::from_secs(30);
        let mut c = loop {
            if let Ok(mut c) = etcd.client(lab) {
                if c.get(b"vivace-lab-ready").is_ok() {
                    break c;
                }
            }
            if Instant::now() > end {
                return Err(LabError::Unavailable(format!(
                    "etcd did not become ready in 30 s (logs in {})",
                    dir.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        c.make_leader(0)?;
        Ok(etcd)
    }

    /// A client in site A, talking to m1.
    pub fn client(&self, lab: &Lab) -> Result<EtcdClient, LabError> {
        EtcdClient::connect(lab, 0)
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTP/1.1 keep-alive connection to one member's gateway.
pub struct EtcdClient {
    stream: BufReader<TcpStream>,
    ns: String,
    member: usize,
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io {
        what: what.to_string(),
        source,
    }
}

impl EtcdClient {
    /// Connects from site A to member `member`'s client port.
    pub fn connect(lab: &Lab, member: usize) -> Result<EtcdClient, LabError> {
        EtcdClient::connect_from(&lab.ns_a, member)
    }

    /// Connects from namespace `ns` to member `member`'s client port.
    pub fn connect_from(ns: &str, member: usize) -> Result<EtcdClient, LabError> {
        let (_, ip, _, port) = MEMBERS[member];
        let addr = SocketAddr::new(ip, port);
        let s = in_netns(ns, move || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        })?
        .map_err(io("connecting to etcd"))?;
        s.set_nodelay(true).ok();
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        Ok(EtcdClient {
            stream: BufReader::new(s),
            ns: ns.to_string(),
            member,
        })
    }

    /// One POST with a JSON body; the response body.
    fn post(&mut self, path: &str, body: &str) -> Result<String, LabError> {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: etcd\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream
            .get_mut()
            .write_all(req.as_bytes())
            .map_err(io("sending to etcd"))?;
        let mut line = String::new();
        self.stream
            .read_line(&mut line)
            .map_err(io("reading etcd's status line"))?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.stream
                .read_line(&mut line)
                .map_err(io("reading etcd's headers"))?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream
                    .read_line(&mut line)
                    .map_err(io("reading a chunk size"))?;
                let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                self.stream
                    .read_exact(&mut chunk)
                    .map_err(io("reading a chunk"))?;
                body.extend_from_slice(&chunk[..n]);
                if n == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.stream
                .read_exact(&mut body)
                .map_err(io("reading etcd's body"))?;
        }
        let body = String::from_utf8_lossy(&body).to_string();
        if status != 200 {
            return Err(LabError::Command {
                command: format!("etcd {path}"),
                stderr: format!("HTTP {status}: {body}"),
            });
        }
        Ok(body)
    }

    /// Writes `value` under `key`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), LabError> {
        self.post(
            "/v3/kv/put",
            &format!(r#"{{"key":"{}","value":"{}"}}"#, base64(key), base64(value)),
        )
        .map(|_| ())
    }

    /// A linearizable read of `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<String, LabError> {
        self.post(
            "/v3/kv/range",
            &format!(r#"{{"key":"{}","serializable":false}}"#, base64(key)),
        )
    }

    /// Makes member `target` the leader (etcd's MoveLeader), if it is not.
    pub fn make_leader(&mut self, target: usize) -> Result<(), LabError> {
        let json =
            |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default();
        // The gateway prints 64-bit ids as strings.
        let status = json(self.post("/v3/maintenance/status", "{}")?);
        let (Some(leader), Some(me)) = (
            status["leader"].as_str(),
            status["header"]["member_id"].as_str(),
        ) else {
            return Ok(());
        };
        if self.member != target || leader == me {
            return Ok(());
        }
        // Ask the leader to hand over (the request must go to the leader).
        let members = json(self.post("/v3/cluster/member/list", "{}")?);
        let url = members["members"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["ID"].as_str() == Some(leader))
            .and_then(|m| m["clientURLs"][0].as_str());
        let Some(url) = url else { return Ok(()) };
        let member = MEMBERS
            .iter()
            .position(|(_, ip, _, port)| url == format!("http://{ip}:{port}"))
            .unwrap_or(target);
        EtcdClient::connect_from(&self.ns, member)?.post(
            "/v3/maintenance/transfer-leadership",
            &format!(r#"{{"targetID":"{me}"}}"#),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
