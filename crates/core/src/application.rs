//! Applications: products whose releases hold one build per platform (Tauri's updater asks for
//! `{target}/{arch}`), each signed by the vendor with their own key.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::wordpress::Slug;

/// The most a target or an arch may hold: Tauri's are `linux`, `windows`, `darwin`, `x86_64`,
/// `aarch64`, `i686`, `armv7`; custom targets are names of the same kind.
const MAX_PART_LEN: usize = 32;

/// A file name longer than this is a mistake, not a build.
const MAX_FILENAME_LEN: usize = 200;

/// A Tauri `.sig` is a few hundred bytes; this bounds what is kept and rendered.
const MAX_SIGNATURE_LEN: usize = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApplicationError {
    #[error("{0:?} is not an application name: use lower-case letters and digits joined by '-'")]
    BadName(String),
    #[error(
        "{0:?} is not a platform part: use 1 to 32 lower-case letters, digits or '_' \
         (targets linux, windows, darwin; arches x86_64, aarch64, i686, armv7)"
    )]
    BadPlatform(String),
    #[error(
        "{0:?} is not a build's file name: use up to 200 letters, digits, '.', '_', '-' or '+', \
         not starting with '.' nor ending with .minisig"
    )]
    BadFilename(String),
    #[error("the signature is not a Tauri .sig (a minisign signature, base64-encoded): {0}")]
    BadSignature(&'static str),
}

/// An application's name: a slug (`acme-notes`).
pub fn check_name(name: &str) -> Result<(), ApplicationError> {
    Slug::parse(name)
        .map(drop)
        .map_err(|_| ApplicationError::BadName(name.to_string()))
}

/// What a build runs on, as Tauri's updater names it in its URL.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    target: String,
    arch: String,
}

impl Platform {
    pub fn new(target: &str, arch: &str) -> Result<Platform, ApplicationError> {
        for part in [target, arch] {
            let ok = !part.is_empty()
                && part.len() <= MAX_PART_LEN
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(ApplicationError::BadPlatform(part.to_string()));
            }
        }
        Ok(Platform {
            target: target.to_string(),
            arch: arch.to_string(),
        })
    }

    /// `linux-x86_64`, as stored (neither part holds a `-`).
    pub fn parse(platform: &str) -> Result<Platform, ApplicationError> {
        let (target, arch) = platform
            .split_once('-')
            .ok_or_else(|| ApplicationError::BadPlatform(platform.to_string()))?;
        Platform::new(target, arch)
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn arch(&self) -> &str {
        &self.arch
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.target, self.arch)
    }
}

/// A build's file name: kept as the vendor's CI made it (`Acme_1.2.0_x64-setup.exe`,
/// `acme.app.tar.gz`), since installers are told apart by it. It must not end in `.minisig`,
/// which names the signature beside every download.
pub fn check_build_filename(name: &str) -> Result<(), ApplicationError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_FILENAME_LEN
        && !name.starts_with('.')
        && !name.ends_with(".minisig")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(ApplicationError::BadFilename(name.to_string()))
    }
}

/// Checks that `sig` is what `tauri signer sign` writes (the base64 of a minisign signature
/// file) and returns it trimmed. The vendor's key is theirs: depot cannot verify the
/// signature, only refuse what could never verify.
pub fn check_vendor_signature(sig: &str) -> Result<String, ApplicationError> {
    let sig = sig.trim();
    if sig.is_empty() {
        return Err(ApplicationError::BadSignature("it is empty"));
    }
    if sig.len() > MAX_SIGNATURE_LEN {
        return Err(ApplicationError::BadSignature("it is too long"));
    }
    let decoded = STANDARD
        .decode(sig)
        .map_err(|_| ApplicationError::BadSignature("it is not base64"))?;
    let text = String::from_utf8(decoded)
        .map_err(|_| ApplicationError::BadSignature("it does not decode to text"))?;
    let mut lines = text.lines();
    if !lines
        .next()
        .is_some_and(|l| l.starts_with("untrusted comment:"))
    {
        return Err(ApplicationError::BadSignature(
            "its first line is not an untrusted comment",
        ));
    }
    // Algorithm (2 bytes), key id (8), Ed25519 signature (64).
    let signature_line = lines
        .next()
        .and_then(|l| STANDARD.decode(l.trim()).ok())
        .filter(|bytes| {
            bytes.len() == 74 && (bytes.starts_with(b"Ed") || bytes.starts_with(b"ED"))
        });
    if signature_line.is_none() {
        return Err(ApplicationError::BadSignature(
            "its second line is not an Ed25519 signature",
        ));
    }
    Ok(sig.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_as_tauri_names_them() {
        let p = Platform::new("linux", "x86_64").unwrap();
        assert_eq!(p.to_string(), "linux-x86_64");
        assert_eq!(Platform::parse("linux-x86_64"), Ok(p));
        for (t, a) in [
            ("", "x86_64"),
            ("Linux", "x86_64"),
            ("linux", "x86-64"),
            ("linux", "a/b"),
        ] {
            assert!(Platform::new(t, a).is_err(), "{t} {a}");
        }
        assert!(Platform::parse("linux").is_err());
    }

    #[test]
    fn build_file_names() {
        for ok in [
            "Acme_1.2.0_x64-setup.exe",
            "acme.app.tar.gz",
            "acme_1.2.0_amd64.AppImage",
        ] {
            assert_eq!(check_build_filename(ok), Ok(()), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "a b", "x.zip.minisig", "..", "%2e"] {
            assert!(check_build_filename(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vendor_signatures_must_be_minisign_in_base64() {
        let sig_line = STANDARD.encode([b"Ed".as_slice(), &[7u8; 72]].concat());
        let file = format!(
            "untrusted comment: signature from tauri secret key\n{sig_line}\n\
             trusted comment: timestamp:1\tfile:acme.tar.gz\nAAAA\n"
        );
        let sig = STANDARD.encode(file);
        assert_eq!(check_vendor_signature(&format!(" {sig}\n")), Ok(sig));
        assert!(check_vendor_signature("").is_err());
        assert!(check_vendor_signature("not base64!").is_err());
        assert!(check_vendor_signature(&STANDARD.encode("hello\nworld\n")).is_err());
        let short = STANDARD.encode("untrusted comment: x\nRWQ=\n");
        assert!(check_vendor_signature(&short).is_err());
    }

    #[test]
    fn names_are_slugs() {
        assert_eq!(check_name("acme-notes"), Ok(()));
        assert!(check_name("Acme Notes").is_err());
    }
}
