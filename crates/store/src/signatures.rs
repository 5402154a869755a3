//! Artifacts' minisign signatures and the public keys that check them.

use sqlx::{Any, FromRow, Transaction};

use crate::releases::NewSignature;
use crate::{Store, StoreError};

/// A public key depot has signed with.
#[derive(Clone, Debug, FromRow)]
pub struct SigningKeyRow {
    pub key_id: String,
    /// minisign's `.pub` file.
    pub public_key: String,
    pub first_used_at: i64,
}

/// An artifact to sign (again).
#[derive(Clone, Debug, FromRow)]
pub struct UnsignedArtifact {
    pub id: i64,
    pub storage_key: String,
    pub filename: String,
}

pub(crate) async fn insert(
    tx: &mut Transaction<'_, Any>,
    artifact_id: i64,
    signature: &NewSignature,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        // An artifact replaced (a draft's) while it was being signed is skipped.
        "INSERT INTO artifact_signatures (artifact_id, key_id, minisig, signed_at) \
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM artifacts WHERE id = $1) \
         ON CONFLICT (artifact_id) DO UPDATE SET \
         key_id = excluded.key_id, minisig = excluded.minisig, signed_at = excluded.signed_at",
    )
    .bind(artifact_id)
    .bind(&signature.key_id)
    .bind(&signature.minisig)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Keeps a public key (once; the first use is what is kept).
    pub async fn remember_signing_key(
        &self,
        key_id: &str,
        public_key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (key_id, public_key, first_used_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(public_key)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every public key depot has signed with, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT key_id, public_key, first_used_at FROM signing_keys \
             ORDER BY first_used_at DESC, key_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Up to `limit` artifacts after artifact `after` with no signature by `key_id`, oldest
    /// first.
    pub async fn artifacts_to_sign(
        &self,
        key_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<UnsignedArtifact>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.id, a.storage_key, a.filename FROM artifacts a \
             LEFT JOIN artifact_signatures s ON s.artifact_id = a.id \
             WHERE a.id > $2 AND (s.artifact_id IS NULL OR s.key_id <> $1) \
             ORDER BY a.id LIMIT $3",
        )
        .bind(key_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores signatures made after their artifacts were (a catalogue write: downloads serve
    /// them).
    pub async fn save_signatures(
        &self,
        signatures: &[(i64, NewSignature)],
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        for (artifact_id, signature) in signatures {
            insert(&mut tx, *artifact_id, signature, now).await?;
        }
        self.commit_catalogue(tx).await?;
        Ok(())
    }
}

impl Store {
    /// An artifact's signature and the key that made it.
    pub async fn signature_of(
        &self,
        artifact_id: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(
            sqlx::query_as(
                "SELECT key_id, minisig FROM artifact_signatures WHERE artifact_id = $1",
            )
            .bind(artifact_id)
            .fetch_optional(&self.pool)
            .await?,
        )
    }
}
