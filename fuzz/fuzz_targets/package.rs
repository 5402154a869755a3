#![no_main]
//! `cargo +nightly fuzz run package`: any bytes as an uploaded package.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = depot_core::package::PackageLimits {
        max_unpacked_bytes: 16 << 20,
        ..Default::default()
    };
    let _ = depot_core::package::inspect(std::io::Cursor::new(data), &limits);
});
