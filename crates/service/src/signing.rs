//! Signed artifacts. depot signs every package it publishes with an Ed25519 key in minisign's
//! format, so that a customer, a CI script or an updater can check that a file came from this
//! depot: `minisign -Vm FILE -p signing-key.pub`. Signatures are prehashed (BLAKE2b-512, the
//! default of minisign since 0.8), so a file of any size is signed and checked in one pass.
//!
//! The key is minisign's own unencrypted secret-key file (`minisign -G -W` makes one), generated
//! once into the data directory unless configured; several instances must share it, like the
//! server secret.
//!
//! Rotation: put a new key in place of the old one and restart. New packages are signed with
//! it, and the existing ones are re-signed in the background ([`resign_loop`]); until a package
//! is re-signed its old signature is still served, and still checks against the old public key,
//! which stays at `/signing-keys/{key_id}.pub` (every key depot has signed with is kept).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use depot_storage::ObjectBody;
use depot_store::NewSignature;
use minisign::{KeyPair, PublicKey, SecretKey, SecretKeyBox};

use crate::{Depot, ServiceError, ServiceResult};

/// How many packages one pass of the re-signing loop signs before it lets the catalogue see
/// them.
const RESIGN_BATCH: i64 = 50;

/// The key packages are signed with, and its public half in minisign's file format.
pub struct SigningKey {
    secret: SecretKey,
    public: PublicKey,
    key_id: String,
    public_file: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A signing key that cannot be read or made.
#[derive(Debug, thiserror::Error)]
#[error("signing key {}: {reason}", path.display())]
pub struct SigningKeyError {
    pub path: PathBuf,
    pub reason: String,
}

impl SigningKey {
    /// Reads the unencrypted minisign secret key at `path`, or, when `generate` and there is no
    /// file there, makes one (readable by its owner only).
    pub fn load(path: &Path, generate: bool) -> Result<SigningKey, SigningKeyError> {
        let error = |reason: String| SigningKeyError {
            path: path.to_path_buf(),
            reason,
        };
        if generate && !path.exists() {
            let generated = SigningKey::generate().map_err(|e| error(e.to_string()))?;
            let text = generated
                .secret
                .to_box(Some("depot signing key (unencrypted minisign secret key)"))
                .map_err(|e| error(e.to_string()))?
                .to_string();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut f) => std::io::Write::write_all(&mut f, text.as_bytes())
                    .map_err(|e| error(e.to_string()))?,
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(error(e.to_string())),
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        SigningKey::from_secret_key_file(&text).map_err(error)
    }

    /// A new random key.
    pub fn generate() -> Result<SigningKey, minisign::PError> {
        let KeyPair { pk, sk } = KeyPair::generate_unencrypted_keypair()?;
        Ok(SigningKey::new(sk, pk))
    }

    /// The key in a minisign secret-key file's text.
    pub fn from_secret_key_file(text: &str) -> Result<SigningKey, String> {
        let refused = |why: String| {
            format!(
                "not an unencrypted minisign secret key ({why}); make one with \
                 `minisign -G -W -s FILE`"
            )
        };
        let secret = match SecretKeyBox::from_string(text)
            .and_then(SecretKeyBox::into_unencrypted_secret_key)
        {
            Ok(secret) => secret,
            // minisign 0.11 writes an unencrypted key (`-W`) with an empty checksum, which
            // the crate refuses as corrupted: read it as the tool does, and let the signing
            // test below catch a key that is really damaged.
            Err(e) => unchecked_secret_key(text).ok_or_else(|| refused(e.to_string()))?,
        };
        let public = PublicKey::from_secret_key(&secret).map_err(|e| refused(e.to_string()))?;
        let key = SigningKey::new(secret, public);
        // `sign` checks its signature with the public half: a key whose halves disagree fails.
        key.sign(&b"depot"[..], "self-test", 0)
            .map_err(|e| refused(e.to_string()))?;
        Ok(key)
    }

