//! Linearizability checker for recorded histories (issue 3: in progress).
