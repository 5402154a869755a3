#![no_main]
//! `cargo +nightly fuzz run sales`: see `depot_core::fuzz_checks::sales` for what it checks.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| depot_core::fuzz_checks::sales(data));
