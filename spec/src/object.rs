//! The deterministic command set of RMW objects (Section 2: "the command can
//! be an arbitrary deterministic procedure that, based on the current state
//! of the object, modifies the state of the object and returns a result").

use crate::types::{Bytes, Value};
use serde::{Deserialize, Serialize};

/// A command run by `execute` on an RMW object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Command {
    /// Reads the value as a decimal counter (empty = 0), adds one, and
    /// returns the new value.
    Increment,
    /// Appends the bytes to the value and returns the new value.
    Append(Bytes),
    /// If the value equals `from`, replaces it by `to` and returns `"true"`;
    /// otherwise leaves it and returns `"false"`.
    Cas {
        /// Expected current value.
        from: Bytes,
        /// Replacement.
        to: Bytes,
    },
    /// Returns the value unchanged (a read through the RMW path).
    Get,
}

/// Applies `cmd` to `val`: the `apply(mval, command)` of Algorithms 2 and 3.
/// Returns the new value and the result handed to the caller.
pub fn apply(val: &Value, cmd: &Command) -> (Value, Value) {
    match cmd {
        Command::Increment => {
            let n = counter(val).wrapping_add(1);
            let v = Bytes::from(n.to_string());
            (v.clone(), v)
        }
        Command::Append(s) => {
            let mut b = val.as_slice().to_vec();
            b.extend_from_slice(s.as_slice());
            let v = Bytes::from(b);
            (v.clone(), v)
        }
        Command::Cas { from, to } => {
            if val == from {
                (to.clone(), Bytes::from("true"))
            } else {
                (val.clone(), Bytes::from("false"))
            }
        }
        Command::Get => (val.clone(), val.clone()),
    }
}

/// A value read as a decimal counter; anything that is not a decimal number
/// (including the empty initial value) counts as 0.
pub fn counter(val: &Value) -> u64 {
    std::str::from_utf8(val.as_slice())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_table() {
        let b = |s: &str| Bytes::from(s);
        // (value before, command, value after, result)
        let rows = [
            ("", Command::Increment, "1", "1"),
            ("41", Command::Increment, "42", "42"),
            ("ab", Command::Append(b("c")), "abc", "abc"),
            (
                "x",
                Command::Cas {
                    from: b("x"),
                    to: b("y"),
                },
                "y",
                "true",
            ),
            (
                "z",
                Command::Cas {
                    from: b("x"),
                    to: b("y"),
                },
                "z",
                "false",
            ),
            ("v", Command::Get, "v", "v"),
        ];
        for (before, cmd, after, result) in rows {
            assert_eq!(
                apply(&b(before), &cmd),
                (b(after), b(result)),
                "{before:?} {cmd:?}"
            );
        }
    }
}
