//! Building and running the server from a configuration.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use depot_service::{Actor, Depot, Mailer, Scope};
use depot_storage::Storage;
use depot_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Settings;

/// Connects to the database (migrating it) and opens the storage.
pub async fn open_backends(settings: &Settings) -> anyhow::Result<(Store, Storage)> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let url = settings.database_url();
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {}", depot_store::redact_url(&url)))?;
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
    Mailer::from_settings(&settings.mail, &settings.data_dir).context("cannot set up mail")
}

pub async fn build_depot(settings: &Settings) -> anyhow::Result<Depot> {
    let mailer = open_mailer(settings)?;
    let (store, storage) = open_backends(settings).await?;
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
        let depot = build_depot(settings).await?;
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = depot_web::router(depot.clone());
        let grace = Duration::from_secs(settings.limits.shutdown_grace_secs);
        let task = tokio::spawn(depot_web::serve(
            listener,
            router,
            async move {
                let _ = stopped.await;
            },
            grace,
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

/// On the very first start there is no way in yet: create an admin token and print it once.
pub async fn first_start_token(depot: &Depot) -> anyhow::Result<Option<String>> {
    if depot.store().count_api_tokens().await? > 0 {
        return Ok(None);
    }
    let (_, token) = depot
        .create_token(
            &Actor::system("first start"),
            "first-start admin",
            &Scope::Admin,
        )
        .await?;
    Ok(Some(token))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
