//! Package groups and the user groups they allow.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct PackageGroupRow {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub seed: String,
    /// `active` or `keep-released`.
    pub policy: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// 1: its extensions' feeds answer only a customer's key in the URL (`?dlid=`), and the
    /// collection leaves them out.
    pub private_feeds: i64,
}

impl Store {
    pub async fn create_package_group(
        &self,
        name: &str,
        title: &str,
        seed: &str,
        policy: &str,
        private_feeds: bool,
        groups: &[i64],
    ) -> Result<PackageGroupRow, StoreError> {
        let mut tx = self.access_write().await?;
        let now = self.now_ms();
        let row: PackageGroupRow = sqlx::query_as(
            "INSERT INTO package_groups (name, title, seed, policy, private_feeds, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *",
        )
        .bind(name)
        .bind(title)
        .bind(seed)
        .bind(policy)
        .bind(i64::from(private_feeds))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "package group"))?;
        for g in groups {
            sqlx::query(
                "INSERT INTO package_group_members (package_group_id, group_id) VALUES ($1, $2)",
            )
            .bind(row.id)
            .bind(g)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_access(tx).await?;
        Ok(row)
    }

    pub async fn package_group(&self, id: i64) -> Result<Option<PackageGroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM package_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn package_group_by_name(
        &self,
        name: &str,
    ) -> Result<Option<PackageGroupRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM package_groups WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Deletes a package group that no extension belongs to (with its allowed groups and the
    /// users' jBackend key versions). `false` when it is unknown or in use.
    pub async fn delete_unused_package_group(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        // Its allowed groups and key versions go with it (ON DELETE CASCADE).
        let done = sqlx::query(
            "DELETE FROM package_groups WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM extensions WHERE package_group_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes a package group's display name, policy and private feeds (the policy decides
    /// downloads, so the change counts as an access write; private feeds decide what the feeds
    /// show, so it moves the catalogue generation too).
    pub async fn update_package_group(
        &self,
        id: i64,
        title: &str,
        policy: &str,
        private_feeds: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.access_write().await?;
        let before: i64 =
            sqlx::query_scalar("SELECT private_feeds FROM package_groups WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "UPDATE package_groups SET title = $1, policy = $2, private_feeds = $3 WHERE id = $4",
        )
        .bind(title)
        .bind(policy)
        .bind(i64::from(private_feeds))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if before != i64::from(private_feeds) {
            crate::generations::bump_catalogue(&mut tx).await?;
        }
        self.commit_access(tx).await?;
        Ok(())
    }

    /// Whether a package group that allows `group_id` keeps what was paid for
    /// (`keep-released`).
    pub async fn group_keeps_released(&self, group_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM package_groups p \
             JOIN package_group_members m ON m.package_group_id = p.id \
             WHERE m.group_id = $1 AND p.policy = 'keep-released'",
        )
        .bind(group_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    pub async fn package_groups(&self) -> Result<Vec<PackageGroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM package_groups ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The user groups a package group allows.
    pub async fn package_group_members(
        &self,
        package_group_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT group_id FROM package_group_members WHERE package_group_id = $1              ORDER BY group_id",
        )
        .bind(package_group_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
