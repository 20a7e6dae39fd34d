//! The `vivace` binary end to end: five `vivace serve` processes on
//! loopback from a TOML file, then `put`, `get` and `exec` through the CLI,
//! their history checked, and `vivace bench --config` against them; and
//! `vivace demo --json`.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_vivace");

struct Servers(Vec<Child>);
impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn vivace(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN).args(args).output().expect("runs vivace");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).trim().to_string(),
        String::from_utf8_lossy(&o.stderr).trim().to_string(),
    )
}

#[test]
fn serve_and_cli_clients() {
    let dir = std::env::temp_dir().join(format!("vivace-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = String::from("sites = [\"A\", \"B\"]\n");
    for (i, site) in [(1, "A"), (2, "B"), (3, "B"), (4, "A"), (5, "A")] {
        toml += &format!(
            "[[nodes]]\nname = \"n{i}\"\nid = {i}\nsite = \"{site}\"\npriority = \"127.0.0.1:{}\"\nnormal = \"127.0.0.1:{}\"\n",
            free_port(),
            free_port()
        );
    }
    for (i, id) in [(1, 64), (2, 65)] {
        toml += &format!(
            "[[clients]]\nname = \"c{i}\"\nid = {id}\nsite = \"A\"\npriority = \"127.0.0.1:{}\"\nnormal = \"127.0.0.1:{}\"\n",
            free_port(),
            free_port()
        );
    }
    for (prefix, a) in [
        ("abd/", "abd"),
        ("rw/", "vivace_rw"),
        ("lan/", "lan_rmw"),
        ("rmw/", "vivace_rmw"),
    ] {
        toml += &format!(
            "[[containers]]\nprefix = \"{prefix}\"\nalgorithm = \"{a}\"\nreplicas = [\"n1\", \"n2\", \"n3\"]\nlocal_sets = {{ A = [\"n1\", \"n4\", \"n5\"] }}\n"
        );
    }
    let cfg = dir.join("cluster.toml");
    std::fs::write(&cfg, toml).unwrap();
    let cfg = cfg.to_str().unwrap();
    let _servers = Servers(
        (1..=5)
            .map(|i| {
                Command::new(BIN)
                    .args(["serve", "--config", cfg, "--node", &format!("n{i}")])
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("vivace serve starts")
            })
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let hist = dir.join("history.jsonl");
    let _ = std::fs::remove_file(&hist);
    let h = hist.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--config", cfg, "--history", h]);
        vivace(&a)
    };
    assert!(run(&["put", "rw/k", "hello"]).0);
    assert_eq!(run(&["get", "rw/k"]).1, "hello");
    assert!(run(&["put", "abd/k", "x", "--client", "c2"]).0);
    assert_eq!(run(&["get", "abd/k"]).1, "x");
    assert_eq!(run(&["exec", "rmw/n", "increment"]).1, "1");
    assert_eq!(
        run(&["exec", "rmw/n", "cas", "1", "7", "--client", "c2"]).1,
        "true"
    );
    assert_eq!(run(&["exec", "lan/n", "append", "ab"]).1, "ab");
    let (ok, _, err) = run(&["get", "nowhere/k"]);
    assert!(!ok && err.contains("no container"), "{err}");
    let (ok, _, err) = run(&["exec", "rw/k", "increment"]);
    assert!(!ok && err.contains("not an operation"), "{err}");
    let text = std::fs::read_to_string(&hist).unwrap();
    assert_eq!(text.lines().count(), 18, "{text}");
    let verdict = vivace_impl::history::check_jsonl(&text, Duration::from_secs(10));
    assert_eq!(verdict, vivace_impl::Verdict::Linearizable);
    // The benchmark against the running cluster, from its two clients.
    let (ok, out, err) = vivace(&[
        "bench",
        "--config",
        cfg,
        "--algorithm",
        "vivace_rw",
        "--clients",
        "2",
        "--duration",
        "0.5",
        "--json",
    ]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(r["completed"].as_u64().unwrap() > 10, "{out}");
    assert_eq!(r["errors"], 0, "{out}");
    assert_eq!(r["traffic_scope"], "clients");
    assert!(r["traffic"]["priority"]["datagrams"].as_u64().unwrap() > 0);
    let (ok, _, err) = vivace(&[
        "bench",
        "--config",
        cfg,
        "--clients",
        "3",
        "--duration",
        "0.1",
    ]);
    assert!(!ok && err.contains("3 clients asked for"), "{err}");
    // The audit of Section 4.3: every server answers, nothing is lost.
    let (ok, out, err) = vivace(&["audit", "--config", cfg, "--json"]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["lost"], serde_json::json!({}), "{out}");
    assert_eq!(r["answered"].as_array().unwrap().len(), 5, "{out}");
    assert_eq!(r["silent"], serde_json::json!([]), "{out}");
    // A bad configuration names file and line.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "sites = [\"A\"]\n[[nodes]]\nname = 3\n").unwrap();
    let (ok, _, err) = vivace(&["serve", "--config", bad.to_str().unwrap(), "--node", "n1"]);
    assert!(!ok && err.contains("bad.toml:3"), "{err}");
}

#[test]
fn demo_json() {
    let (ok, out, err) = vivace(&["demo", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["verdict"], "linearizable");
    assert_eq!(v["operations"], 1000);
    assert!(v["traffic"]["priority"]["datagrams"].as_u64().unwrap() > 0);
    assert!(v["traffic"]["normal"]["bytes"].as_u64().unwrap() > 0);
}

/// `bench --local --curves`: one run per point of both sweeps for each of
/// the four algorithms, and the three plots with one line per algorithm.
#[test]
fn bench_curves() {
    let dir = std::env::temp_dir().join(format!("vivace-curves-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (ok, out, err) = vivace(&[
        "bench",
        "--local",
        "--curves",
        dir.to_str().unwrap(),
        "--sweep",
        "1,2",
        "--contention",
        "1,8",
        "--contention-clients",
        "2",
        "--duration",
        "0.2",
        "--json",
    ]);
    assert!(ok, "{err}");
    let points: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(points.len(), 4 * 4, "{out}");
    for p in &points {
        assert!(p["result"]["completed"].as_u64().unwrap() > 0, "{p}");
    }
    for svg in [
        "throughput-vs-clients.svg",
        "latency-vs-throughput.svg",
        "throughput-vs-contention.svg",
    ] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert_eq!(text.matches("<polyline").count(), 4, "{svg}");
        for a in ["abd", "vivace_rw", "lan_rmw", "vivace_rmw"] {
            assert!(text.contains(&format!(">{a}</text>")), "{svg} names {a}");
        }
    }
    let md = std::fs::read_to_string(dir.join("curves.md")).unwrap();
    assert_eq!(md.lines().count(), 2 + 16);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The directory service (Section 3.1) through the CLI: six `vivace
/// serve` from `configs/directory.toml` with fresh ports, `dir init`
/// (twice: the second leaves the directory alone), `dir show`, `put`,
/// `reconfig` of rw/ to n2, n3, n6 (n6 is in no replica set of the file),
/// then n1 killed and the value read back from the new replica set.
#[test]
fn directory_and_reconfig() {
    let dir = std::env::temp_dir().join(format!("vivace-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/directory.toml");
    let mut toml = std::fs::read_to_string(example).unwrap();
    for port in (7121..=7126)
        .chain(7221..=7226)
        .chain(7321..=7323)
        .chain(7421..=7423)
    {
        toml = toml.replace(&format!(":{port}\""), &format!(":{}\"", free_port()));
    }
    let cfg = dir.join("directory.toml");
    std::fs::write(&cfg, toml).unwrap();
    let cfg = cfg.to_str().unwrap();
    let mut servers = Servers(
        (1..=6)
            .map(|i| {
                Command::new(BIN)
                    .args(["serve", "--config", cfg, "--node", &format!("n{i}")])
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("vivace serve starts")
            })
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--config", cfg]);
        vivace(&a)
    };
    let (ok, out, err) = run(&["dir", "init", "--client", "admin"]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("wrote epoch 1").count(), 4, "{out}");
    let (ok, out, _) = run(&["dir", "init", "--client", "admin"]);
    assert!(ok && out.matches("left alone").count() == 4, "{out}");
    assert!(run(&["put", "rw/k", "hello"]).0);
    let (ok, out, err) = run(&[
        "reconfig",
        "--prefix",
        "rw/",
        "--replicas",
        "n2,n3,n6",
        "--client",
        "admin",
        "--json",
    ]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["from_epoch"].as_u64(), r["to_epoch"].as_u64()),
        (Some(1), Some(2)),
        "{out}"
    );
    assert_eq!(r["keys"], 1, "{out}");
    assert!(r["total_ms"].as_f64().unwrap() > 0.0);
    let (ok, out, err) = run(&["dir", "show", "--prefix", "rw/", "--client", "admin"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "rw/: epoch 2 vivace_rw replicas n2,n3,n6 local sets A=n1,n4,n5 B=n2,n3"
    );
    // n1 left rw/: kill it; the value is at n2, n3, n6.
    let _ = servers.0[0].kill();
    let _ = servers.0[0].wait();
    assert_eq!(run(&["get", "rw/k"]).1, "hello");
    assert!(run(&["put", "rw/k", "again", "--client", "c2"]).0);
    assert_eq!(run(&["get", "rw/k"]).1, "again");
    // Errors: an unknown server, a prefix of no container, no [directory].
    let (ok, _, err) = run(&[
        "reconfig",
        "--prefix",
        "rw/",
        "--replicas",
        "n2,n9",
        "--client",
        "admin",
    ]);
    assert!(!ok && err.contains("\"n9\" is not a server"), "{err}");
    let (ok, _, err) = run(&["dir", "show", "--prefix", "nope/", "--client", "admin"]);
    assert!(!ok && err.contains("no container with prefix"), "{err}");
    let plain = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/figure5.toml");
    let (ok, _, err) = vivace(&["dir", "show", "--config", plain]);
    assert!(!ok && err.contains("no [directory] section"), "{err}");
}
