//! Generation numbers: every write to the catalogue bumps `catalogue_state.generation`, and every write
//! to what decides entitlement (users, memberships, package groups, keys) bumps
//! `access_state.generation`, in the same transaction and as its first statement. Other instances
//! poll the two numbers to drop their caches, and on SQLite taking the write lock first keeps two
//! writers from deadlocking on a lock upgrade.

use std::sync::atomic::Ordering;

use sqlx::{Any, Transaction};

use crate::{Store, StoreError};

/// The generation numbers that writes bump (see `catalogue_state` and `access_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generations {
    pub catalogue: i64,
    pub access: i64,
    /// When the identity source (a Joomla site) was last read in full, by any instance.
    pub identity_synced_at: Option<i64>,
}

/// Moves the catalogue generation inside another write (a change to what feeds show made
/// through a non-catalogue table, such as a package group's private feeds).
pub(crate) async fn bump_catalogue(tx: &mut Transaction<'static, Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE catalogue_state SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Begins a write to the catalogue (extensions, releases, artifacts), bumping the catalogue
    /// generation first in the same transaction, so other instances drop their feed caches.
    pub(crate) async fn catalogue_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE catalogue_state SET generation = generation + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Commits a `catalogue_write` and remembers the generation it made, so that this process's
    /// cache poller knows the change is already reflected here (see `catalogue_written`).
    pub(crate) async fn commit_catalogue(
        &self,
        mut tx: Transaction<'static, Any>,
    ) -> Result<(), StoreError> {
        let generation: i64 =
            sqlx::query_scalar("SELECT generation FROM catalogue_state WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        self.catalogue_written
            .fetch_max(generation, Ordering::SeqCst);
        Ok(())
    }

    /// The newest catalogue generation this process has committed. Writers hold the
    /// generation's row until they commit, so every change up to it is committed too: a cache
    /// cleared after this process's write has nothing older to miss.
    pub fn catalogue_written(&self) -> i64 {
        self.catalogue_written.load(Ordering::SeqCst)
    }

    /// Begins a write to what decides entitlement. Bumping the access generation comes first,
    /// in the same transaction: instances drop their cached checks when it moves, and on SQLite
    /// taking the write lock first keeps two writers from deadlocking on a lock upgrade.
    pub(crate) async fn access_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE access_state SET generation = generation + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Commits an `access_write` and tells this process's caches at once.
    pub(crate) async fn commit_access(
        &self,
        tx: Transaction<'static, Any>,
    ) -> Result<(), StoreError> {
        tx.commit().await?;
        self.access_writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// How many access writes this process has committed: a cache that saw a different count
    /// must not trust what it holds.
    pub fn access_writes(&self) -> u64 {
        self.access_writes.load(Ordering::SeqCst)
    }

    /// A number that changes whenever anything a feed shows changes.
    pub async fn catalogue_generation(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT generation FROM catalogue_state WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Both generations in one round trip, for the instances' cache pollers.
    pub async fn generations(&self) -> Result<Generations, StoreError> {
        let (catalogue, access, identity_synced_at) = sqlx::query_as(
            "SELECT c.generation, a.generation, i.last_success_at \
             FROM catalogue_state c, access_state a, identity_sync i \
             WHERE c.id = 1 AND a.id = 1 AND i.id = 1",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Generations {
            catalogue,
            access,
            identity_synced_at,
        })
    }
}
