#![no_main]
//! See `fuzz/src/shards.rs` for the input format and the properties checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| keygate_fuzz::shards::run(data));