    fn new(secret: SecretKey, public: PublicKey) -> SigningKey {
        let key_id = key_id(public.keynum());
        let public_file = format!(
            "untrusted comment: minisign public key {key_id}\n{}\n",
            public.to_base64()
        );
        SigningKey {
            secret,
            public,
            key_id,
            public_file,
        }
    }

    /// minisign's name for the key: 16 upper-case hex digits.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key as minisign's `.pub` file.
    pub fn public_key_file(&self) -> &str {
        &self.public_file
    }

    /// The public key on one line, for `minisign -P`.
    pub fn public_key_line(&self) -> &str {
        self.public_file.lines().nth(1).unwrap_or_default()
    }

    /// The `.minisig` of `data`, named `filename`, signed at `at_secs` (Unix seconds). The
    /// trusted comment is the one minisign itself writes, so `minisign -V` prints the same.
    pub fn sign(&self, data: impl Read, filename: &str, at_secs: i64) -> std::io::Result<String> {
        let trusted = format!("timestamp:{at_secs}\tfile:{filename}\thashed");
        let untrusted = format!("signature from depot secret key {}", self.key_id);
        minisign::sign(
            Some(&self.public),
            &self.secret,
            data,
            Some(&trusted),
            Some(&untrusted),
        )
        .map(|b| b.into_string())
        .map_err(std::io::Error::other)
    }
}

/// An unencrypted secret key read without its checksum.
fn unchecked_secret_key(text: &str) -> Option<SecretKey> {
    use base64::Engine;
    let encoded = text.lines().nth(1)?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    SecretKey::from_bytes(&bytes)
        .ok()
        .filter(|k| !k.is_encrypted())
}

/// minisign prints a key number as the little-endian u64 it is, in hex.
fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

impl Depot {
    /// The key new signatures are made with.
    pub fn signing_key(&self) -> &SigningKey {
        &self.settings().signing_key
    }

    /// Every public key depot has signed with (the current one first), as `(key id, .pub)`.
    pub async fn signing_keys(&self) -> ServiceResult<Vec<(String, String)>> {
        let current = self.signing_key();
        let mut keys = vec![(
            current.key_id().to_string(),
            current.public_key_file().to_string(),
        )];
        for k in self.store().signing_keys().await? {
            if k.key_id != current.key_id() {
                keys.push((k.key_id, k.public_key));
            }
        }
        Ok(keys)
    }

    /// A key depot has signed with, by its id.
    pub async fn signing_key_file(&self, key_id: &str) -> ServiceResult<String> {
        self.signing_keys()
            .await?
            .into_iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(key_id))
            .map(|(_, file)| file)
            .ok_or(ServiceError::NotFound {
                what: "signing key",
            })
    }

    /// Signs a spooled upload.
    pub(crate) async fn sign_file(
        &self,
        path: &Path,
        filename: &str,
    ) -> ServiceResult<NewSignature> {
        self.remember_signing_key().await?;
        let file = std::fs::File::open(path)?;
        self.sign_reader(std::io::BufReader::new(file), filename)
            .await
    }

    /// Signs off the async runtime (the whole file is hashed). The caller has remembered the
    /// key.
    async fn sign_reader(
        &self,
        data: impl Read + Send + 'static,
        filename: &str,
    ) -> ServiceResult<NewSignature> {
        let depot = self.clone();
        let filename = filename.to_string();
        let at = self.now_ms() / 1000;
        tokio::task::spawn_blocking(move || {
            let key = depot.signing_key();
            Ok(NewSignature {
                key_id: key.key_id().to_string(),
                minisig: key.sign(data, &filename, at)?,
            })
        })
        .await
        .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?
    }

    /// Keeps the current public key, so its signatures stay checkable after a rotation.
    async fn remember_signing_key(&self) -> ServiceResult<()> {
        let key = self.signing_key();
        self.store()
            .remember_signing_key(key.key_id(), key.public_key_file())
            .await?;
        Ok(())
    }

