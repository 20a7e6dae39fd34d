//! Smoke run of the WAN lab (`vivace_impl::lab`, docs/lab.md): the topology
//! comes up, EF and normal probes cross it with and without congestion,
//! every operation of every algorithm completes across the two sites with
//! and without congestion, and everything is torn down. Needs root, network
//! namespaces, `tc` and `ethtool`; without them it says why and skips.
//! Latency targets are measured by `vivace lab` and reported, not asserted
//! here (the machines are shared).

use std::time::Duration;
use vivace_impl::lab::{self, experiments, WanConfig};

fn options(dir: &str, seconds: u64) -> experiments::ExpOptions {
    experiments::ExpOptions {
        seconds,
        out_dir: std::env::temp_dir().join(format!("vivace-lab-{}-{dir}", std::process::id())),
        wan: WanConfig {
            delay: Duration::from_millis(20),
            ..WanConfig::default()
        },
        flood_mbit: 60,
        flows: 2,
        writeback_skip: None,
        requests: 3,
        systems: Vec::new(),
        steps: Vec::new(),
    }
}

#[test]
fn lab_smoke() {
    if let Err(e) = lab::check_available() {
        eprintln!("SKIPPED lab_smoke: {e}");
        return;
    }
    // Figure 4, short: probes of both classes came back in both phases.
    let o = options("fig4", 6);
    let rows = experiments::fig4(&o).expect("fig4 runs");
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert!(r.count > 0, "{r:?}");
        // 20 ms each way: no round trip can be shorter than 40 ms.
        assert!(r.min_ms >= 40.0, "{r:?}");
    }
    for f in ["fig4.csv", "fig4.svg", "fig4.md"] {
        assert!(o.out_dir.join(f).is_file(), "{f}");
    }
    // Figures 6 and 7, one second per series: every operation completes.
    for congested in [false, true] {
        let o = options(if congested { "fig7" } else { "fig6" }, 1);
        let rows = experiments::fig67(&o, congested).expect("fig6/7 runs");
        assert_eq!(rows.len(), 6);
        for r in &rows {
            assert!(r.count > 0 && r.failed == 0, "{r:?}");
            assert!(r.min_ms >= 40.0, "every operation crosses the WAN: {r:?}");
        }
    }
    assert_eq!(lab::leftovers().unwrap(), Vec::<String>::new(), "torn down");
}
