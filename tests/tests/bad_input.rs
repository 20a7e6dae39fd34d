//! Bad input at both sockets of a server: random bytes, truncated
//! messages, oversized datagrams, a wrong version byte, an empty datagram,
//! a message on the socket of the other class, batches with a bad or
//! misclassed member, and datagrams from strangers.
//! Each is dropped and counted under its reason, and the node keeps serving.

mod common;

use common::eventually;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;
use vivace_impl::cluster::{LocalCluster, LocalSpec};
use vivace_impl::net::{CounterSnapshot, Rng};
use vivace_impl::wire::{self, WireError, VERSION};
use vivace_spec::{Class, Msg};

#[derive(Default, Debug, PartialEq)]
struct Expected {
    version: u64,
    malformed: u64,
    stranger: u64,
    wrong_socket: u64,
}

fn dropped(c: &CounterSnapshot) -> u64 {
    c.dropped_received()
}

#[test]
fn bad_datagrams_are_dropped_and_counted() {
    let mut cluster = LocalCluster::start(&LocalSpec::figure5(2)).expect("cluster starts");
    // Client c1's sockets: datagrams from them come from a cluster address.
    let member = cluster.take_sockets(1).expect("sockets of c1");
    let member = member.priority;
    member.set_nonblocking(false).unwrap();
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let n1 = cluster.config.node("n1").unwrap().clone();
    let before = cluster.server_counters("n1").unwrap();
    let mut exp = Expected::default();
    let mut sent = 0u64;
    let mut send = |sock: &UdpSocket, to: SocketAddr, d: &[u8]| {
        sock.send_to(d, to).expect("send");
        sent += 1;
        let want = dropped(&before) + sent;
        assert!(
            eventually(Duration::from_secs(5), || dropped(
                &cluster.server_counters("n1").unwrap()
            ) >= want),
            "datagram {sent} was not counted as dropped"
        );
    };
    let mut rng = Rng::new(5);
    let rts = wire::encode(&Msg::RTs {
        req: 7,
        key: "rw/key-of-16-byte".into(),
    })
    .unwrap();
    let wlocal = wire::encode(&Msg::WLocal {
        req: 8,
        key: "rw/k".into(),
        ts: Default::default(),
        val: vec![b'v'; 300].into(),
    })
    .unwrap();
    for (to, class) in [(n1.priority, Class::Priority), (n1.normal, Class::Normal)] {
        // Random bytes (half of them behind a valid version byte), keeping
        // the ones that are not a valid message.
        for _ in 0..200 {
            let len = 1 + (rng.next_u64() % 200) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            if rng.next_u64().is_multiple_of(2) {
                d[0] = VERSION;
            }
            match wire::decode_batch(&d) {
                Ok(_) => continue,
                Err(WireError::Version { .. }) | Err(WireError::Empty) => exp.version += 1,
                Err(_) => exp.malformed += 1,
            }
            send(&member, to, &d);
        }
        // Every truncation of valid messages.
        for m in [&rts, &wlocal] {
            for cut in 1..m.len() {
                send(&member, to, &m[..cut]);
                exp.malformed += 1;
            }
        }
        // Oversized: far larger than any message, junk after the version.
        let mut big = vec![0xffu8; 60_000];
        big[0] = VERSION;
        send(&member, to, &big);
        exp.malformed += 1;
        // Wrong version, and empty.
        let mut v2 = rts.clone();
        v2[0] = VERSION + 1;
        send(&member, to, &v2);
        send(&member, to, &[]);
        exp.version += 2;
        // A valid message on the other class's socket.
        let other = if class == Class::Priority {
            &wlocal
        } else {
            &rts
        };
        send(&member, to, other);
        exp.wrong_socket += 1;
        // Batches: a valid message then a cut one is dropped whole; a batch
        // that mixes the classes is on the wrong socket for one of them.
        let own = if class == Class::Priority {
            &rts
        } else {
            &wlocal
        };
        let mut cut = own.clone();
        cut.extend_from_slice(&own[1..own.len() - 1]);
        send(&member, to, &cut);
        exp.malformed += 1;
        let mut mixed = own.clone();
        mixed.extend_from_slice(&other[1..]);
        send(&member, to, &mixed);
        exp.wrong_socket += 1;
        // Valid messages from a stranger.
        send(&stranger, to, &rts);
        send(&stranger, to, &wlocal);
        exp.stranger += 2;
    }
    let after = cluster.server_counters("n1").unwrap();
    let got = Expected {
        version: after.dropped_version - before.dropped_version,
        malformed: after.dropped_malformed - before.dropped_malformed,
        stranger: after.dropped_stranger - before.dropped_stranger,
        wrong_socket: after.dropped_wrong_socket - before.dropped_wrong_socket,
    };
    assert_eq!(got, exp);
    assert!(exp.version > 0 && exp.malformed > 0);
    // The node keeps serving: every algorithm works through it.
    let mut c = cluster.client(0).expect("client");
    c.set_timeout(Duration::from_secs(5));
    c.write("abd/a", "1").unwrap();
    assert_eq!(c.read("abd/a").unwrap().as_slice(), b"1");
    c.write("rw/a", "2").unwrap();
    assert_eq!(c.read("rw/a").unwrap().as_slice(), b"2");
    assert_eq!(
        c.execute("lan/a", vivace_spec::Command::Increment)
            .unwrap()
            .as_slice(),
        b"1"
    );
    assert_eq!(
        c.execute("rmw/a", vivace_spec::Command::Increment)
            .unwrap()
            .as_slice(),
        b"1"
    );
    let served = cluster.server_counters("n1").unwrap();
    assert!(
        served.received_priority + served.received_normal
            > after.received_priority + after.received_normal
    );
}
