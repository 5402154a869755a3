//! Users: accounts, passwords (hashes only), console access, disabled flags.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    pub id: i64,
    /// Normalised: trimmed and lower-cased.
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    /// 0 or 1.
    pub disabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// 0 or 1: may sign in to the admin console.
    pub is_admin: i64,
    /// The Joomla user this one mirrors (`[identity] kind = "joomla"`); `None` for depot's own.
    pub joomla_id: Option<i64>,
}

impl Store {
    pub async fn create_user(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<UserRow, StoreError> {
        let mut tx = self.access_write().await?;
        let row = sqlx::query_as(
            "INSERT INTO users (email, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             RETURNING *",
        )
        .bind(email)
        .bind(name)
        .bind(self.now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "user"))?;
        self.commit_access(tx).await?;
        Ok(row)
    }

    /// `email` must already be normalised.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn user_by_joomla_id(&self, joomla_id: i64) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE joomla_id = $1")
            .bind(joomla_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Sets the user's password hash and ends every session they have (console and account),
    /// in one transaction: whoever signed in with the old password is signed out everywhere.
    pub async fn set_password_hash(&self, id: i64, hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(self.now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        end_sessions_of(&mut tx, id, None).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Grants or withdraws the admin console; withdrawing ends the user's console sessions.
    pub async fn set_user_admin(&self, id: i64, admin: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET is_admin = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(admin))
            .bind(self.now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if !admin {
            end_sessions_of(&mut tx, id, Some("admin")).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables or enables the user. Disabling ends every session they have, so that enabling
    /// them again does not bring an old session back.
    pub async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(disabled))
            .bind(self.now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            end_sessions_of(&mut tx, id, None).await?;
        }
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Users ordered by id, after `after_id`, optionally only those whose address contains
    /// `email_like` (already lower-case).
    /// The enabled users who may sign in to the console.
    pub async fn admins(&self) -> Result<Vec<UserRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE is_admin = 1 AND disabled = 0 ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn users(
        &self,
        email_like: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<UserRow>, StoreError> {
        let pattern = format!("%{}%", email_like.unwrap_or_default());
        Ok(sqlx::query_as(
            "SELECT * FROM users WHERE id > $1 AND email LIKE $2 ORDER BY id LIMIT $3",
        )
        .bind(after_id)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_user_name(&self, id: i64, name: Option<&str>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(self.now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Ends the user's sessions of one scope (`admin`, `account`), or of every scope. The sessions
/// live in the database, so this ends them on every instance at once.
async fn end_sessions_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: i64,
    scope: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR scope = $2)")
        .bind(user_id)
        .bind(scope)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
