//! Section 4.3: when the replicas know the timestamp of the latest value
//! but none of them has the value (the local replicas that held it are
//! gone), a read reports `ValueLost` with that timestamp instead of hanging.
//! The situation is made by sending W-TS for a value that was never stored
//! straight to the replicas, from a cluster member's address.

use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::wire;
use vivace_impl::ClientError;
use vivace_spec::{Msg, Ts};

#[test]
fn read_of_a_lost_value() {
    let mut cluster = LocalCluster::start(&LocalSpec::figure5(2)).expect("cluster starts");
    let member = cluster.take_sockets(1).expect("sockets of c1").priority;
    let lost = Ts {
        time: u64::MAX / 2,
        node: 65,
    };
    for n in ["n1", "n2", "n3"] {
        let to = cluster.config.node(n).unwrap().priority;
        let m = Msg::WTs {
            req: 1,
            key: "rw/lost".into(),
            ts: lost,
        };
        member.send_to(&wire::encode(&m).unwrap(), to).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut c = cluster.client(0).unwrap();
    c.set_timeout(Duration::from_millis(700));
    match c.read("rw/lost") {
        Err(ClientError::ValueLost(Some(ts))) => assert_eq!(ts, lost),
        other => panic!("expected ValueLost, got {other:?}"),
    }
    // Other keys are unaffected.
    c.write("rw/fine", "ok").unwrap();
    assert_eq!(c.read("rw/fine").unwrap().as_slice(), b"ok");
}
