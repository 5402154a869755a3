//! API tokens. Only a hash of each token is stored; the token itself is shown once, at creation.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    pub token_hash: String,
    /// `admin`, `publish` or `read`.
    pub scope: String,
    /// For `publish` tokens: the comma-separated extensions it may publish; `None` = all.
    pub extensions: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Store {
    pub async fn create_api_token(
        &self,
        name: &str,
        scope: &str,
        extensions: Option<&str>,
        token_hash: &str,
    ) -> Result<ApiTokenRow, StoreError> {
        sqlx::query_as(
            "INSERT INTO api_tokens (name, token_hash, scope, extensions, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(name)
        .bind(token_hash)
        .bind(scope)
        .bind(extensions)
        .bind(self.now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, "token"))
    }

    pub async fn count_api_tokens(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The live (not revoked) token with this hash.
    pub async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiTokenRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records use, at most once a minute per token so that a busy CI job does not write on
    /// every request.
    pub async fn touch_api_token(&self, id: i64) -> Result<(), StoreError> {
        let now = self.now_ms();
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - 60_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every token, newest first (revoked ones too: the audit log names them).
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM api_tokens ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn api_token(&self, id: i64) -> Result<Option<ApiTokenRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Revokes a live token; false if there is none with this id.
    pub async fn revoke_api_token(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(self.now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
