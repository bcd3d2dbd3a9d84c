//! Short library examples (`read_and_analyze`, `arrow_export`); the command-line tool is
//! `crates/auditframe-cli`.

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
