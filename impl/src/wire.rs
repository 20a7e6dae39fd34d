//! The wire format: a version byte followed by one message in postcard's
//! compact binary encoding (variable-length integers, length-prefixed byte
//! strings), or by several messages back to back: a *batch*, which the
//! runtime sends when one pass of its event loop has more than one message
//! of the same class for the same node (see [`crate::net`]). A datagram that
//! is not one or more valid messages of this version is rejected whole with
//! a [`WireError`], never a panic.

use vivace_spec::Msg;

/// Version byte that starts every datagram.
pub const VERSION: u8 = 1;

/// Largest UDP payload (IPv4: 65535 − 20 − 8).
pub const MAX_DATAGRAM: usize = 65_507;

/// Largest value (or key plus value) a client may write: what fits in one
/// datagram with room for the header, key and timestamps.
pub const MAX_VALUE: usize = 65_000;

/// Why a datagram was rejected or a message could not be encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// The datagram is empty.
    #[error("empty datagram")]
    Empty,
    /// The first byte is not [`VERSION`].
    #[error("wire version {found}, expected {VERSION}")]
    Version {
        /// The version byte found.
        found: u8,
    },
    /// The body is not one valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Bytes follow the message.
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
    /// The encoded message exceeds one UDP datagram.
    #[error("message of {size} bytes exceeds the datagram limit of {MAX_DATAGRAM} bytes")]
    TooLarge {
        /// Encoded size (at least).
        size: usize,
    },
}

/// Encodes `msg` into `buf` (resized as needed); returns the datagram length.
pub fn encode_into(msg: &Msg, buf: &mut Vec<u8>) -> Result<usize, WireError> {
    buf.clear();
    buf.push(VERSION);
    let body = postcard::to_extend(msg, std::mem::take(buf))
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    *buf = body;
    if buf.len() > MAX_DATAGRAM {
        return Err(WireError::TooLarge { size: buf.len() });
    }
    Ok(buf.len())
}

/// Encodes `msg` as a new datagram.
pub fn encode(msg: &Msg) -> Result<Vec<u8>, WireError> {
    let mut buf = Vec::with_capacity(64);
    encode_into(msg, &mut buf)?;
    Ok(buf)
}

/// Decodes one datagram.
pub fn decode(datagram: &[u8]) -> Result<Msg, WireError> {
    let (&version, body) = datagram.split_first().ok_or(WireError::Empty)?;
    if version != VERSION {
        return Err(WireError::Version { found: version });
    }
    let (msg, rest) =
        postcard::take_from_bytes::<Msg>(body).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Trailing(rest.len()));
    }
    Ok(msg)
}

/// Decodes a datagram of one or more messages back to back (a batch). One
/// bad message rejects the whole datagram.
pub fn decode_batch(datagram: &[u8]) -> Result<Vec<Msg>, WireError> {
    let (&version, mut body) = datagram.split_first().ok_or(WireError::Empty)?;
    if version != VERSION {
        return Err(WireError::Version { found: version });
    }
    let mut msgs = Vec::with_capacity(1);
    loop {
        let (msg, rest) = postcard::take_from_bytes::<Msg>(body)
            .map_err(|e| WireError::Malformed(e.to_string()))?;
        msgs.push(msg);
        if rest.is_empty() {
            return Ok(msgs);
        }
        body = rest;
    }
}

