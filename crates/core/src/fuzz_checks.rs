//! What each fuzz target (`fuzz/`) checks, for any input bytes. Kept here, not in the targets,
//! so that `cargo test` runs every seed in `fuzz/corpus/` and every past crash in
//! `fuzz/regressions/` through the same checks on the stable toolchain (see the test below).

use crate::range::{RangeDecision, decide, if_range_allows};
use crate::{
    application, ars, composer, jbackend_settings, keys, package, rollout, useragent, wordpress,
};

/// Any bytes as an uploaded package: inspected under the default limits (expansion capped lower,
/// so that a run stays fast), never a panic.
pub fn package(data: &[u8]) {
    let limits = package::PackageLimits {
        max_unpacked_bytes: 16 << 20,
        ..Default::default()
    };
    let _ = package::inspect(std::io::Cursor::new(data), &limits);
}

/// Any text as a Joomla manifest, a version, a target list, a user agent, a `composer.json`, a
/// WordPress header and readme, Markdown, a rollout schedule, an application's platform, build
/// file name and vendor signature.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = package::read_manifest("m.xml", text);
    let _ = crate::Version::parse(text);
    let _ = text.parse::<crate::Targets>();
    let _ = useragent::joomla_version(text);
    // The other ecosystems' manifests, and names.
    let _ = composer::read_composer_json("composer.json", text);
    let _ = composer::PackageName::parse(text);
    let _ = wordpress::Slug::parse(text);
    if let Some(mut m) = wordpress::read_header("x/x.php", "x", text) {
        m.add_readme(text);
    }
    // Markdown becomes HTML with the input's markup escaped: nothing it holds opens a tag.
    let html = wordpress::markdown_to_html(text);
    assert!(!html.contains("<script"), "markup got through: {html}");
    // A platform reads back as itself; what passes as a build's file name or a signature is
    // safe in a URL path and a JSON string as it is.
    if let Ok(platform) = application::Platform::parse(text) {
        assert_eq!(
            application::Platform::parse(&platform.to_string()),
            Ok(platform)
        );
    }
    if application::check_build_filename(text).is_ok() {
        assert!(!text.contains(['/', '%', '?', '#']) && !text.ends_with(".minisig"));
    }
    if let Ok(signature) = application::check_vendor_signature(text) {
        assert!(
            signature.bytes().all(|b| b.is_ascii_graphic()),
            "{signature:?}"
        );
    }
    // A rollout schedule reads back as itself.
    if let Ok(schedule) = text.parse::<rollout::RolloutSchedule>() {
        let again: rollout::RolloutSchedule = schedule.to_string().parse().expect("its own form");
        assert_eq!(again, schedule);
        assert_eq!(schedule.percent_at(schedule.full_after_ms()), 100);
    }
}

/// A file size (the first 8 bytes, little-endian), then a `Range` and an `If-Range` value
/// (the rest, split at the first newline). A partial answer is never empty and never reaches
/// past the file.
pub fn range(data: &[u8]) {
    let mut size = [0u8; 8];
    let head = data.len().min(8);
    size[..head].copy_from_slice(&data[..head]);
    let size = u64::from_le_bytes(size);
    let rest = String::from_utf8_lossy(&data[head..]);
    let (range, if_range) = rest.split_once('\n').unwrap_or((&rest, ""));
    if let RangeDecision::Partial(r) = decide(Some(range), size) {
        assert!(
            r.start < r.end && r.end <= size,
            "{range:?} on {size}: {r:?}"
        );
    }
    let _ = if_range_allows(Some(if_range), "\"etag\"", range);
}

const SECRET: &[u8] = b"a fuzzing secret of at least 32 bytes!";

/// Any text as a download key, a jBackend key or an e-mail. A download key that parses verifies
/// only if it is exactly the key the server would issue for its claim.
pub fn keys(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(claim) = keys::parse_download_key(text) {
        let issued = keys::download_key(SECRET, claim.serial, claim.version);
        assert_eq!(
            claim.verify(SECRET, claim.version),
            issued == text.trim(),
            "{text:?}"
        );
    }
    let _ = keys::looks_like_jbackend_key(text);
    let email = keys::normalise_email(text);
    let _ = keys::verify_jbackend_key(SECRET, "seed", &email, 1, text);
}

/// Any line of jBackend's plugin settings; what parses is complete.
pub fn jbackend_settings(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(group) = jbackend_settings::parse_group_line(line) {
        assert!(!group.groups.is_empty() && !group.name.is_empty());
    }
    if let Ok(package) = jbackend_settings::parse_package_line(line) {
        assert!(!package.package_id.is_empty() && !package.path.is_empty());
    }
}

/// Any text as an ARS Download ID, an `index.php` query string, or a path with a query: a
/// Download ID that reads is plain and reads the same again; an alias is a part of the path.
pub fn ars(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = ars::normalise_download_id(text) {
        assert!(id.len() <= 53 && id.is_ascii(), "{id:?}");
        assert_eq!(
            ars::normalise_download_id(&id).as_deref(),
            Some(id.as_str())
        );
    }
    let _ = ars::ars_request(text);
    let (path, query) = text
        .split_once('?')
        .map_or((text, None), |(p, q)| (p, Some(q)));
    if let Some(alias) = ars::sef_stream_alias(path, query) {
        assert!(!alias.is_empty() && path.contains(alias), "{text:?}");
    }
}

/// Any bytes as a payment provider's webhook (the first byte picks Stripe or Paddle): an event
/// that reads survives the JSON round trip depot stores a waiting event through, unchanged;
/// any header checks without a panic; a body signed as Stripe signs it verifies.
pub fn sales(data: &[u8]) {
    use crate::sales::{self, Provider, SaleEvent};
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let provider = if first % 2 == 0 {
        Provider::Stripe
    } else {
        Provider::Paddle
    };
    if let Ok(event) = sales::read(provider, rest) {
        let kept = serde_json::to_string(&event).expect("an event serialises");
        let back: SaleEvent = serde_json::from_str(&kept).expect("a kept event reads back");
        assert_eq!(back, event);
    }
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = sales::verify(provider, header, body, b"whsec_fuzz", 1_700_000_000, 300);
    }
    let signed = format!(
        "t=1700000000,v1={}",
        sales::sign_hex(b"whsec_fuzz", 1_700_000_000, body)
    );
    assert_eq!(
        sales::verify(
            Provider::Stripe,
            &signed,
            body,
            b"whsec_fuzz",
            1_700_000_000,
            300
        ),
        Ok(())
    );
}

/// What a target checks of one input.
pub type Check = fn(&[u8]);

/// The targets by name, as `fuzz/` names them.
pub const TARGETS: [(&str, Check); 7] = [
    ("package", package),
    ("manifest", manifest),
    ("range", range),
    ("keys", keys),
    ("jbackend_settings", jbackend_settings),
    ("ars", ars),
    ("sales", sales),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every seed and every past crash of every target, through its checks.
    #[test]
    fn seeds_and_past_crashes_pass() {
        let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        let mut ran = 0;
        for (name, check) in TARGETS {
            for kind in ["corpus", "regressions"] {
                let Ok(dir) = std::fs::read_dir(fuzz.join(kind).join(name)) else {
                    continue;
                };
                for entry in dir {
                    let path = entry.unwrap().path();
                    if path.extension().is_some_and(|e| e == "md") {
                        continue;
                    }
                    check(&std::fs::read(&path).unwrap());
                    ran += 1;
                }
            }
        }
        assert!(
            ran >= TARGETS.len(),
            "the seed corpora are missing: {ran} inputs"
        );
    }
}
