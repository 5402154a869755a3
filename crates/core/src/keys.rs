//! License keys that need no bookkeeping (docs/product.md §3).
//!
//! Both kinds are *derived*, never stored, so they can be shown again on request and a copy of
//! the database alone cannot mint them: every derivation is keyed by the server-wide secret from
//! the configuration.
//!
//! **jBackend key** (sent with `email` + `key`):
//! ```text
//! group_key = HMAC-SHA256(server_secret, "depot/jbackend-group/v1\0" || group_seed)
//! key       = hex(HMAC-SHA256(group_key, normalised_email || "\0" || user_key_version))[..32]
//! ```
//! Bumping a user's key version rotates that user's key; changing the group's seed revokes every
//! key of the group.
//!
//! **Download key** (`dlid`, Joomla's Download Key field), self-identifying because Joomla sends
//! only the one string:
//! ```text
//! tag = HMAC-SHA256(server_secret, "depot/download-key/v1\0" || serial_be64 || version_be32)[..16]
//! key = "dk" || base64url(serial_be64 || version_be32 || tag)
//! ```
//! The server reads the serial from the key, loads that key's row (user, current version,
//! revoked?) and recomputes the tag; a key revoked or re-issued under a new version stops working
//! alone. All comparisons are constant-time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The length of a jBackend key: 32 lower-case hex digits (128 bits).
pub const JBACKEND_KEY_LEN: usize = 32;
const DOWNLOAD_KEY_PREFIX: &str = "dk";
const DOWNLOAD_KEY_PAYLOAD: usize = 8 + 4 + 16;

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m
}

/// E-mail addresses compare after trimming and lower-casing (docs/product.md §1).
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The jBackend key of `email` in a package group.
pub fn jbackend_key(
    server_secret: &[u8],
    group_seed: &str,
    email: &str,
    key_version: i64,
) -> String {
    let group_key = mac(
        server_secret,
        &[b"depot/jbackend-group/v1\0", group_seed.as_bytes()],
    )
    .finalize()
    .into_bytes();
    let tag = mac(
        &group_key,
        &[
            normalise_email(email).as_bytes(),
            b"\0",
            key_version.to_string().as_bytes(),
        ],
    )
    .finalize()
    .into_bytes();
    let mut out = hex::encode(tag);
    out.truncate(JBACKEND_KEY_LEN);
    out
}

/// Whether `candidate` is the jBackend key of `email`, compared in constant time.
pub fn verify_jbackend_key(
    server_secret: &[u8],
    group_seed: &str,
    email: &str,
    key_version: i64,
    candidate: &str,
) -> bool {
    let expected = jbackend_key(server_secret, group_seed, email, key_version);
    let candidate = candidate.trim().to_ascii_lowercase();
    candidate.len() == expected.len()
        && subtle::ConstantTimeEq::ct_eq(candidate.as_bytes(), expected.as_bytes()).into()
}

/// Whether a string has the shape of a jBackend key (to tell a malformed key from a wrong one).
pub fn looks_like_jbackend_key(s: &str) -> bool {
    let s = s.trim();
    s.len() == JBACKEND_KEY_LEN && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The tag that the keys of `serial` at `version` carry. A server checking many requests with
/// one key computes it once ([`DownloadKeyClaim::carries`]): it is an HMAC.
pub fn download_tag(server_secret: &[u8], serial: u64, version: u32) -> [u8; 16] {
    let full = mac(
        server_secret,
        &[
            b"depot/download-key/v1\0",
            &serial.to_be_bytes(),
            &version.to_be_bytes(),
        ],
    )
    .finalize()
    .into_bytes();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&full[..16]);
    tag
}

/// The download key for key row `serial` at `version`: URL-safe (`[A-Za-z0-9_-]`), 40 characters.
pub fn download_key(server_secret: &[u8], serial: u64, version: u32) -> String {
    let mut payload = Vec::with_capacity(DOWNLOAD_KEY_PAYLOAD);
    payload.extend_from_slice(&serial.to_be_bytes());
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(&download_tag(server_secret, serial, version));
    format!("{DOWNLOAD_KEY_PREFIX}{}", base64url(&payload))
}

/// What a download key claims, before it is checked against its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownloadKeyClaim {
    pub serial: u64,
    pub version: u32,
    tag: [u8; 16],
}

/// Reads a download key; `None` if it does not have the shape of one.
pub fn parse_download_key(key: &str) -> Option<DownloadKeyClaim> {
    let body = key.trim().strip_prefix(DOWNLOAD_KEY_PREFIX)?;
    let bytes = base64url_decode(body)?;
    if bytes.len() != DOWNLOAD_KEY_PAYLOAD {
        return None;
    }
    let serial = u64::from_be_bytes(bytes[..8].try_into().ok()?);
    let version = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&bytes[12..]);
    Some(DownloadKeyClaim {
        serial,
        version,
        tag,
    })
}

impl DownloadKeyClaim {
    /// Whether the key was issued by this server for its serial and `current_version` (a key
    /// re-issued under a newer version no longer verifies). Constant-time on the tag.
    pub fn verify(&self, server_secret: &[u8], current_version: u32) -> bool {
        self.carries(
            &download_tag(server_secret, self.serial, current_version),
            current_version,
        )
    }

    /// Whether this is the current key of its serial, given that key's tag
    /// (`download_tag(secret, serial, current_version)`, computed beforehand).
    pub fn carries(&self, current_tag: &[u8; 16], current_version: u32) -> bool {
        let tag_ok: bool = subtle::ConstantTimeEq::ct_eq(&current_tag[..], &self.tag[..]).into();
        tag_ok && self.version == current_version
    }
}

fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict: padding and stray trailing bits are refused, so that one key has one spelling.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() > 256 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys customers already hold: written out here (computed once with Python's `hmac`, an
    /// implementation independent of this one), so that any change to a derivation, which would
    /// invalidate every key mailed or pasted into a Joomla site, fails this test.
    #[test]
    fn pinned_vectors() {
        let secret = b"depot pinned vector secret, 32+ bytes long";
        let seed = "HASH123KEY456";
        for (seed, email, version, key) in [
            (
                seed,
                " Buyer@Example.com ",
                0,
                "563bf356f05b90163bf166d68e3f5045",
            ),
            (
                seed,
                "buyer@example.com",
                1,
                "b7115f9c280c20dc6a2c6bd1ffd38b33",
            ),
            (
                "other-seed",
                "buyer@example.com",
                0,
                "235b580d8dcdbcd7217f7bede388c784",
            ),
        ] {
            assert_eq!(jbackend_key(secret, seed, email, version), key);
            assert!(verify_jbackend_key(secret, seed, email, version, key));
        }
        for (serial, version, key) in [
            (1, 0, "dkAAAAAAAAAAEAAAAAOHVeHZ9y4BCnwPFDLbkYfg"),
            (42, 3, "dkAAAAAAAAACoAAAADIdDIaxn2X54GAfw3Xr2wlA"),
            ((1 << 40) + 7, 1, "dkAAABAAAAAAcAAAABgqd7zE0WbRuO2O-MbwKF1g"),
        ] {
            assert_eq!(download_key(secret, serial, version), key);
            let claim = parse_download_key(key).expect("a download key");
            assert_eq!((claim.serial, claim.version), (serial, version));
            assert!(claim.verify(secret, version));
        }
    }

    const SECRET: &[u8] = b"server secret for tests";

    #[test]
    fn jbackend_keys_are_stable_and_scoped() {
        let k = jbackend_key(SECRET, "HASH123KEY456", "User@Example.com ", 0);
        assert_eq!(k.len(), JBACKEND_KEY_LEN);
        assert!(looks_like_jbackend_key(&k));
        assert_eq!(
            k,
            jbackend_key(SECRET, "HASH123KEY456", "user@example.com", 0)
        );
        assert!(verify_jbackend_key(
            SECRET,
            "HASH123KEY456",
            "user@example.com",
            0,
            &k
        ));
        assert!(verify_jbackend_key(
            SECRET,
            "HASH123KEY456",
            "user@example.com",
            0,
            &k.to_uppercase()
        ));
        // Rotation (version), another group seed, another secret, another user: other keys.
        assert!(!verify_jbackend_key(
            SECRET,
            "HASH123KEY456",
            "user@example.com",
            1,
            &k
        ));
        assert!(!verify_jbackend_key(
            SECRET,
            "other seed",
            "user@example.com",
            0,
            &k
        ));
        assert!(!verify_jbackend_key(
            b"other secret",
            "HASH123KEY456",
            "user@example.com",
            0,
            &k
        ));
        assert!(!verify_jbackend_key(
            SECRET,
            "HASH123KEY456",
            "other@example.com",
            0,
            &k
        ));
        assert!(!verify_jbackend_key(
            SECRET,
            "HASH123KEY456",
            "user@example.com",
            0,
            &k[..31]
        ));
        assert!(!looks_like_jbackend_key("123456"));
    }

    #[test]
    fn download_keys_identify_themselves() {
        let k = download_key(SECRET, 42, 3);
        assert!(
            k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{k}"
        );
        assert_eq!(k.len(), 40);
        let claim = parse_download_key(&k).unwrap();
        assert_eq!((claim.serial, claim.version), (42, 3));
        assert!(claim.verify(SECRET, 3));
        assert!(
            !claim.verify(SECRET, 4),
            "a re-issued key replaces the old one"
        );
        assert!(!claim.verify(b"other secret", 3));
        assert_ne!(download_key(SECRET, 43, 3), k);
        // Checked against a tag computed beforehand, as the server's key cache does.
        assert!(claim.carries(&download_tag(SECRET, 42, 3), 3));
        assert!(!claim.carries(&download_tag(SECRET, 42, 4), 4));
        assert!(!claim.carries(&download_tag(SECRET, 42, 3), 4));
        assert!(!claim.carries(&download_tag(SECRET, 43, 3), 3));
        assert!(!claim.carries(&download_tag(b"other secret", 42, 3), 3));
    }

    #[test]
    fn forged_or_malformed_download_keys_fail() {
        let k = download_key(SECRET, 42, 3);
        // Another serial with this key's tag.
        let mut forged = parse_download_key(&k).unwrap();
        forged.serial = 41;
        assert!(!forged.verify(SECRET, 3));
        for bad in [
            "",
            "dk",
            "xx",
            &k[2..],
            &format!("{k}A"),
            &k[..39],
            "dk!!!!",
            &k.replace('d', "D"),
        ] {
            assert!(
                parse_download_key(bad).is_none_or(|c| !c.verify(SECRET, 3)),
                "{bad}"
            );
        }
    }

    #[test]
    fn base64url_round_trips() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64url_decode(&base64url(&data)).unwrap(), data);
        }
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn base64url_decode_caps_the_input_at_256_characters() {
        // 256 characters of valid unpadded base64url (192 bytes) still decode; 260 do not,
        // though they would be valid base64: the cap is what refuses them.
        let at_cap = "A".repeat(256);
        assert_eq!(base64url_decode(&at_cap).map(|b| b.len()), Some(192));
        assert_eq!(base64url_decode(&"A".repeat(260)), None);
        assert!(URL_SAFE_NO_PAD.decode("A".repeat(260)).is_ok());
    }
}