/// One example of every message type, with a `key_len`-byte key and a
/// `value_len`-byte value, and realistic timestamps (microseconds since
/// 1970). Used by the size table and tests.
pub fn examples(key_len: usize, value_len: usize) -> Vec<Msg> {
    use vivace_spec::{Bytes, Ts};
    let key = Bytes::from(vec![b'k'; key_len]);
    let val = Bytes::from(vec![b'v'; value_len]);
    // A timestamp of the year 2026 in microseconds, from a node id below 64.
    let ts = Ts {
        time: 1_790_000_000_000_000,
        node: 63,
    };
    let req = u32::MAX; // the worst case of the variable-length request id
    use Msg::*;
    vec![
        ClockReq { req },
        ClockResp { req, time: ts.time },
        AbdQuery {
            req,
            key: key.clone(),
        },
        AbdQueryAck {
            req,
            ts,
            val: val.clone(),
        },
        AbdTsQuery {
            req,
            key: key.clone(),
        },
        AbdTsQueryAck { req, ts },
        AbdStore {
            req,
            key: key.clone(),
            ts,
            val: val.clone(),
        },
        AbdStoreAck { req },
        RTs {
            req,
            key: key.clone(),
        },
        AckRTs { req, ts },
        RData {
            req,
            key: key.clone(),
            ts,
        },
        AckRData {
            req,
            ts,
            val: val.clone(),
        },
        WTs {
            req,
            key: key.clone(),
            ts,
        },
        AckWTs { req },
        WLocal {
            req,
            key: key.clone(),
            ts,
            val: val.clone(),
        },
        AckWLocal { req },
        WRemote {
            req,
            key: key.clone(),
            ts,
            val: val.clone(),
        },
        AckWRemote { req },
        Or {
            req,
            key: key.clone(),
            ots: ts,
        },
        AckOr {
            req,
            ok: true,
            ts,
            val: Some(val.clone()),
        },
        Ow {
            req,
            key: key.clone(),
            ots: ts,
            val: val.clone(),
        },
        AckOw { req, ok: true },
        OrTs {
            req,
            key: key.clone(),
            ots: ts,
        },
        AckOrTs { req, ok: true, ts },
        OrData {
            req,
            key: key.clone(),
            ts,
        },
        AckOrData {
            req,
            ok: true,
            val: Some(val.clone()),
        },
        OwTs {
            req,
            key: key.clone(),
            ots: ts,
        },
        AckOwTs { req, ok: true },
        Delegate {
            req,
            key: key.clone(),
            op: vivace_spec::Op::Read,
            ts: None,
        },
        Delegate {
            req,
            key: key.clone(),
            op: vivace_spec::Op::Write(val.clone()),
            ts: Some(ts),
        },
        AckDelegate {
            req,
            ret: vivace_spec::Ret::WriteOk,
        },
        AckDelegate {
            req,
            ret: vivace_spec::Ret::ReadOk(val.clone()),
        },
        // The directory service (Section 3.1), in an epoch below 128 (one
        // byte) and with replicas n1, n2, n3.
        InEpoch {
            epoch: 7,
            replicas: None,
            msg: Box::new(RData {
                req,
                key: key.clone(),
                ts,
            }),
        },
        InEpoch {
            epoch: 7,
            replicas: None,
            msg: Box::new(WTs {
                req,
                key: key.clone(),
                ts,
            }),
        },
        InEpoch {
            epoch: 7,
            replicas: Some(
                [1usize, 2, 3]
                    .into_iter()
                    .map(vivace_spec::Id::from)
                    .collect(),
            ),
            msg: Box::new(WLocal {
                req,
                key: key.clone(),
                ts,
                val: val.clone(),
            }),
        },
        Stale {
            req,
            epoch: 7,
            sealed: true,
        },
        Seal {
            req,
            prefix: Bytes::from("rw/"),
            epoch: 7,
            after: Some(key.clone()),
        },
        AckSeal {
            req,
            epoch: 7,
            sealed: true,
            keys: vec![vivace_spec::msg::SealedKey {
                key: key.clone(),
                ts,
                ots: ts,
                len: Some(value_len as u32),
            }],
            more: true,
        },
        CopyValues {
            req,
            keys: vec![(key.clone(), ts)],
        },
        AckCopyValues {
            req,
            values: vec![(key.clone(), ts, val.clone())],
        },
        Install {
            req,
            prefix: Bytes::from("rw/"),
            epoch: 8,
            entries: vec![vivace_spec::msg::KeyState {
                key: key.clone(),
                ts,
                ots: ts,
                val: val.clone(),
            }],
            last: false,
        },
        AckInstall {
            req,
            ok: true,
            epoch: 8,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use vivace_spec::Class;

    #[test]
    fn every_message_round_trips() {
        for m in examples(16, 1024) {
            let d = encode(&m).unwrap();
            assert_eq!(d[0], VERSION);
            assert_eq!(decode(&d).unwrap(), m);
        }
    }

    #[test]
    fn priority_messages_fit_in_40_bytes() {
        for m in examples(16, 1024) {
            if m.class() == Class::Priority {
                let n = encode(&m).unwrap().len();
                assert!(n <= 40, "{} is {n} bytes", m.name());
            }
        }
    }

    #[test]
    fn bad_datagrams_are_errors() {
        let good = encode(&examples(16, 10)[8]).unwrap();
        assert_eq!(decode(&[]), Err(WireError::Empty));
        let mut v = good.clone();
        v[0] = 2;
        assert_eq!(decode(&v), Err(WireError::Version { found: 2 }));
        for cut in 1..good.len() {
            assert!(decode(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(WireError::Trailing(1)));
        // A batch: the same, but trailing bytes must be another message.
        assert!(matches!(decode_batch(&long), Err(WireError::Malformed(_))));
        let big = Msg::AbdStore {
            req: 1,
            key: "k".into(),
            ts: Default::default(),
            val: vec![0u8; MAX_DATAGRAM].into(),
        };
        assert!(matches!(encode(&big), Err(WireError::TooLarge { .. })));
    }

    /// The directory service's wrapper (Section 3.1) never nests: a
    /// datagram of wrappers in wrappers is refused whole, however deep,
    /// without recursing once per level.
    #[test]
    fn nested_epochs_are_refused() {
        let rts = Msg::RTs {
            req: 1,
            key: "rw/k".into(),
        };
        let wrap = |m: Msg| Msg::InEpoch {
            epoch: 1,
            replicas: None,
            msg: Box::new(m),
        };
        let once = encode(&wrap(rts.clone())).unwrap();
        assert_eq!(decode(&once).unwrap(), wrap(rts.clone()));
        let twice = encode(&wrap(wrap(rts.clone()))).unwrap();
        assert!(matches!(decode(&twice), Err(WireError::Malformed(_))));
        // The wrapper's own bytes (variant, epoch, no replica set), a
        // hundred thousand times, then the request.
        let plain = encode(&rts).unwrap();
        let head = &once[1..once.len() - (plain.len() - 1)];
        let mut deep = vec![VERSION];
        for _ in 0..100_000 {
            deep.extend_from_slice(head);
        }
        deep.extend_from_slice(&plain[1..]);
        assert!(matches!(decode(&deep), Err(WireError::Malformed(_))));
        assert!(matches!(decode_batch(&deep), Err(WireError::Malformed(_))));
        // The next decode on this thread is not confused by the refusal.
        assert_eq!(decode(&once).unwrap(), wrap(rts));
    }

    #[test]
    fn batches_round_trip_and_fail_whole() {
        let msgs = examples(16, 100);
        let mut d = vec![VERSION];
        for m in &msgs {
            d.extend_from_slice(&encode(m).unwrap()[1..]);
        }
        assert_eq!(decode_batch(&d).unwrap(), msgs);
        assert_eq!(
            decode_batch(&encode(&msgs[3]).unwrap()).unwrap(),
            vec![msgs[3].clone()]
        );
        assert!(decode(&d).is_err(), "decode takes exactly one message");
        for cut in 1..d.len() {
            // Cutting inside a message fails; cutting at a boundary is a
            // shorter valid batch.
            if let Ok(v) = decode_batch(&d[..cut]) {
                assert_eq!(v[..], msgs[..v.len()]);
            }
        }
        assert_eq!(decode_batch(&[VERSION]).map(|v| v.len()).ok(), None);
    }
}