    /// Signs, with the current key, the packages after artifact `after` (up to `limit` of
    /// them) that have no signature or one by another key.
    pub async fn resign_packages(&self, after: i64, limit: i64) -> ServiceResult<ResignBatch> {
        let key_id = self.signing_key().key_id().to_string();
        let unsigned = self
            .store()
            .artifacts_to_sign(&key_id, after, limit)
            .await?;
        let mut batch = ResignBatch {
            looked_at: unsigned.len(),
            last: unsigned.last().map_or(after, |a| a.id),
            signed: 0,
        };
        if !unsigned.is_empty() {
            self.remember_signing_key().await?;
        }
        let mut signed = Vec::new();
        for artifact in unsigned {
            let object = match self.storage().get(&artifact.storage_key, None).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(key = %artifact.storage_key, error = %e, "could not read a package to sign it");
                    continue;
                }
            };
            let signature = match object.body {
                ObjectBody::File(local) => {
                    self.sign_reader(
                        std::io::BufReader::new(local.into_reader()),
                        &artifact.filename,
                    )
                    .await?
                }
                ObjectBody::Stream(stream) => {
                    // A remote object is read into a spooled file first: signing is blocking.
                    let spooled = crate::spool(&self.settings().temp_dir, stream, u64::MAX).await?;
                    let file = std::io::BufReader::new(spooled.file.reopen()?);
                    self.sign_reader(file, &artifact.filename).await?
                }
            };
            signed.push((artifact.id, signature));
        }
        batch.signed = signed.len();
        if !signed.is_empty() {
            self.store().save_signatures(&signed).await?;
            self.invalidate_catalogue();
            tracing::info!(signed = signed.len(), key_id = %key_id, "signed packages");
        }
        Ok(batch)
    }
}

/// What one pass of re-signing did.
#[derive(Clone, Copy, Debug)]
pub struct ResignBatch {
    /// Packages it found to sign.
    pub looked_at: usize,
    /// Of those, the ones it signed (a package whose file cannot be read is left for the next
    /// start, with a warning).
    pub signed: usize,
    /// The last artifact it looked at: the next pass starts after it.
    pub last: i64,
}

/// At start, signs what is unsigned or signed by an older key (packages published before
/// depot signed, or before a rotation), a batch at a time, until nothing is left.
pub(crate) async fn resign_loop(depot: Depot) {
    let mut after = 0;
    loop {
        match depot.resign_packages(after, RESIGN_BATCH).await {
            Ok(batch) if batch.looked_at < RESIGN_BATCH as usize => return,
            Ok(batch) => after = batch.last,
            Err(e) => {
                tracing::warn!(error = %e, "could not sign packages; trying again in a minute");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_from_its_file_with_the_same_id() {
        let key = SigningKey::generate().unwrap();
        let file = key.secret.to_box(None).unwrap().to_string();
        let again = SigningKey::from_secret_key_file(&file).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(again.public_key_file(), key.public_key_file());
        assert_eq!(key.key_id().len(), 16);
        assert!(key.public_key_line().starts_with("RW"));
    }

    #[test]
    fn signatures_carry_minisigns_trusted_comment_and_verify() {
        let key = SigningKey::generate().unwrap();
        let sig = key
            .sign(&b"package bytes"[..], "com_x-1.0.0.zip", 1_700_000_000)
            .unwrap();
        let lines: Vec<&str> = sig.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            format!(
                "untrusted comment: signature from depot secret key {}",
                key.key_id()
            )
        );
        assert_eq!(
            lines[2],
            "trusted comment: timestamp:1700000000\tfile:com_x-1.0.0.zip\thashed"
        );
        let sig_box = minisign::SignatureBox::from_string(&sig).unwrap();
        assert!(
            minisign::verify(
                &key.public,
                &sig_box,
                std::io::Cursor::new(b"package bytes"),
                true,
                false,
                false
            )
            .is_ok()
        );
        assert!(
            minisign::verify(
                &key.public,
                &sig_box,
                std::io::Cursor::new(b"other bytes"),
                true,
                false,
                false
            )
            .is_err()
        );
    }

    #[test]
    fn an_encrypted_or_garbled_key_is_refused_with_the_way_out() {
        let err =
            SigningKey::from_secret_key_file("untrusted comment: x\nnot base64\n").unwrap_err();
        assert!(err.contains("minisign -G -W"), "{err}");
    }
}
