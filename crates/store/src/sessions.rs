//! Signed-in browser sessions (the admin console, the customer account pages) and the e-mailed
//! links that set a password. The cookie and the link hold a random token; only its hash is
//! stored.

use sqlx::FromRow;

use crate::{Store, StoreError};

/// A session as its user sees it in a list.
#[derive(Clone, Debug, FromRow)]
pub struct SessionSummary {
    pub id: i64,
    /// `admin` or `account`.
    pub scope: String,
    pub ip: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

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
    /// Records a session; returns its id.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        scope: &str,
        csrf: &str,
        expires_at: i64,
        ip: &str,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO sessions (token_hash, user_id, scope, csrf, created_at, expires_at, ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(scope)
        .bind(csrf)
        .bind(self.now_ms())
        .bind(expires_at)
        .bind(ip)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A user's unexpired sessions, newest first.
    pub async fn sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionSummary>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, scope, ip, created_at, expires_at FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY id DESC",
        )
        .bind(user_id)
        .bind(self.now_ms())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends one of a user's sessions; false if the user has no such session.
    pub async fn end_session_of_user(&self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The unexpired session with this token hash.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.user_id, s.scope, s.csrf, s.expires_at, u.email, u.is_admin, \
             u.disabled FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(self.now_ms())
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
            .bind(self.now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Store {
    /// Records a password link for the user (the token's hash) that works until `expires_at`.
    pub async fn create_password_link(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO password_links (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(self.now_ms())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user whose unused, unexpired link has this hash, without using it.
    pub async fn password_link_user(&self, token_hash: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM password_links \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(self.now_ms())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Uses the link with this hash, if it is still unused and unexpired, and with it every
    /// other link of the same user (a newer password makes older links pointless). Returns the
    /// user. Atomic: of two concurrent uses, one wins.
    pub async fn use_password_link(&self, token_hash: &str) -> Result<Option<i64>, StoreError> {
        let now = self.now_ms();
        let mut tx = self.pool.begin().await?;
        let user: Option<i64> = sqlx::query_scalar(
            "UPDATE password_links SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(user) = user {
            sqlx::query(
                "UPDATE password_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
            )
            .bind(now)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Forgets links that expired before `before`.
    pub async fn prune_password_links(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM password_links WHERE expires_at <= $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
