//! Property tests: generated histories are linearizable, and small histories
//! (corrupted or not) agree with a brute-force oracle that tries every order.

use proptest::prelude::*;
use std::time::Duration;
use vivace_checker::gen::{generate, GenConfig, Rng, Workload};
use vivace_checker::model::{Model, Operation};
use vivace_checker::models::{
    Command, KvModel, KvUnsplitModel, OpInput, OpOutput, RegisterModel, VivaceModel,
};
use vivace_checker::{analyze, check_operations, CheckOptions, CheckResult};

type Op = Operation<OpInput, OpOutput>;

/// Tries every order of every subset that keeps all operations with a known
/// outcome (unknown ones may also never take effect).
fn brute_force<M: Model<Input = OpInput, Output = OpOutput>>(m: &M, ops: &[Op]) -> bool {
    assert!(ops.len() <= 16);
    let unknown: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_none()).collect();
    let all: u32 = (1u32 << ops.len()) - 1;
    for drop in 0..(1u32 << unknown.len()) {
        let mut must = all;
        for (j, &i) in unknown.iter().enumerate() {
            if drop & (1 << j) != 0 {
                must &= !(1 << i);
            }
        }
        if dfs(m, ops, must, 0, &m.init()) {
            return true;
        }
    }
    false
}

fn dfs<M: Model<Input = OpInput, Output = OpOutput>>(
    m: &M,
    ops: &[Op],
    must: u32,
    placed: u32,
    state: &M::State,
) -> bool {
    if placed == must {
        return true;
    }
    let left = must & !placed;
    for x in 0..ops.len() {
        if left & (1 << x) == 0 {
            continue;
        }
        let can_go_first = (0..ops.len())
            .filter(|&y| y != x && left & (1 << y) != 0)
            .all(|y| ops[y].return_time() >= ops[x].call);
        if !can_go_first {
            continue;
        }
        if let Some(ns) = m.step(state, &ops[x].input, &ops[x].output) {
            if dfs(m, ops, must, placed | (1 << x), &ns) {
                return true;
            }
        }
    }
    false
}

fn workload(kind: u8, keys: u32) -> Workload {
    match kind % 3 {
        0 => Workload::Register { keys },
        1 => Workload::Kv { keys },
        _ => Workload::Vivace { keys },
    }
}

fn check(w: Workload, ops: &[Op], threads: usize) -> CheckResult {
    let opts = CheckOptions {
        timeout: None,
        threads,
        explain: true,
        max_rss: None,
    };
    match w {
        Workload::Register { .. } => analyze(&RegisterModel, ops, &opts).result,
        Workload::Kv { .. } => analyze(&KvModel, ops, &opts).result,
        Workload::Vivace { .. } => analyze(&VivaceModel, ops, &opts).result,
    }
}

fn oracle(w: Workload, ops: &[Op], keys: u32) -> bool {
    match w {
        Workload::Register { .. } => brute_force(&RegisterModel, ops),
        Workload::Kv { .. } => brute_force(
            &KvUnsplitModel {
                keys: keys as usize,
            },
            ops,
        ),
        Workload::Vivace { .. } => brute_force(&VivaceModel, ops),
    }
}

