//! The encoded size of every message type for a 16-byte key and a 1 KiB
//! value (printed; run with `--nocapture`); every priority message must fit
//! in 40 bytes. Values of 32 KiB work on every algorithm; larger ones than a
//! datagram are refused with an error that names the limit.

use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::wire::{self, MAX_VALUE};
use vivace_impl::ClientError;
use vivace_spec::{Class, Command};

#[test]
fn message_sizes() {
    println!("{:<14} {:<8} {:>6}", "message", "class", "bytes");
    let mut priority_max = 0;
    for m in wire::examples(16, 1024) {
        let n = wire::encode(&m).unwrap().len();
        println!(
            "{:<14} {:<8} {:>6}",
            m.name(),
            format!("{:?}", m.class()),
            n
        );
        if m.class() == Class::Priority {
            assert!(n <= 40, "{} is {n} bytes", m.name());
            priority_max = priority_max.max(n);
        } else if matches!(
            m,
            vivace_spec::Msg::WLocal { .. } | vivace_spec::Msg::AckRData { .. }
        ) {
            assert!(n > 1024, "{} carries the value", m.name());
        }
    }
    println!("largest priority message: {priority_max} bytes");
}

#[test]
fn large_values() {
    let mut cluster = LocalCluster::start(&LocalSpec::figure5(1)).expect("cluster starts");
    let mut c = cluster.client(0).unwrap();
    c.set_timeout(Duration::from_secs(5));
    let big = "x".repeat(32 * 1024);
    for key in ["abd/big", "rw/big"] {
        c.write(key, big.as_str()).unwrap();
        assert_eq!(c.read(key).unwrap().len(), 32 * 1024, "{key}");
    }
    for key in ["lan/big", "rmw/big"] {
        let v = c
            .execute(key, Command::Append(big.as_str().into()))
            .unwrap();
        assert_eq!(v.len(), 32 * 1024, "{key}");
        let v = c.execute(key, Command::Append("y".into())).unwrap();
        assert_eq!(v.len(), 32 * 1024 + 1, "{key}");
    }
    let huge = "z".repeat(70_000);
    match c.write("rw/huge", huge.as_str()) {
        Err(e @ ClientError::ValueTooLarge { .. }) => {
            assert!(e.to_string().contains(&MAX_VALUE.to_string()), "{e}");
        }
        other => panic!("expected ValueTooLarge, got {other:?}"),
    }
}
