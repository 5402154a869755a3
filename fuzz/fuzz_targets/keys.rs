#![no_main]
//! `cargo +nightly fuzz run keys`: see `depot_core::fuzz_checks::keys` for what it checks.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| depot_core::fuzz_checks::keys(data));
