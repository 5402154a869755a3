#![no_main]
//! `cargo +nightly fuzz run jbackend_settings`: see `depot_core::fuzz_checks::jbackend_settings` for what it checks.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| depot_core::fuzz_checks::jbackend_settings(data));
