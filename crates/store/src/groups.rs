//! User groups.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    /// `depot`, or `joomla` for a group mirrored from the Joomla site (same id as there).
    pub source: String,
}

impl Store {
    pub async fn create_group(&self, id: i64, name: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_groups (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(self.now_ms())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::unique(e, "group"))?;
        Ok(())
    }

    /// Renames a group; `false` when there is none.
    pub async fn rename_group(&self, id: i64, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE user_groups SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a group that nothing refers to: no membership (past ones included, so no
    /// subscription history is lost) and no package group. `false` when it is unknown or in
    /// use; the check and the delete are one statement, so a membership added meanwhile is
    /// never deleted with it.
    pub async fn delete_unused_group(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let done = sqlx::query(
            "DELETE FROM user_groups WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM memberships WHERE group_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM package_group_members WHERE group_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many memberships and package groups refer to a group.
    pub async fn group_usage(&self, id: i64) -> Result<(i64, i64), StoreError> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM memberships WHERE group_id = $1), \
             (SELECT COUNT(*) FROM package_group_members WHERE group_id = $1)",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM user_groups ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn group(&self, id: i64) -> Result<Option<GroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM user_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
