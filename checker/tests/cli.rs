//! The `vivace-check` binary: exit codes, JSON output, input errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vivace_checker::formats::write_jsonl;
use vivace_checker::gen::{generate, GenConfig, Workload};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vivace-check"))
}

fn data() -> PathBuf {
    testdata("porcupine")
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn tmp(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vivace-check-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    bin().args(args).output().expect("run vivace-check")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit code 3, a message naming file and line, and no panic.
fn assert_input_error(path: &Path, extra: &[&str], line: usize, reason: &str) {
    let mut args: Vec<&std::ffi::OsStr> = extra.iter().map(|s| s.as_ref()).collect();
    args.push(path.as_os_str());
    let o = run(&args);
    let err = stderr(&o);
    assert_eq!(code(&o), 3, "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let want = format!("{}:{line}:", path.display());
    assert!(err.contains(&want), "expected {want:?} in {err:?}");
    assert!(err.contains(reason), "expected {reason:?} in {err:?}");
}

#[test]
fn verdict_exit_codes() {
    let ok = run(&[data().join("jepsen/etcd_002.log").as_os_str()]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    let bad = run(&[data().join("jepsen/etcd_000.log").as_os_str()]);
    assert_eq!(code(&bad), 1);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("illegal"), "{text}");
    assert!(text.contains("could not come next"), "{text}");
    let v_ok = run(&[testdata("vivace-ok.jsonl").as_os_str()]);
    assert_eq!(code(&v_ok), 0, "{}", String::from_utf8_lossy(&v_ok.stdout));
    let v_bad = run(&[testdata("vivace-bad.jsonl").as_os_str()]);
    assert_eq!(code(&v_bad), 1);
    // Several files: illegal wins over linearizable.
    let both = run(&[
        testdata("vivace-ok.jsonl").as_os_str(),
        testdata("vivace-bad.jsonl").as_os_str(),
    ]);
    assert_eq!(code(&both), 1);
}

#[test]
fn json_output_one_object_per_file() {
    let o = bin()
        .arg("--json")
        .arg(data().join("kv/c10-ok.txt"))
        .arg(data().join("kv/c10-bad.txt"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], "linearizable");
    assert_eq!(lines[1]["verdict"], "illegal");
    assert_eq!(lines[0]["operations"], 337);
    assert_eq!(lines[0]["partitions"], 10);
    assert!(lines[0]["seconds"].as_f64().unwrap() >= 0.0);
    assert!(lines[1]["file"].as_str().unwrap().ends_with("c10-bad.txt"));
}

#[test]
fn timeout_gives_unknown_exit_2() {
    let cfg = GenConfig {
        ops: 4000,
        clients: 8,
        stretch: 5,
        unknown_percent: 0,
        fail_percent: 0,
        workload: Workload::Vivace { keys: 1 },
    };
    let h = generate(&cfg, 3);
    let p = tmp("big.jsonl", write_jsonl(&h).as_bytes());
    let o = bin()
        .args(["--timeout", "0", "--json"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"unknown\""));
    let full = bin().arg(&p).output().unwrap();
    assert_eq!(code(&full), 0, "{}", String::from_utf8_lossy(&full.stdout));
}

#[test]
fn malformed_inputs_give_code_3_with_line() {
    let good = r#"{"type":"invoke","client":1,"op":"write","key":"a","value":"x","time":1}
{"type":"ok","client":1,"time":2}
"#;
    // Truncated last line.
    let p = tmp(
        "trunc.jsonl",
        format!("{good}{{\"type\":\"invoke\",\"client\":1,\"op\":\"wr").as_bytes(),
    );
    assert_input_error(&p, &[], 3, "invalid record");
    // Unknown operation.
    let p = tmp(
        "unknown-op.jsonl",
        format!("{good}{{\"type\":\"invoke\",\"client\":1,\"op\":\"delete\",\"key\":\"a\",\"time\":5}}\n")
            .as_bytes(),
    );
    assert_input_error(&p, &[], 3, "unknown operation");
    // Unknown command.
    let p = tmp(
        "unknown-cmd.jsonl",
        b"{\"type\":\"invoke\",\"client\":1,\"op\":\"execute\",\"key\":\"a\",\"command\":\"mul\",\"time\":5}\n",
    );
    assert_input_error(&p, &[], 1, "unknown command");
    // Completion without an invocation.
    let p = tmp(
        "orphan.jsonl",
        format!("{good}{{\"type\":\"ok\",\"client\":2,\"time\":7}}\n").as_bytes(),
    );
    assert_input_error(&p, &[], 3, "without an invocation");
    // Completion before its invocation.
    let p = tmp(
        "backwards.jsonl",
        b"{\"type\":\"invoke\",\"client\":1,\"op\":\"read\",\"key\":\"a\",\"time\":5}\n{\"type\":\"ok\",\"client\":1,\"time\":4}\n",
    );
    assert_input_error(&p, &[], 2, "before the invocation");
    // Jepsen: truncated line, completion without invocation, unknown op.
    let p = tmp(
        "trunc.log",
        b"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\n",
    );
    assert_input_error(&p, &[], 2, "missing operation");
    let p = tmp("orphan.log", b"INFO  jepsen.util - 3\t:ok\t:write\t1\n");
    assert_input_error(&p, &[], 1, "without an invocation");
    let p = tmp(
        "op.log",
        b"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:invoke\t:frob\t1\n",
    );
    assert_input_error(&p, &[], 2, "unknown operation");
    // kv: truncated string, completion without invocation.
    let p = tmp(
        "trunc.txt",
        b"{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9",
    );
    assert_input_error(&p, &[], 1, "truncated line");
    let p = tmp(
        "orphan.txt",
        b"{:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n{:process 1, :type :ok, :f :get, :key \"0\", :value \"\"}\n{:process 2, :type :ok, :f :get, :key \"0\", :value \"\"}\n",
    );
    assert_input_error(&p, &["--format", "kv"], 3, "without an invocation");
    // An operation the chosen model does not define.
    let p = data().join("jepsen/etcd_000.log");
    assert_input_error(&p, &["--model", "kv"], 1, "not supported by model kv");
}

#[test]
fn unreadable_inputs_give_code_3() {
    let missing = run(&[std::ffi::OsStr::new("/nonexistent/history.jsonl")]);
    assert_eq!(code(&missing), 3);
    assert!(stderr(&missing).contains("/nonexistent/history.jsonl"));
    let binary = tmp("garbage.bin", &[0xff, 0xfe, 0x00, 0x41, 0x80]);
    let o = run(&[binary.as_os_str()]);
    assert_eq!(code(&o), 3);
    assert!(!stderr(&o).contains("panicked"));
    let usage = run(&[std::ffi::OsStr::new("--frobnicate")]);
    assert_eq!(code(&usage), 3);
    let file = data().join("jepsen/etcd_002.log");
    for (t, want) in [("1e30", 0), ("-1", 3), ("NaN", 3), ("soon", 3)] {
        let o = bin().arg("--timeout").arg(t).arg(&file).output().unwrap();
        assert_eq!(code(&o), want, "--timeout {t}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}

#[test]
fn memory_limit_gives_unknown_exit_2() {
    // Key "0" of c50-bad alone is a very hard (legal-looking) partition: its
    // search grows memory quickly.
    let text = std::fs::read_to_string(data().join("kv/c50-bad.txt")).unwrap();
    let key0: String = text
        .lines()
        .filter(|l| l.contains(":key \"0\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let p = tmp("c50-bad-key0.txt", key0.as_bytes());
    let o = bin()
        .args(["--max-memory", "150", "--timeout", "60"])
        .arg(&p)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 2, "{out}");
    assert!(
        out.contains("unknown") && out.contains("memory limit"),
        "{out}"
    );
}
