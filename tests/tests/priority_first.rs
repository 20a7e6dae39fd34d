//! Received priority datagrams are handled before normal ones: a normal
//! STORE (ts 5) and then a priority R-TS of the same key are both waiting
//! when the server's loop runs; R-TS must be answered with the timestamp
//! from before the STORE.

use std::net::SocketAddr;
use std::time::Duration;
use vivace_impl::config::{ClusterConfig, ContainerConfig, Marks, NodeConfig, Role};
use vivace_impl::net::Sockets;
use vivace_impl::runtime::{server_actor, Driver, RuntimeOptions};
use vivace_impl::wire;
use vivace_spec::{Algorithm, Msg, TimestampMode, Ts};

#[test]
fn priority_socket_is_drained_first() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let marks = Marks::default();
    let server = Sockets::bind(any, any, marks, false).unwrap();
    let me = Sockets::bind(any, any, marks, false).unwrap();
    me.priority.set_nonblocking(false).unwrap();
    me.normal.set_nonblocking(false).unwrap();
    me.priority
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let addr = |s: &std::net::UdpSocket| s.local_addr().unwrap();
    let node = |name: &str, id, role, s: &Sockets| NodeConfig {
        name: name.into(),
        id,
        site: 0,
        role,
        priority: addr(&s.priority),
        normal: addr(&s.normal),
    };
    let cfg = ClusterConfig {
        sites: vec!["A".into()],
        nodes: vec![
            node("n1", 1, Role::Server, &server),
            node("c", 64, Role::Client, &me),
        ],
        containers: vec![ContainerConfig {
            prefix: String::new(),
            algorithm: Algorithm::VivaceRw,
            replicas: vec![1],
            local_sets: vec![(0, vec![1])],
        }],
        marks,
        timestamps: TimestampMode::Clock,
        writeback_skip: false,
        parallel_writeback: false,
        fewer_replicas: false,
        execute_at_replicas: false,
        delegation: false,
        clock_uncertainty: Duration::ZERO,
        directory: None,
    };
    let (id, actor) = server_actor(&cfg, "n1").unwrap();
    let server_p = addr(&server.priority);
    let server_n = addr(&server.normal);
    let mut d = Driver::new(&cfg, id, actor, server, &RuntimeOptions::default()).unwrap();
    let store = Msg::AbdStore {
        req: 1,
        key: "k".into(),
        ts: Ts { time: 5, node: 64 },
        val: "v".into(),
    };
    let rts = Msg::RTs {
        req: 2,
        key: "k".into(),
    };
    // The normal message is sent first.
    me.normal
        .send_to(&wire::encode(&store).unwrap(), server_n)
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    me.priority
        .send_to(&wire::encode(&rts).unwrap(), server_p)
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    d.poll_once(Duration::ZERO).unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = me.priority.recv_from(&mut buf).unwrap();
    match wire::decode(&buf[..n]).unwrap() {
        Msg::AckRTs { req: 2, ts } => assert_eq!(ts, Ts::ZERO, "R-TS was handled after STORE"),
        other => panic!("unexpected {other:?}"),
    }
    // And the STORE was handled too, after it.
    me.normal
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for _ in 0..10 {
        d.poll_once(Duration::from_millis(10)).unwrap();
    }
    let (n, _) = me.normal.recv_from(&mut buf).unwrap();
    assert_eq!(
        wire::decode(&buf[..n]).unwrap(),
        Msg::AbdStoreAck { req: 1 }
    );
}
