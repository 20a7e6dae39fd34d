//! Readers: never panic on garbage or truncated input, errors carry the line,
//! and the JSON-lines writer round-trips through the reader.

use proptest::prelude::*;
use vivace_checker::check_operations;
use vivace_checker::formats::{parse, write_jsonl, Format, FormatError};
use vivace_checker::gen::{generate, GenConfig, Workload};
use vivace_checker::models::VivaceModel;

const FORMATS: [Format; 3] = [Format::Jsonl, Format::Jepsen, Format::Kv];

fn sample(format: Format) -> String {
    match format {
        Format::Jsonl => {
            let cfg = GenConfig {
                ops: 12,
                clients: 3,
                stretch: 3,
                unknown_percent: 10,
                fail_percent: 10,
                workload: Workload::Vivace { keys: 2 },
            };
            write_jsonl(&generate(&cfg, 1))
        }
        Format::Jepsen => "INFO  jepsen.util - 0\t:invoke\t:cas\t[3 0]\n\
                           INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
                           INFO  jepsen.util - 0\t:fail\t:cas\t[3 0]\n\
                           INFO  jepsen.util - 1\t:ok\t:read\t4\n\
                           INFO  jepsen.util - 2\t:invoke\t:write\t1\n\
                           INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n"
            .to_string(),
        Format::Kv => "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
                       {:process 9, :type :ok, :f :append, :key \"0\", :value \"x 9 0 y\"}\n\
                       {:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n\
                       {:process 1, :type :ok, :f :get, :key \"0\", :value \"x 9 0 y\"}\n"
            .to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn garbage_never_panics(text in "\\PC{0,200}", f in 0usize..3) {
        match parse(&text, FORMATS[f], "g") {
            Ok(_) => {}
            Err(FormatError::Syntax { line, .. }) => {
                prop_assert!(line >= 1 && line <= text.lines().count().max(1));
            }
            Err(e) => prop_assert!(false, "unexpected error kind {e}"),
        }
    }

    #[test]
    fn truncation_gives_ok_or_a_located_error(cut in 0usize..2000, f in 0usize..3) {
        let text = sample(FORMATS[f]);
        let mut cut = cut.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let t = &text[..cut];
        match parse(t, FORMATS[f], "t") {
            Ok(h) => prop_assert!(h.ops.len() <= text.lines().count()),
            Err(FormatError::Syntax { line, reason, .. }) => {
                prop_assert!(line >= 1 && line <= t.lines().count());
                prop_assert!(!reason.is_empty());
            }
            Err(e) => prop_assert!(false, "unexpected error kind {e}"),
        }
    }

    #[test]
    fn jsonl_round_trip(seed in any::<u64>(), n in 0usize..60, unknown in 0u32..30, fail in 0u32..30) {
        let cfg = GenConfig {
            ops: n,
            clients: 4,
            stretch: 4,
            unknown_percent: unknown,
            fail_percent: fail,
            workload: Workload::Vivace { keys: 3 },
        };
        let h = generate(&cfg, seed);
        let text = write_jsonl(&h);
        let back = parse(&text, Format::Jsonl, "rt").unwrap();
        prop_assert_eq!(back.ops.len(), h.ops.len());
        // Operations come back in invocation order; compare as sets of
        // (client, key name, command, output, call, ret).
        let norm = |hist: &vivace_checker::formats::History| {
            let mut v: Vec<String> = hist
                .ops
                .iter()
                .map(|o| {
                    format!(
                        "{} {} {:?} {:?} {} {:?}",
                        o.client, hist.keys[o.input.key as usize], o.input.command, o.output, o.call, o.ret
                    )
                })
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(norm(&back), norm(&h));
        prop_assert_eq!(
            check_operations(&VivaceModel, &back.ops, None),
            check_operations(&VivaceModel, &h.ops, None)
        );
    }
}
