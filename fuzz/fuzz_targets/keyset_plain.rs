#![no_main]
//! See `fuzz/src/plain.rs` for the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_fuzz::plain::run(data));
