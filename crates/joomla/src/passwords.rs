//! The password hashes a Joomla site holds, checked the way Joomla checks them
//! (`UserHelper::verifyPassword`): bcrypt (`$2y$`, PHP's `password_hash` default since Joomla
//! 3.2), Argon2i and Argon2id (`PASSWORD_ARGON2I`/`ARGON2ID`, chosen in Joomla 4+), the phpass
//! portable form (`$P$`) of Joomla 3.0–3.1, and the salted MD5 `hash:salt` of Joomla 1.5–2.5
//! (with its unsalted variant). Every comparison is constant-time.

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// PHP's bcrypt reads at most this many bytes of a password and ignores the rest.
const BCRYPT_MAX_PASSWORD: usize = 72;

/// The kinds of hash a Joomla site may hold, for the start-up summary and the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashKind {
    Bcrypt,
    Argon2,
    Phpass,
    SaltedMd5,
    Unknown,
}

impl HashKind {
    pub fn of(hash: &str) -> HashKind {
        if hash.starts_with("$2y$") || hash.starts_with("$2a$") || hash.starts_with("$2b$") {
            HashKind::Bcrypt
        } else if hash.starts_with("$argon2i$") || hash.starts_with("$argon2id$") {
            HashKind::Argon2
        } else if hash.starts_with("$P$") || hash.starts_with("$H$") {
            HashKind::Phpass
        } else if is_salted_md5(hash) {
            HashKind::SaltedMd5
        } else {
            HashKind::Unknown
        }
    }
}

/// `md5hex` or `md5hex:salt`.
fn is_salted_md5(hash: &str) -> bool {
    let digest = hash.split_once(':').map_or(hash, |(d, _)| d);
    digest.len() == 32 && digest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `password` is the one `hash` was made from. An unknown or malformed hash is never
/// matched.
pub fn verify(password: &str, hash: &str) -> bool {
    match HashKind::of(hash) {
        HashKind::Bcrypt => {
            let bytes = password.as_bytes();
            let bytes = &bytes[..bytes.len().min(BCRYPT_MAX_PASSWORD)];
            bcrypt::verify(bytes, hash).unwrap_or(false)
        }
        HashKind::Argon2 => PasswordHash::new(hash).ok().is_some_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        }),
        HashKind::Phpass => phpass(password, hash).is_some_and(|made| equal(&made, hash)),
        HashKind::SaltedMd5 => {
            let (digest, salt) = hash.split_once(':').unwrap_or((hash, ""));
            let mut md5 = Md5::new();
            md5.update(password.as_bytes());
            md5.update(salt.as_bytes());
            let made = hex_lower(&md5.finalize());
            equal(&made, &digest.to_ascii_lowercase())
        }
        HashKind::Unknown => false,
    }
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// phpass's alphabet for its iteration count and its output.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The phpass portable hash of `password` under `setting`'s count and salt (its first 12
/// characters), or `None` for a malformed setting.
fn phpass(password: &str, setting: &str) -> Option<String> {
    let setting = setting.get(..12)?;
    let count_log2 = ITOA64.iter().position(|&c| c == setting.as_bytes()[3])?;
    if !(7..=30).contains(&count_log2) {
        return None;
    }
    let salt = &setting.as_bytes()[4..12];
    let mut digest = Md5::new()
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    for _ in 0..(1u32 << count_log2) {
        digest = Md5::new()
            .chain_update(digest)
            .chain_update(password)
            .finalize();
    }
    let mut out = setting.to_string();
    encode64(&digest, &mut out);
    Some(out)
}

/// phpass's own base-64: little-endian groups of three bytes, six bits at a time.
fn encode64(input: &[u8], out: &mut String) {
    for chunk in input.chunks(3) {
        let value = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, &b)| v | (u32::from(b) << (8 * i)));
        for k in 0..=chunk.len() {
            out.push(ITOA64[((value >> (6 * k)) & 0x3f) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by PHP 8.2's `password_hash` (bcrypt, Argon2i, Argon2id), by passlib's phpass, and
    // by PHP's `md5($password . $salt)`, for the password "correct horse" unless said.
    const BCRYPT: &str = "$2y$10$W33NqPgNbNK4Q/zuaHCZzeULH77Ao46EkekzX.MJ9/0gV31/2bY02";
    const ARGON2I: &str = "$argon2i$v=19$m=65536,t=4,p=1$OEx6Z2JpbUxiNEFsTDAzMQ$Aq69htsC5Kc83toPyq5QorPemWch+zomfTAetB3NY1I";
    const ARGON2ID: &str = "$argon2id$v=19$m=65536,t=4,p=1$b3pmQ1U4NXFRdHZ5Mk9Rcw$CZQpv2j8MegRI9PikbHxCmTup+cB8hFj6pKYUxCq9fg";
    const PHPASS: &str = "$P$9abcdefghPDonBA7cb6Wv7y6IfLfEF.";
    /// "pässwörd", 2^8 rounds.
    const PHPASS_UTF8: &str = "$P$6zyxwvutsCYFHcjaGIs34Ze4mXS5yl0";
    const SALTED_MD5: &str = "7708f5383be93f7f3da57ebc6032233c:saltsaltsaltsaltsaltsaltsaltsalt";

    #[test]
    fn every_joomla_form_verifies_its_password_only() {
        for hash in [BCRYPT, ARGON2I, ARGON2ID, PHPASS, SALTED_MD5] {
            assert!(verify("correct horse", hash), "{hash}");
            assert!(!verify("correct horse ", hash), "{hash}");
            assert!(!verify("", hash), "{hash}");
        }
        assert!(verify("pässwörd", PHPASS_UTF8));
        assert!(!verify("passwort", PHPASS_UTF8));
    }

    #[test]
    fn unsalted_md5_of_joomla_1_0() {
        // md5("correct horse")
        let hash = hex_lower(&Md5::digest(b"correct horse"));
        assert_eq!(HashKind::of(&hash), HashKind::SaltedMd5);
        assert!(verify("correct horse", &hash));
        assert!(verify("correct horse", &hash.to_ascii_uppercase()));
        assert!(!verify("correct", &hash));
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        for hash in [
            "",
            "x",
            "$2y$10$short",
            "$argon2id$garbage",
            "$P$",
            "$P$!abcdefgh0000000000000000000000",
            "$P$Zabcdefgh0000000000000000000000",
            "{SHA256}abc",
            "zz08f5383be93f7f3da57ebc6032233c:salt",
        ] {
            assert!(!verify("correct horse", hash), "{hash:?}");
            assert!(!verify("", hash), "{hash:?}");
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(HashKind::of(BCRYPT), HashKind::Bcrypt);
        assert_eq!(HashKind::of(ARGON2I), HashKind::Argon2);
        assert_eq!(HashKind::of(ARGON2ID), HashKind::Argon2);
        assert_eq!(HashKind::of(PHPASS), HashKind::Phpass);
        assert_eq!(HashKind::of(SALTED_MD5), HashKind::SaltedMd5);
        assert_eq!(HashKind::of("{SHA256}x"), HashKind::Unknown);
    }

    #[test]
    fn bcrypt_reads_72_bytes_as_php_does() {
        let long = "a".repeat(72);
        let hash = bcrypt::hash(long.as_bytes(), 4).unwrap();
        assert!(verify(&format!("{long}and more"), &hash));
    }
}
