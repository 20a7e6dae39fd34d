//! No busy polling: an idle five-server cluster uses (almost) no CPU.

use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};

/// utime + stime of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 here.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn idle_cluster_sleeps() {
    let mut cluster = LocalCluster::start(&LocalSpec::figure5(1)).expect("cluster starts");
    let mut c = cluster.client(0).unwrap();
    c.write("rw/x", "1").unwrap();
    std::thread::sleep(Duration::from_millis(500)); // let retransmission timers expire
    let before = cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks() - before;
    // Clock ticks are 10 ms; five busy-polling threads would use ~100 per second.
    assert!(used <= 5, "an idle cluster used {used} ticks in one second");
}
