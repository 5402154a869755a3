//! Every row that matters, out of one consistent snapshot and back into an empty database, the
//! same on both backends (so a backup also moves a depot from SQLite to PostgreSQL).

use futures::TryStreamExt;
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Any, AssertSqlSafe, Column, Row, Transaction};

use crate::{Backend, Store, StoreError};

/// The tables a backup holds, in an order that restores without breaking a foreign key. Left
/// out, as state rather than data: rate-limit windows, sessions (users sign in again),
/// password links (a new one can be asked for) and the identity source's mirroring state (the
/// next pass reads the site again).
pub const BACKUP_TABLES: &[&str] = &[
    "catalogue_state",
    "access_state",
    "users",
    "user_groups",
    "package_groups",
    "package_group_members",
    "extensions",
    "releases",
    "artifacts",
    "signing_keys",
    "artifact_signatures",
    "api_tokens",
    "download_events",
    "feed_checks",
    "download_days",
    "feed_sites",
    "memberships",
    "jbackend_key_versions",
    "download_keys",
    "ars_update_streams",
    "sale_prices",
    "sale_customers",
    "sales",
    "sale_refund_refs",
    "sale_events",
    "webhook_endpoints",
    "webhook_deliveries",
    "mail_outbox",
    "audit_log",
];

/// The backed-up tables whose `id` the database generates (`{id}` in `migrations`): after a
/// restore, PostgreSQL's sequences must move past the restored ids. (Any other statement here
/// that failed would abort the transaction, and PostgreSQL answers a `COMMIT` of an aborted
/// transaction by rolling it back without an error: so no guessing.)
const IDENTITY_TABLES: &[&str] = &[
    "users",
    "package_groups",
    "extensions",
    "releases",
    "artifacts",
    "api_tokens",
    "download_events",
    "memberships",
    "download_keys",
    "sales",
    "webhook_endpoints",
    "webhook_deliveries",
    "mail_outbox",
    "audit_log",
];

/// Tables with one row that migrations create; a restore replaces it.
const SINGLETONS: &[&str] = &["catalogue_state", "access_state"];

/// The schema holds two column types (see `migrations`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Text,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// Names that may be spliced into SQL: a backup is a file, and a file can be edited.
fn is_identifier(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What a dump hands out: the columns once, then each row.
pub enum Dumped<'a> {
    Columns(&'a [(String, ColumnKind)]),
    Row(Vec<Cell>),
}

/// A read-only snapshot: every table read through it sees the same moment.
pub struct Snapshot {
    tx: Transaction<'static, Any>,
}

impl Store {
    /// Begins a snapshot (repeatable read on PostgreSQL; on SQLite, a read transaction in WAL
    /// mode, which writers do not disturb).
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Snapshot { tx })
    }

    /// Begins a restore into this database, which must hold no data yet (only what migrations
    /// create).
    pub async fn begin_restore(&self) -> Result<Restore, StoreError> {
        // SQLite: the write lock from the start. A deferred transaction that reads first and
        // then writes fails at once (not after the busy timeout) when another connection wrote
        // in between, as the service's own background work does right after a first start.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        for table in BACKUP_TABLES.iter().filter(|t| !SINGLETONS.contains(t)) {
            let rows: i64 =
                sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut *tx)
                    .await?;
            if rows > 0 {
                return Err(StoreError::Restore(format!(
                    "the database is not empty ({table} has {rows} rows): restore into a new one"
                )));
            }
        }
        for table in SINGLETONS {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        Ok(Restore {
            tx,
            backend: self.backend,
        })
    }
}

impl Snapshot {
    /// Every row of `table` (one of `BACKUP_TABLES`), in primary-key order, to `out`, after
    /// its columns; returns how many rows there were.
    pub async fn dump(
        &mut self,
        table: &str,
        mut out: impl FnMut(Dumped<'_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        if !BACKUP_TABLES.contains(&table) {
            return Err(StoreError::Restore(format!(
                "{table} is not a backed-up table"
            )));
        }
        // The first column of every table is its key (or the first part of it).
        let sql = format!("SELECT * FROM {table} ORDER BY 1");
        let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *self.tx);
        let mut kinds: Option<Vec<ColumnKind>> = None;
        let mut count = 0;
        while let Some(r) = rows.try_next().await? {
            let kinds = match &kinds {
                Some(k) => k,
                None => {
                    let described: Vec<(String, ColumnKind)> = r
                        .columns()
                        .iter()
                        .map(|c| (c.name().to_string(), kind_of(c.type_info().kind())))
                        .collect();
                    out(Dumped::Columns(&described))?;
                    kinds.insert(described.into_iter().map(|(_, k)| k).collect())
                }
            };
            let mut cells = Vec::with_capacity(kinds.len());
            for (i, kind) in kinds.iter().enumerate() {
                cells.push(match kind {
                    ColumnKind::Int => r
                        .try_get::<Option<i64>, _>(i)?
                        .map_or(Cell::Null, Cell::Int),
                    ColumnKind::Text => r
                        .try_get::<Option<String>, _>(i)?
                        .map_or(Cell::Null, Cell::Text),
                });
            }
            out(Dumped::Row(cells))?;
            count += 1;
        }
        if kinds.is_none() {
            out(Dumped::Columns(&[]))?;
        }
        Ok(count)
    }
}

