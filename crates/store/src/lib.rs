//! depot's database: one schema on SQLite or PostgreSQL, chosen by the URL at run time.
//!
//! Methods are named after what the domain asks ("the published releases of an extension"), not
//! after tables. Rows come back as plain structs of primitive values; turning them into domain
//! types is the service layer's job.

mod audit;
mod backup;
mod batch;
mod downloads;
mod events;
mod extensions;
mod fragments;
mod generations;
mod groups;
mod identity;
mod keys;
mod memberships;
mod migrations;
mod outbox;
mod package_groups;
mod rate_limits;
mod recovery;
mod releases;
mod sales;
mod sessions;
mod signatures;
mod statistics;
mod tokens;
mod users;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use depot_core::Clock;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::{AuditFilter, AuditRow, NewAuditEntry};
pub use backup::{BACKUP_TABLES, Cell, ColumnKind, Dumped, Restore, Snapshot};
pub use downloads::DownloadTarget;
pub use events::{
    DownloadEvent, DownloadEventRow, DownloadLogRow, EventFilter, FeedCheck, FeedCheckRow,
    KeyAddressRow,
};
pub use extensions::{ExtensionRow, NewExtension};
pub use fragments::{FeedFragment, FragmentOrder};
pub use generations::Generations;
pub use groups::GroupRow;
pub use identity::{IdentitySyncRow, JOOMLA_SOURCE, MirrorChanges, MirrorScope, SourceUser};
pub use keys::DownloadKeyRow;
pub use memberships::{MembershipNotice, MembershipRow, MembershipSpan, Notice};
pub use migrations::MIGRATIONS;
pub use outbox::OutboxRow;
pub use package_groups::PackageGroupRow;
pub use recovery::sqlite_file;
pub use releases::{
    ArtifactRow, FeedReleaseRow, NewArtifact, NewRelease, NewSignature, PublishedReleaseRow,
    ReleaseRow, ReleaseWithArtifact, RolloutRow,
};
pub use sales::{SaleEventRow, SalePriceRow, SaleRow};
pub use sessions::{SessionRow, SessionSummary};
pub use signatures::{SigningKeyRow, UnsignedArtifact};
pub use statistics::{DAY_MS, DownloadDayRow};
pub use tokens::ApiTokenRow;
pub use users::UserRow;
pub use webhooks::{WebhookDeliveryRow, WebhookEndpointRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Text PostgreSQL refuses to store or compare (a NUL character, from a URL's `%00` or a
    /// JSON `\u0000`): the caller's mistake, not a failure. SQLite takes such text as it is.
    #[error("text with a NUL character")]
    BadText,
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Migration(String),
    /// The database cannot answer for now (unreachable, restarting, out of disk space, locked):
    /// the same request may well succeed in a moment.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// A backup that cannot be restored as it is, or a database that is not empty.
    #[error("{0}")]
    Restore(String),
    /// Too little room left on the database's disk to be sure of the next write.
    #[error("{0}")]
    DiskFull(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to `Conflict(what)`, anything else to `Database`.
    fn unique(e: sqlx::Error, what: &'static str) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::from(e),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // character_not_in_repertoire: "invalid byte sequence for encoding UTF8: 0x00".
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                StoreError::BadText
            }
            _ if recovery::is_transient(&e) => StoreError::Unavailable(e),
            _ => StoreError::Database(e),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite database file (`None` in memory and on PostgreSQL).
    sqlite_path: Option<std::path::PathBuf>,
    /// Shared by the clones of one store (see `Store::access_writes`).
    access_writes: Arc<AtomicU64>,
    /// Shared by the clones of one store (see `Store::catalogue_written`).
    catalogue_written: Arc<AtomicI64>,
    /// "Now" for every row written (times are Unix milliseconds, the schema's one time format).
    clock: Clock,
}

/// How the connection pool is used at a moment, for `/metrics`.
#[derive(Clone, Copy, Debug)]
pub struct PoolUse {
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

impl Store {
    /// How the connection pool is used now.
    pub fn pool_use(&self) -> PoolUse {
        PoolUse {
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Connects (creating a SQLite file if needed). Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            // A request waits at most this long for a connection, then answers 503.
            .acquire_timeout(Duration::from_secs(5))
            .before_acquire(move |_conn, meta| {
                Box::pin(async move {
                    Ok(!(backend == Backend::Sqlite && recovery::predates_trouble(meta.age)))
                })
            })
            .after_release(move |_conn, meta| {
                Box::pin(async move {
                    Ok(!(backend == Backend::Sqlite && recovery::predates_trouble(meta.age)))
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            recovery::watch_sqlite_pool(pool.clone());
        }
        Ok(Store {
            pool,
            backend,
            sqlite_path: (backend == Backend::Sqlite)
                .then(|| recovery::sqlite_file(&url))
                .flatten(),
            access_writes: Arc::new(AtomicU64::new(0)),
            catalogue_written: Arc::new(AtomicI64::new(0)),
            clock: Clock::system(),
        })
    }

    /// The same store reading time from `clock` (tests move it instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Milliseconds since the Unix epoch, by the store's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether a write gets through now: a held lock fails the probe, which writes a row with
    /// the value it has (nothing changes, no cache is invalidated). A full disk may not fail it
    /// (SQLite reuses room its write-ahead log already has), so for SQLite the free space
    /// beside the database file is checked too.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        sqlx::query("UPDATE catalogue_state SET generation = generation WHERE id = 1")
            .execute(&self.pool)
            .await?;
        if let Some(path) = &self.sqlite_path {
            recovery::check_free_space(path)?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A database URL with its password replaced, for messages and `check-config`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
