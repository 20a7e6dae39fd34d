//! Random histories that are linearizable by construction: a random
//! sequential execution whose operations are then stretched into overlapping
//! intervals around their linearization points. Used by the property tests
//! and the benchmark.

use crate::formats::History;
use crate::model::Operation;
use crate::models::{apply_rmw, Command, OpInput, OpOutput, RmwCommand, Value};

/// A tiny deterministic PRNG (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Rng(crate::model::mix64(seed ^ 0x2545_f491_4f6c_dd1d) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as u64
    }
}

/// Which operations to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One register per key: read/write/cas over values "0".."4".
    Register {
        /// Number of keys.
        keys: u32,
    },
    /// Key-value map: get/put/append.
    Kv {
        /// Number of keys.
        keys: u32,
    },
    /// Vivace objects: read/write and execute(increment|append|cas).
    Vivace {
        /// Number of keys.
        keys: u32,
    },
}

/// Generator parameters.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// Number of operations.
    pub ops: usize,
    /// Clients available at the start (more are added when all are busy).
    pub clients: usize,
    /// Maximum stretch of an interval on each side of its linearization
    /// point, in units of the gap between consecutive points.
    pub stretch: u64,
    /// Percentage of operations whose outcome is unknown (half of them took
    /// effect, half never did).
    pub unknown_percent: u32,
    /// Percentage of operations that definitely failed (no effect).
    pub fail_percent: u32,
    /// Operation mix.
    pub workload: Workload,
}

const GAP: u64 = 100;

/// Generates a linearizable history.
pub fn generate(cfg: &GenConfig, seed: u64) -> History {
    let mut rng = Rng::new(seed);
    let keys = match cfg.workload {
        Workload::Register { keys } | Workload::Kv { keys } | Workload::Vivace { keys } => {
            keys.max(1)
        }
    };
    let mut state: Vec<Option<Value>> = match cfg.workload {
        Workload::Register { .. } => vec![None; keys as usize],
        _ => vec![Some("".into()); keys as usize],
    };
    let mut free: Vec<u64> = vec![0; cfg.clients.max(1)];
    let mut h = History {
        keys: (0..keys).map(|k| k.to_string()).collect(),
        ..History::default()
    };
    let small = |rng: &mut Rng| -> Value { rng.below(5).to_string().into() };
    for i in 0..cfg.ops {
        let t = GAP * (i as u64 + 1);
        let key = rng.below(keys as u64) as u32;
        let cur = state[key as usize].clone();
        let unknown = rng.percent(cfg.unknown_percent);
        let fail = !unknown && rng.percent(cfg.fail_percent);
        let (command, new, ret): (Command, Option<Value>, OpOutput) = match cfg.workload {
            Workload::Register { .. } => match rng.below(3) {
                0 => (Command::Read, cur.clone(), OpOutput::Ok(cur.clone())),
                1 => {
                    let v = small(&mut rng);
                    (Command::Write(v.clone()), Some(v), OpOutput::Ok(None))
                }
                _ => {
                    let from = if rng.percent(50) {
                        cur.clone().unwrap_or_else(|| small(&mut rng))
                    } else {
                        small(&mut rng)
                    };
                    let to = small(&mut rng);
                    if cur.as_deref() == Some(&*from) {
                        (
                            Command::Cas {
                                from,
                                to: to.clone(),
                            },
                            Some(to),
                            OpOutput::Ok(None),
                        )
                    } else {
                        // A failed CAS: definite, and constrains the value.
                        (Command::Cas { from, to }, cur.clone(), OpOutput::Fail)
                    }
                }
            },
            Workload::Kv { .. } => {
                let s = cur.clone().unwrap_or_default();
                match rng.below(5) {
                    0 | 1 => (Command::Get, Some(s.clone()), OpOutput::Ok(Some(s))),
                    2 => {
                        let v: Value = format!("p{i} ").into();
                        (Command::Put(v.clone()), Some(v), OpOutput::Ok(None))
                    }
                    _ => {
                        let v: Value = format!("x{i} ").into();
                        let n: Value = format!("{s}{v}").into();
                        (Command::Append(v), Some(n), OpOutput::Ok(None))
                    }
                }
            }
            Workload::Vivace { .. } => {
                let s = cur.clone().unwrap_or_default();
                match rng.below(6) {
                    0 => (Command::Read, Some(s.clone()), OpOutput::Ok(Some(s))),
                    1 => {
                        let v: Value = rng.below(3).to_string().into();
                        (Command::Write(v.clone()), Some(v), OpOutput::Ok(None))
                    }
                    2 => {
                        let c = RmwCommand::Append(format!("{}", rng.below(10)).into());
                        let (n, r) = apply_rmw(&s, &c).expect("append");
                        (Command::Execute(c), Some(n), OpOutput::Ok(Some(r)))
                    }
                    3 => {
                        let from: Value = if rng.percent(50) {
                            s.clone()
                        } else {
                            rng.below(3).to_string().into()
                        };
                        let c = RmwCommand::Cas {
                            from,
                            to: rng.below(3).to_string().into(),
                        };
                        let (n, r) = apply_rmw(&s, &c).expect("cas");
                        (Command::Execute(c), Some(n), OpOutput::Ok(Some(r)))
                    }
                    _ => {
                        let c = RmwCommand::Increment;
                        match apply_rmw(&s, &c) {
                            Some((n, r)) => (Command::Execute(c), Some(n), OpOutput::Ok(Some(r))),
                            None => {
                                let v: Value = rng.below(3).to_string().into();
                                (Command::Write(v.clone()), Some(v), OpOutput::Ok(None))
                            }
                        }
                    }
                }
            }
        };
        let is_cas = matches!(command, Command::Cas { .. });
        let (output, apply) = if unknown {
            (OpOutput::Unknown, rng.percent(50))
        } else if fail {
            // A definite failure has no effect. A register CAS "fail" also
            // claims the value differed: when it did not, the operation is
            // recorded as unknown (it never took effect) instead.
            if is_cas && ret != OpOutput::Fail {
                (OpOutput::Unknown, false)
            } else {
                (OpOutput::Fail, false)
            }
        } else {
            (ret, true)
        };
        if apply {
            state[key as usize] = new;
        }
        let pending = output == OpOutput::Unknown;
        let s = cfg.stretch.max(1) * GAP;
        let candidates: Vec<usize> = (0..free.len()).filter(|&c| free[c] < t).collect();
        let client = if candidates.is_empty() {
            free.push(0);
            free.len() - 1
        } else {
            candidates[rng.below(candidates.len() as u64) as usize]
        };
        let call = (t.saturating_sub(rng.below(s)))
            .max(free[client] + 1)
            .min(t);
        let ret_time = t + rng.below(s);
        free[client] = if pending { u64::MAX } else { ret_time };
        h.ops.push(Operation {
            client: client as u64,
            input: OpInput { key, command },
            call,
            output,
            ret: if pending { None } else { Some(ret_time) },
        });
        h.lines.push(i + 1);
    }
    h
}
