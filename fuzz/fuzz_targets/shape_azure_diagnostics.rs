#![no_main]
//! Any bytes read as the `AzureDiagnostics` shape: no panic, and lenient/strict/projected reads agree.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    auditframe_fuzz::check_shape(data, auditframe::Shape::AzureDiagnostics);
});
