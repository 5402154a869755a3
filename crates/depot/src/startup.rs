//! Building and running the server from a configuration.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use depot_core::Clock;
use depot_service::{Depot, Mailer};
use depot_storage::Storage;
use depot_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Settings;

/// What an offline command (`migrate`, `token create`, `backup`, `import`) opens: the server's
/// database, said on stderr. Run in the wrong directory, the embedded default would quietly make
/// a new, empty SQLite database, and a token made there is one the running server refuses; so a
/// database without depot's schema is refused unless `init` (`--init`) asks for one.
pub async fn existing_database(settings: &Settings, init: bool) -> anyhow::Result<()> {
    let url = settings.database_url();
    let shown = depot_store::redact_url(&url);
    eprintln!("database: {shown}");
    if init {
        return Ok(());
    }
    let initialised = match depot_store::sqlite_file(&url) {
        Some(path) if !path.exists() => false,
        _ => {
            let store = Store::connect(&url)
                .await
                .with_context(|| format!("cannot open the database {shown}"))?;
            let initialised = store.is_initialised().await;
            store.close().await;
            initialised
        }
    };
    if initialised {
        Ok(())
    } else {
        Err(crate::exit::failure(
            crate::exit::Class::Usage,
            format!(
                "there is no depot database at {shown}: run this where the server runs (its \
                 working directory, --config, or DEPOT_DATA_DIR / DEPOT_DATABASE_URL), or pass \
                 --init to create a new, empty one"
            ),
        ))
    }
}

/// Connects to the database (migrating it) and opens the storage.
pub async fn open_backends(settings: &Settings, clock: Clock) -> anyhow::Result<(Store, Storage)> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let url = settings.database_url();
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {}", depot_store::redact_url(&url)))?
        .with_clock(clock);
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let storage = Storage::open(&settings.storage, &settings.data_dir)
        .context("cannot open the package storage")?;
    Ok((store, storage))
}

/// Checks that the database and the storage answer, changing nothing (for `check-config`).
/// Returns a description of the storage.
pub async fn check_backends(settings: &Settings) -> anyhow::Result<String> {
    let url = settings.database_url();
    if settings.database_url.is_some() || settings.data_dir.exists() {
        let store = Store::connect(&url).await.with_context(|| {
            format!("cannot open the database {}", depot_store::redact_url(&url))
        })?;
        store.ping().await?;
        store.close().await;
    }
    let storage = Storage::open(&settings.storage, &settings.data_dir)
        .context("cannot open the package storage")?;
    storage
        .check()
        .await
        .context("the package storage does not answer")?;
    let mailer = open_mailer(settings)?;
    Ok(format!(
        "{}; mail: {}",
        storage.describe(),
        mailer.describe()
    ))
}

pub fn open_mailer(settings: &Settings) -> anyhow::Result<Mailer> {
    let mail = depot_service::MailSettings {
        from: settings.branding.mail_from(&settings.mail.from),
        ..settings.mail.clone()
    };
    Mailer::from_settings(&mail, &settings.data_dir).context("cannot set up mail")
}

pub async fn build_depot(settings: &Settings) -> anyhow::Result<Depot> {
    build_depot_with(settings, Clock::system()).await
}

