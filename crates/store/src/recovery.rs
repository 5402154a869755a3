//! Coming back from a database that went away, without a restart.
//!
//! PostgreSQL connections that broke are replaced by the pool (it tests a connection before
//! handing it out). SQLite needs more: after a full disk (or an I/O error) SQLite may roll a
//! transaction back by itself, after which the driver's own `ROLLBACK` fails and its bookkeeping
//! says the connection is still in a transaction; the next "transaction" on that connection then
//! never ends, and its write lock makes every other write fail with "database is locked" until
//! the process restarts. So after such an error every SQLite connection that existed then is
//! closed: idle ones at once (by a watcher per pool), busy ones when they come back to the pool.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::AnyPool;

/// Process start, the origin of `TROUBLE_AT_MS`.
static ORIGIN: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds after `ORIGIN` (plus one; zero is "never") of the last SQLite error that can
/// leave a connection in a bad state. Process-wide: the errors are classified where no store is
/// at hand, and recycling a healthy connection costs only a reconnect.
static TROUBLE_AT_MS: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    ORIGIN.elapsed().as_millis() as u64 + 1
}

/// A failure of the database's availability rather than of the request: no connection, a server
/// going down, a full disk, a lock held too long. SQLite's kind is remembered (see the module).
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        // A protocol error here is a connection cut mid-conversation (a server that closed
        // during the TLS negotiation answers with nothing the driver can read).
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources
            // (53100 disk full), 57P operator intervention (shutdown, starting up), 58 system
            // error (I/O).
            let postgres = ["08", "53", "57P", "58"]
                .iter()
                .any(|class| code.starts_with(class));
            // SQLite result codes, whose low byte is the primary code: BUSY 5, LOCKED 6,
            // IOERR 10, FULL 13, CANTOPEN 14.
            let sqlite = code
                .parse::<i32>()
                .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14));
            if sqlite {
                TROUBLE_AT_MS.store(now_ms(), Ordering::Release);
            }
            postgres || sqlite
        }
        _ => false,
    }
}

/// Whether a SQLite connection of this age existed at the last trouble, and must go.
pub(crate) fn predates_trouble(age: Duration) -> bool {
    let trouble = TROUBLE_AT_MS.load(Ordering::Acquire);
    trouble != 0 && now_ms().saturating_sub(age.as_millis() as u64) <= trouble
}

/// Below this much free space next to a SQLite database, it is not ready: a write that has to
/// grow the write-ahead log would fail.
const MIN_FREE_BYTES: u64 = 1 << 20;

/// The file a `sqlite:` URL names (`None` for an in-memory database).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// Fails when the disk holding `db` has less than `MIN_FREE_BYTES` available.
pub(crate) fn check_free_space(db: &std::path::Path) -> Result<(), crate::StoreError> {
    let dir = db.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(std::path::Path::new("."));
    // A failed `statvfs` says nothing about the disk: the write probe before it answered.
    let Ok(stats) = rustix::fs::statvfs(dir) else {
        return Ok(());
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    if free < MIN_FREE_BYTES {
        return Err(crate::StoreError::DiskFull(format!(
            "only {free} bytes free on the disk of {}",
            db.display()
        )));
    }
    Ok(())
}

/// Closes a SQLite pool's idle connections after each trouble, until the pool closes.
pub(crate) fn watch_sqlite_pool(pool: AnyPool) {
    tokio::spawn(async move {
        let mut seen = TROUBLE_AT_MS.load(Ordering::Acquire);
        while !pool.is_closed() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let trouble = TROUBLE_AT_MS.load(Ordering::Acquire);
            if trouble == seen {
                continue;
            }
            seen = trouble;
            let mut closed = 0;
            while let Some(conn) = pool.try_acquire() {
                let _ = conn.close().await;
                closed += 1;
            }
            if closed > 0 {
                tracing::info!(closed, "SQLite connections reopened after a database error");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_from_urls() {
        let file = |u: &str| sqlite_file(u).map(|p| p.display().to_string());
        assert_eq!(
            file("sqlite://./d/depot.db?mode=rwc").as_deref(),
            Some("./d/depot.db")
        );
        assert_eq!(
            file("sqlite:///var/depot.db").as_deref(),
            Some("/var/depot.db")
        );
        assert_eq!(file("sqlite::memory:"), None);
    }

    #[test]
    fn connections_older_than_the_trouble_go() {
        let _ = *ORIGIN;
        std::thread::sleep(Duration::from_millis(5));
        TROUBLE_AT_MS.store(now_ms(), Ordering::Release);
        assert!(predates_trouble(Duration::from_millis(3)));
        std::thread::sleep(Duration::from_millis(5));
        assert!(!predates_trouble(Duration::from_millis(1)), "opened after");
    }
}
