//! The HTML report opens in headless Chromium without console errors, shows
//! one row per client and jumps to the first problem of an illegal history.

use std::path::{Path, PathBuf};
use std::process::Command;
use vivace_checker::formats::{read_file, Format};
use vivace_checker::models::RegisterModel;
use vivace_checker::{analyze, CheckOptions};

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Loads `report#selftest` and returns (self-test JSON, console lines).
fn open(chrome: &Path, report: &Path) -> (serde_json::Value, Vec<String>) {
    let profile = std::env::temp_dir().join(format!(
        "vivace-check-chromium-{}-{}",
        std::process::id(),
        report.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let out = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}#selftest", report.display()))
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"selftest\">")
        .unwrap_or_else(|| panic!("no self-test output in DOM: {dom}"))
        + "<pre id=\"selftest\">".len();
    let end = start + dom[start..].find("</pre>").expect("end of pre");
    let json = unescape(&dom[start..end]);
    let v: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("self-test output {json:?}: {e}"));
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (v, console)
}

#[test]
fn report_opens_in_chromium() {
    let Some(chrome) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium not found, but CI is set: CI must install it");
        }
        eprintln!("skipping: /usr/bin/chromium not found (apt-get install chromium)");
        return;
    };
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/porcupine");
    let dir = std::env::temp_dir().join(format!("vivace-check-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    for (name, illegal) in [("etcd_000", true), ("etcd_002", false)] {
        let file = data.join(format!("jepsen/{name}.log"));
        let report = dir.join(format!("{name}.html"));
        let status = Command::new(env!("CARGO_BIN_EXE_vivace-check"))
            .arg(&file)
            .arg("--html")
            .arg(&report)
            .output()
            .unwrap();
        assert_eq!(status.status.code(), Some(if illegal { 1 } else { 0 }));
        let html = std::fs::read_to_string(&report).unwrap();
        // Self-contained: nothing loaded from elsewhere (the SVG namespace
        // URI is an identifier, not a fetch).
        for bad in [
            "src=",
            "href=",
            "url(",
            "<link",
            "@import",
            "fetch(",
            "XMLHttpRequest",
        ] {
            assert!(!html.contains(bad), "report contains {bad:?}");
        }

        // What the page should show, computed independently.
        let h = read_file(&file, Some(Format::Jepsen)).unwrap();
        let a = analyze(&RegisterModel, &h.ops, &CheckOptions::default());
        let (v, console) = open(&chrome, &report);
        assert!(console.is_empty(), "console output: {console:#?}");
        assert_eq!(v["errors"], serde_json::json!([]));
        assert_eq!(v["rows"].as_u64().unwrap() as usize, h.clients());
        assert_eq!(v["boxes"].as_u64().unwrap() as usize, h.ops.len());
        // One linearization point per step of the shown partition.
        let shown = a
            .explanation
            .as_ref()
            .map_or(a.partitions[0].linearization.len(), |e| e.longest.len());
        assert_eq!(v["points"].as_u64().unwrap() as usize, shown);
        if illegal {
            let e = a.explanation.expect("explanation");
            let first = *e
                .stuck
                .iter()
                .min_by_key(|&&i| h.ops[i].return_time())
                .unwrap();
            assert_eq!(v["problem"], format!("op-{first}"));
            let text = v["problemText"].as_str().unwrap();
            assert!(
                !text.starts_with('#'),
                "a stuck op is not linearized: {text}"
            );
        } else {
            assert_eq!(v["problem"], serde_json::Value::Null);
        }
    }
}
