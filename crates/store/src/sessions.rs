//! Signed-in browser sessions (the admin console, the customer account pages). The cookie holds
//! a random token; only its hash is stored, with the session's CSRF token and expiry.

use sqlx::FromRow;

use crate::{Store, StoreError, now_ms};

/// A live session with what a page needs of its user.
#[derive(Clone, Debug, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    /// `admin` or `account`.
    pub scope: String,
    pub csrf: String,
    pub expires_at: i64,
    pub email: String,
    pub is_admin: i64,
    pub disabled: i64,
}

impl Store {
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        scope: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, scope, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(scope)
        .bind(csrf)
        .bind(now_ms())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The unexpired session with this token hash.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.user_id, s.scope, s.csrf, s.expires_at, u.email, u.is_admin, \
             u.disabled FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets expired sessions.
    pub async fn prune_sessions(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