/// Changes one operation so that the history may become illegal.
fn corrupt(ops: &mut [Op], seed: u64) {
    let mut rng = Rng::new(seed);
    let i = rng.below(ops.len() as u64) as usize;
    let v = |rng: &mut Rng| -> vivace_checker::models::Value { rng.below(3).to_string().into() };
    let op = &mut ops[i];
    match rng.below(3) {
        0 => {
            op.output = match (&op.input.command, &op.output) {
                (Command::Cas { .. }, OpOutput::Fail) => OpOutput::Ok(None),
                (Command::Cas { .. }, _) => OpOutput::Fail,
                (_, OpOutput::Ok(Some(x))) if rng.percent(50) => {
                    OpOutput::Ok(Some(format!("{x}1").into()))
                }
                _ => OpOutput::Ok(Some(v(&mut rng))),
            };
            if op.ret.is_none() {
                op.ret = Some(op.call + 1);
            }
        }
        1 => {
            // Move the operation to an earlier time window.
            let len = op.ret.map_or(50, |r| r - op.call);
            op.call = rng.below(op.call.max(1));
            if op.ret.is_some() {
                op.ret = Some(op.call + len.min(rng.below(200)));
            }
        }
        _ => {
            let x = v(&mut rng);
            let changed = match op.input.command {
                Command::Write(_) => Some(Command::Write(x.clone())),
                Command::Put(_) => Some(Command::Put(x.clone())),
                Command::Append(_) => Some(Command::Append(x.clone())),
                _ => None,
            };
            if let Some(c) = changed {
                op.input.command = c;
            } else {
                op.output = OpOutput::Ok(Some(v(&mut rng)));
                op.ret = Some(op.ret.unwrap_or(op.call + 10));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn generated_histories_are_linearizable(
        seed in any::<u64>(),
        kind in 0u8..3,
        n in 1usize..300,
        keys in 1u32..6,
        clients in 1usize..8,
        stretch in 1u64..8,
        unknown in 0u32..8,
        fail in 0u32..20,
        threads in 1usize..3,
    ) {
        let w = workload(kind, keys);
        let cfg = GenConfig { ops: n, clients, stretch, unknown_percent: unknown, fail_percent: fail, workload: w };
        let h = generate(&cfg, seed);
        prop_assert_eq!(check(w, &h.ops, threads), CheckResult::Ok);
    }

    #[test]
    fn small_histories_agree_with_brute_force(
        seed in any::<u64>(),
        kind in 0u8..3,
        n in 1usize..=8,
        keys in 1u32..3,
        clients in 1usize..5,
        stretch in 1u64..6,
        unknown in 0u32..30,
        fail in 0u32..30,
        corrupt_it in any::<bool>(),
    ) {
        let w = workload(kind, if kind % 3 == 1 { keys } else { 1 });
        let cfg = GenConfig { ops: n, clients, stretch, unknown_percent: unknown, fail_percent: fail, workload: w };
        let mut h = generate(&cfg, seed);
        if corrupt_it {
            corrupt(&mut h.ops, seed ^ 0xabcdef);
        }
        let want = oracle(w, &h.ops, keys);
        let got = check(w, &h.ops, 2);
        prop_assert_eq!(got == CheckResult::Ok, want, "history: {:#?}", h.ops);
        prop_assert!(got != CheckResult::Unknown);
    }
}

/// The explanation of an illegal history is consistent: its longest prefix
/// replays through the model, respects real time, and the stuck operations
/// are the partition's remaining ones that were candidates.
fn check_explanation(w: Workload, ops: &[Op]) {
    fn go<M: Model<Input = OpInput, Output = OpOutput>>(m: &M, ops: &[Op]) {
        let a = analyze(m, ops, &CheckOptions::default());
        assert_eq!(a.result, CheckResult::Illegal);
        let e = a.explanation.expect("explanation");
        let part = &a.partitions[e.partition];
        let mut state = m.init();
        for (k, &i) in e.longest.iter().enumerate() {
            assert!(part.ops.contains(&i));
            state = m
                .step(&state, &ops[i].input, &ops[i].output)
                .expect("prefix replays");
            // Nothing placed later returned before this one was called.
            for &j in &e.longest[k + 1..] {
                assert!(ops[j].return_time() >= ops[i].call);
            }
        }
        assert!(!e.stuck.is_empty());
        for &i in &e.stuck {
            assert!(part.ops.contains(&i) && !e.longest.contains(&i));
        }
        assert!(e.longest.len() < part.ops.len());
    }
    match w {
        Workload::Register { .. } => go(&RegisterModel, ops),
        Workload::Kv { .. } => go(&KvModel, ops),
        Workload::Vivace { .. } => go(&VivaceModel, ops),
    }
}

#[test]
fn corrupted_histories_are_sometimes_illegal() {
    // Guard against a vacuous oracle comparison: corruption must produce
    // both verdicts.
    let mut illegal = 0;
    let mut legal = 0;
    for seed in 0..300u64 {
        let w = workload((seed % 3) as u8, 1);
        let cfg = GenConfig {
            ops: 6,
            clients: 3,
            stretch: 3,
            unknown_percent: 10,
            fail_percent: 10,
            workload: w,
        };
        let mut h = generate(&cfg, seed);
        corrupt(&mut h.ops, seed);
        let want = oracle(w, &h.ops, 1);
        assert_eq!(check(w, &h.ops, 1) == CheckResult::Ok, want, "{:#?}", h.ops);
        if want {
            legal += 1
        } else {
            illegal += 1;
            check_explanation(w, &h.ops);
        }
    }
    assert!(
        illegal > 30 && legal > 30,
        "illegal {illegal}, legal {legal}"
    );
}

#[test]
fn unknown_operations_may_never_take_effect() {
    let k = |command| OpInput { key: 0, command };
    let ops = vec![
        Op {
            client: 0,
            input: k(Command::Write("1".into())),
            call: 0,
            output: OpOutput::Unknown,
            ret: None,
        },
        Op {
            client: 1,
            input: k(Command::Read),
            call: 5,
            output: OpOutput::Ok(None),
            ret: Some(6),
        },
        Op {
            client: 1,
            input: k(Command::Read),
            call: 7,
            output: OpOutput::Ok(None),
            ret: Some(8),
        },
    ];
    assert_eq!(
        check_operations(&RegisterModel, &ops, None),
        CheckResult::Ok
    );
    // ... but it cannot take effect before its call.
    let mut late = ops.clone();
    late[0].call = 9;
    late[1].output = OpOutput::Ok(Some("1".into()));
    assert_eq!(
        check_operations(&RegisterModel, &late, None),
        CheckResult::Illegal
    );
}

#[test]
fn closed_intervals_touching_ops_are_concurrent() {
    let k = |command| OpInput { key: 0, command };
    // The read returns at time 10 and the write is called at time 10: they
    // overlap, so the read may see the write.
    let ops = vec![
        Op {
            client: 0,
            input: k(Command::Read),
            call: 0,
            output: OpOutput::Ok(Some("1".into())),
            ret: Some(10),
        },
        Op {
            client: 1,
            input: k(Command::Write("1".into())),
            call: 10,
            output: OpOutput::Ok(None),
            ret: Some(20),
        },
    ];
    assert_eq!(
        check_operations(&RegisterModel, &ops, None),
        CheckResult::Ok
    );
    let mut later = ops.clone();
    later[1].call = 11;
    assert_eq!(
        check_operations(&RegisterModel, &later, None),
        CheckResult::Illegal
    );
}

#[test]
fn timeout_gives_unknown_never_ok() {
    let cfg = GenConfig {
        ops: 3_000,
        clients: 10,
        stretch: 6,
        unknown_percent: 0,
        fail_percent: 0,
        workload: Workload::Kv { keys: 4 },
    };
    let h = generate(&cfg, 7);
    let m = KvUnsplitModel { keys: 4 };
    assert_eq!(
        check_operations(&m, &h.ops, Some(Duration::ZERO)),
        CheckResult::Unknown
    );
    assert_eq!(check_operations(&m, &h.ops, None), CheckResult::Ok);
}

#[test]
fn explanation_names_partition_prefix_and_stuck_ops() {
    let op = |key, command, output, call, ret| Op {
        client: call,
        input: OpInput { key, command },
        call,
        output,
        ret: Some(ret),
    };
    let ops = vec![
        op(0, Command::Put("a".into()), OpOutput::Ok(None), 0, 1),
        op(1, Command::Put("b".into()), OpOutput::Ok(None), 2, 3),
        op(1, Command::Get, OpOutput::Ok(Some("b".into())), 4, 5),
        op(1, Command::Get, OpOutput::Ok(Some("c".into())), 6, 7),
    ];
    let a = analyze(&KvModel, &ops, &CheckOptions::default());
    assert_eq!(a.result, CheckResult::Illegal);
    let e = a.explanation.expect("explanation");
    assert_eq!(a.partitions[e.partition].key, Some(1));
    assert_eq!(e.longest, vec![1, 2]);
    assert_eq!(e.stuck, vec![3]);
}

#[test]
fn explanations_of_larger_histories_are_consistent() {
    let mut explained = 0;
    for seed in 0..60u64 {
        let w = workload((seed % 3) as u8, 1);
        let cfg = GenConfig {
            ops: 150,
            clients: 5,
            stretch: 4,
            unknown_percent: 2,
            fail_percent: 5,
            workload: w,
        };
        let mut h = generate(&cfg, seed);
        corrupt(&mut h.ops, seed);
        let r = match w {
            Workload::Register { .. } => {
                check_operations(&RegisterModel, &h.ops, Some(Duration::from_secs(2)))
            }
            Workload::Kv { .. } => check_operations(&KvModel, &h.ops, Some(Duration::from_secs(2))),
            Workload::Vivace { .. } => {
                check_operations(&VivaceModel, &h.ops, Some(Duration::from_secs(2)))
            }
        };
        if r == CheckResult::Illegal {
            check_explanation(w, &h.ops);
            explained += 1;
        }
    }
    assert!(explained >= 10, "only {explained} illegal histories");
}
