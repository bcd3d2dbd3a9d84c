#![no_main]
//! Any bytes through the NDJSON reader's block and chunk splitting: the same frame and report
//! as one in-memory parse, whatever the block and chunk sizes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    auditframe_fuzz::check_splitter(data);
});
