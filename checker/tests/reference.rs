//! Every reference history gets the verdict porcupine's test suite expects.

use std::path::PathBuf;
use std::time::Instant;
use vivace_checker::formats::{read_file, Format};
use vivace_checker::models::{KvModel, RegisterModel};
use vivace_checker::{check_operations, CheckResult};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/porcupine")
}

#[test]
fn reference_histories_match_expected_verdicts() {
    let dir = data_dir();
    let expected = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap_or_else(|e| panic!("cannot read {}/expected.txt: {e}", dir.display()));
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in expected.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split_whitespace();
        let (name, verdict) = (f.next().unwrap(), f.next().expect("verdict"));
        let want = match verdict {
            "linearizable" => CheckResult::Ok,
            "illegal" => CheckResult::Illegal,
            other => panic!("unknown verdict {other} in expected.txt"),
        };
        let path = dir.join(name);
        let start = Instant::now();
        let got = if name.starts_with("jepsen/") {
            let h = read_file(&path, Some(Format::Jepsen)).unwrap();
            check_operations(&RegisterModel, &h.ops, None)
        } else {
            let h = read_file(&path, Some(Format::Kv)).unwrap();
            check_operations(&KvModel, &h.ops, None)
        };
        let t = start.elapsed();
        assert!(t.as_secs() < 20, "{name} took {t:?}");
        if got != want {
            wrong.push(format!("{name}: got {got:?}, want {want:?}"));
        }
        checked += 1;
    }
    assert_eq!(checked, 108, "expected.txt should list 108 histories");
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}
