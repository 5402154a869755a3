//! Debian's `minisign`, run on what depot serves: keys made by it, signatures checked by it.

use std::path::{Path, PathBuf};

use super::skip;

/// Runs `minisign -V` on `file` with `signature` and `public_key` (all written into `dir`);
/// `None` (a skip) without Debian's minisign. Returns whether it verified, and what it said.
pub fn minisign_verify(
    dir: &Path,
    file: &[u8],
    signature: &str,
    public_key: &str,
) -> Option<(bool, String)> {
    let (f, s, p) = (
        dir.join("package.zip"),
        dir.join("package.zip.minisig"),
        dir.join("key.pub"),
    );
    std::fs::write(&f, file).unwrap();
    std::fs::write(&s, signature).unwrap();
    std::fs::write(&p, public_key).unwrap();
    let out = std::process::Command::new("minisign")
        .arg("-V")
        .arg("-p")
        .arg(&p)
        .arg("-m")
        .arg(&f)
        .arg("-x")
        .arg(&s)
        .output();
    match out {
        Ok(o) => Some((
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )),
        Err(_) => {
            skip("minisign (Debian's minisign) is not installed");
            None
        }
    }
}

/// A key made by minisign itself (`minisign -G -W`) in `dir`; returns the secret key's path and
/// the public key file. `None` (a skip) without Debian's minisign.
pub fn minisign_key(dir: &Path, name: &str) -> Option<(PathBuf, String)> {
    let (s, p) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    );
    let out = std::process::Command::new("minisign")
        .args(["-G", "-W", "-f"])
        .arg("-s")
        .arg(&s)
        .arg("-p")
        .arg(&p)
        .output();
    match out {
        Ok(o) if o.status.success() => Some((s, std::fs::read_to_string(&p).unwrap())),
        Ok(o) => panic!("minisign -G: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => {
            skip("minisign (Debian's minisign) is not installed");
            None
        }
    }
}

/// Signs `file` with the secret key at `secret` (`minisign -S`); the `.minisig` file's text.
pub fn minisign_sign(secret: &Path, file: &Path) -> String {
    let signature = file.with_extension("minisig-out");
    let out = std::process::Command::new("minisign")
        .arg("-S")
        .arg("-s")
        .arg(secret)
        .arg("-m")
        .arg(file)
        .arg("-x")
        .arg(&signature)
        .output()
        .expect("minisign -S");
    assert!(
        out.status.success(),
        "minisign -S: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(signature).unwrap()
}
