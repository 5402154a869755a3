#![no_main]
//! `cargo +nightly fuzz run manifest`: any text as a Joomla manifest, plus the other parsers.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = depot_core::package::read_manifest("m.xml", text);
    let _ = depot_core::Version::parse(text);
    let _ = text.parse::<depot_core::Targets>();
    let _ = depot_core::useragent::joomla_version(text);
});
