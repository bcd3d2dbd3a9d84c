#![no_main]
//! Any bytes as an RFC 3339 timestamp: no panic, and what parses round-trips.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    auditframe_fuzz::check_timestamp(data);
});
