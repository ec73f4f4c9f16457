#![no_main]
//! See `fuzz/src/envelopes.rs` for the input format and the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_fuzz::envelopes::run(data));