/// The service on `clock` (tests pass one they can move).
pub async fn build_depot_with(settings: &Settings, clock: Clock) -> anyhow::Result<Depot> {
    let mailer = open_mailer(settings)?;
    let (store, storage) = open_backends(settings, clock).await?;
    Ok(Depot::start(store, storage, mailer, settings.service_settings()?).await?)
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub depot: Depot,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `settings.listen` (port 0 picks a free port) and starts serving.
    pub async fn start(settings: &Settings) -> anyhow::Result<Server> {
        Self::start_with(settings, Clock::system()).await
    }

    /// Starts on `clock` (tests pass one they can move).
    pub async fn start_with(settings: &Settings, clock: Clock) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        Self::start_on(listener, settings, clock).await
    }

    /// Serves on a listener that is already bound (a test binds first, so that the public URL
    /// can name the port, and never gives the port up in between).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        settings: &Settings,
        clock: Clock,
    ) -> anyhow::Result<Server> {
        let depot = build_depot_with(settings, clock).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = depot_web::router(depot.clone());
        let grace = Duration::from_secs(settings.limits.shutdown_grace_secs);
        let mut limits = settings.connection_limits()?;
        fit_to_descriptors(&mut limits);
        let task = tokio::spawn(depot_web::serve(
            listener,
            router,
            async move {
                let _ = stopped.await;
            },
            grace,
            limits,
        ));
        Ok(Server {
            addr,
            depot,
            stop: Some(stop),
            task,
        })
    }

    /// Stops accepting, lets requests finish, writes out recorded events.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = (&mut self.task).await;
        self.depot.shutdown().await;
        result.context("server task")?.context("server")?;
        Ok(())
    }
}

/// The file the first-start admin token goes to, in the data directory.
pub const FIRST_START_TOKEN_FILE: &str = "first-admin-token";

/// Writes the first-start token to a file only the server's user can read, and returns its path.
/// A file left from an earlier database is replaced, never reused: its permissions might have
/// been widened.
pub fn write_first_start_token(
    data_dir: &std::path::Path,
    token: &str,
) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    let path = data_dir.join(FIRST_START_TOKEN_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot replace {}", path.display()));
        }
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{token}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.canonicalize().unwrap_or(path))
}

/// File descriptors kept back from connections: the database pool, the log, the spool, the
/// listener.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Share of the descriptors kept for package files (one per file being sent, however many
/// connections send it).
const PACKAGE_FILE_SHARE: u64 = 8;

/// Raises the soft file-descriptor limit to the hard one (a service manager's default soft limit
/// of 1,024 would cap depot at a few hundred connections while the hard limit allows far more),
/// then lowers `max_connections` to what the descriptors allow: a connection holds its socket,
/// and downloads of one package share its open file (`depot_storage`), so beside the reserved
/// descriptors an eighth is kept for the package files being sent.
pub fn fit_to_descriptors(limits: &mut depot_web::ConnectionLimits) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut nofile = getrlimit(Resource::Nofile);
    if nofile.current < nofile.maximum {
        let raised = rustix::process::Rlimit {
            current: nofile.maximum,
            maximum: nofile.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => nofile = raised,
            Err(e) => tracing::debug!(error = %e, "cannot raise the file-descriptor limit"),
        }
    }
    // `None` is unlimited.
    let Some(available) = nofile.current else {
        return;
    };
    let fits = connections_fitting(available);
    if (limits.max_connections as u64) > fits {
        tracing::warn!(
            max_connections = limits.max_connections,
            fits,
            file_descriptors = available,
            "max_connections lowered to what the file-descriptor limit allows (one per \
             connection, an eighth kept for package files); raise the limit (LimitNOFILE= in \
             systemd, ulimit -n) for more"
        );
        limits.max_connections = fits as usize;
    }
}

/// Connections that `descriptors` allow (see [`fit_to_descriptors`]).
fn connections_fitting(descriptors: u64) -> u64 {
    let rest = descriptors.saturating_sub(RESERVED_DESCRIPTORS);
    (rest - rest / PACKAGE_FILE_SHARE).max(1)
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from the moment it is called, and resolves on the
/// first. Called before the server says it is serving: a signal that arrives while the future is
/// not yet polled is kept, not left to the default action (which would kill the process without
/// a graceful shutdown).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {},
                _ = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::connections_fitting;

    #[test]
    fn ten_thousand_downloads_fit_the_usual_hard_limit() {
        // 20,000 is a common hard limit (and these machines'): 10,000 slow downloads of one
        // package fit with room for a few thousand distinct files.
        let fits = connections_fitting(20_000);
        assert_eq!(fits, 17_276);
        // A service manager's default soft limit, and none at all.
        assert_eq!(connections_fitting(1_024), 672);
        assert_eq!(connections_fitting(0), 1);
    }
}