/// A SQLite column declared `BIGINT` that holds only NULLs reports no type; NULL is NULL.
fn kind_of(kind: AnyTypeInfoKind) -> ColumnKind {
    match kind {
        AnyTypeInfoKind::Text | AnyTypeInfoKind::Blob => ColumnKind::Text,
        _ => ColumnKind::Int,
    }
}

/// A restore in progress: one transaction, so that a failure leaves the database empty.
pub struct Restore {
    tx: Transaction<'static, Any>,
    backend: Backend,
}

impl Restore {
    /// Inserts one row of `table` with these columns.
    pub async fn insert(
        &mut self,
        table: &str,
        columns: &[(String, ColumnKind)],
        cells: Vec<Cell>,
    ) -> Result<(), StoreError> {
        if !BACKUP_TABLES.contains(&table) {
            return Err(StoreError::Restore(format!(
                "{table} is not a backed-up table"
            )));
        }
        if cells.len() != columns.len() {
            return Err(StoreError::Restore(format!(
                "{table}: a row of {} values for {} columns",
                cells.len(),
                columns.len()
            )));
        }
        if let Some((bad, _)) = columns.iter().find(|(c, _)| !is_identifier(c)) {
            return Err(StoreError::Restore(format!(
                "{table}: bad column name {bad:?}"
            )));
        }
        let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            params.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (cell, (_, kind)) in cells.into_iter().zip(columns) {
            query = match (cell, kind) {
                (Cell::Int(v), _) => query.bind(v),
                (Cell::Text(v), _) => query.bind(v),
                (Cell::Null, ColumnKind::Int) => query.bind(None::<i64>),
                (Cell::Null, ColumnKind::Text) => query.bind(None::<String>),
            };
        }
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Moves PostgreSQL's id sequences past the restored ids (SQLite does this by itself), and
    /// commits.
    pub async fn finish(mut self) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            for table in IDENTITY_TABLES {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence(current_schema() || '.{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )))
                .execute(&mut *self.tx)
                .await?;
            }
        }
        self.tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table added by a later migration must be backed up (or left out on purpose here), and
    /// its sequence moved on restore if it has one.
    #[test]
    fn the_lists_follow_the_migrations() {
        let left_out = [
            "rate_limits",
            "sessions",
            "password_links",
            "identity_sync",
            "feed_fragments",
            "feed_fragment_bodies",
            // Derived: a feed is patched from it only when it holds every move since the
            // version an instance last read; otherwise the order is read in full.
            "feed_changes",
            // Renamed to `artifacts` by the migration that creates it.
            "artifacts_rebuilt",
        ];
        let mut tables = Vec::new();
        let mut identities = Vec::new();
        for m in crate::MIGRATIONS {
            for part in m.sql.split("CREATE TABLE ").skip(1) {
                let name = part.split_whitespace().next().unwrap();
                tables.push(name);
                if part
                    .split('\n')
                    .nth(1)
                    .is_some_and(|l| l.contains("id {id}"))
                {
                    identities.push(name);
                }
            }
        }
        for t in &tables {
            assert!(
                BACKUP_TABLES.contains(t) || left_out.contains(t),
                "{t} is neither backed up nor left out"
            );
        }
        let mut expected: Vec<_> = identities
            .into_iter()
            .filter(|t| BACKUP_TABLES.contains(t))
            .collect();
        let mut listed = IDENTITY_TABLES.to_vec();
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected);
    }

    #[test]
    fn only_plain_names_reach_sql() {
        assert!(is_identifier("package_group_id"));
        for bad in ["", "Id", "id; DROP TABLE users", "a-b", "1a", "\"x\""] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
