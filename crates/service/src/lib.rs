//! depot's use cases, composed from the domain (depot-core), the database (depot-store) and the
//! package storage (depot-storage): publish a package, render and cache feeds, resolve a download,
//! record what happened. Handlers call these and map the result; they hold no business rules.

mod account_downloads;
mod actors;
mod audit;
mod backup;
mod builds;
mod cache;
mod composer;
mod downloads;
mod entitlement;
mod error;
mod events;
mod extensions;
mod feeds;
mod groups;
mod identity;
mod imports;
mod input;
mod jbackend;
mod journal;
mod keys;
mod latest;
mod mail;
mod memberships;
pub mod metrics;
mod notices;
mod offers;
mod package_groups;
mod private_feeds;
mod publish;
mod rate_limits;
mod releases;
mod reports;
mod rollouts;
mod sales;
mod sessions;
mod shared_keys;
mod signing;
mod spool;
mod statistics;
mod tauri;
mod tokens;
mod users;
mod webhooks;
mod wordpress;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use depot_core::package::PackageLimits;
use depot_core::{Clock, Targets};

/// Partial package files older than this are a killed process's (a whole write takes seconds:
/// it copies a spooled upload on the same disk).
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

/// How long `ready` waits for the database before saying it is not.
const READY_TIMEOUT: Duration = Duration::from_secs(3);
use depot_storage::Storage;
use depot_store::Store;
use tokio::task::JoinHandle;

pub use account_downloads::{AccountExtension, AccountRelease};
pub use actors::Actor;
pub use audit::{AuditEntry, AuditPage, AuditQuery};
pub use backup::{BackupManifest, PackageFile};
pub use builds::{BuildUpload, PublishedBuild};
pub use depot_mail::messages::Branding;
pub use depot_mail::{Email, MailSettings, Mailer};
pub use downloads::{Delivery, Download, DownloadBody, DownloadRequest, Served, Wanted};
pub use entitlement::{Credentials, Grant, valid_email};
pub use error::{ServiceError, ServiceResult};
pub use events::{EventRecorder, Requester};
pub use extensions::{ExtensionChanges, ExtensionView};
pub use feeds::{ClientAnswer, Encodings, Etag, RenderedFeed};
pub use groups::GroupView;
pub use identity::JoomlaSource;
pub use imports::{ImportReport, SettingsFile, ars_item_package_id};
pub use input::parse_date;
pub use jbackend::IssuedKey;
pub use keys::{DownloadKeyView, JbackendKeyView};
pub use latest::parse_channel;
pub use memberships::MembershipView;
pub use notices::CustomerMails;
pub use package_groups::{NewPackageGroup, PackageGroupView};
pub use private_feeds::FeedAccess;
pub use publish::{PublishOptions, PublishOutcome, PublishedRelease};
pub use releases::{ReleaseChanges, ReleaseView};
pub use reports::{DownloadLogEntry, DownloadLogPage, DownloadLogQuery, FeedCheckCount};
pub use rollouts::RolloutChange;
pub use sales::{
    Outcome as SaleOutcome, SaleEventQuery, SaleEventView, SalePriceView, SalesSettings,
    WebhookSecret,
};
pub use sessions::{
    NewSession, PASSWORD_LINK_LIFETIME, SESSION_LIFETIME, Session, SessionKind, SessionListing,
};
pub use shared_keys::{SharedKey, SharedKeyQuery, SharedKeySettings};
pub use signing::{ResignBatch, SigningKey, SigningKeyError};
pub use spool::{Spooled, spool};
pub use tauri::{TauriCheck, TauriUpdate};
pub use tokens::{Principal, Scope, TokenView, generate_token, hash_token};
pub use users::{UserChanges, UserView};
pub use webhooks::{WebhookDeliveryView, WebhookSettings, WebhookView};
pub use wordpress::WordPressImage;

/// What the use cases need from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The base of every URL depot emits, without a trailing slash.
    pub public_url: String,
    pub max_upload_bytes: u64,
    pub package_limits: PackageLimits,
    /// Joomla targets of a newly created extension.
    pub default_targets: Targets,
    /// The collection feed's name.
    pub collection_name: String,
    /// Where uploads are spooled (on the same disk as the data directory).
    pub temp_dir: PathBuf,
    /// The download events' write-ahead journal (see `journal`).
    pub events_dir: PathBuf,
    /// How often an instance checks the database for catalogue changes made by other instances.
    pub catalogue_poll: Duration,
    /// The server-wide secret every key derivation is keyed with.
    pub secret: Secret,
    /// The key every package is signed with (`signing_key`).
    pub signing_key: Arc<SigningKey>,
    /// Delivery attempts before the outbox gives a message up.
    pub mail_max_attempts: u32,
    /// How often an instance looks for mail to retry or queued by other instances.
    pub mail_poll: Duration,
    /// How long a delivering instance holds a message (`mail.lease_secs`).
    pub mail_lease: Duration,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` names the client (`trusted_proxies`).
    /// Empty: the connection's peer is the client, and those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// When a key counts as shared (`[keys]`).
    pub shared_keys: SharedKeySettings,
    /// A Joomla site whose users, groups and memberships depot mirrors (`[identity]`).
    pub joomla: Option<JoomlaSource>,
    /// Where the jBackend routes also answer (`/index.php/jbackend/rest`), without a trailing
    /// slash; `None`: at the root only.
    pub jbackend_base_path: Option<String>,
    /// The vendor's name and look, for pages and mails (`[branding]`).
    pub branding: Branding,
    /// The bearer token `/metrics` asks for (`metrics_token`); `None`: it is public.
    pub metrics_token: Option<Secret>,
    /// Payment providers' webhooks and how their sales become memberships (`[sales]`).
    pub sales: SalesSettings,
    /// How depot's own webhooks are delivered (`[webhooks]`).
    pub webhooks: WebhookSettings,
    /// Which customer mails go out (`[customer_mails]`).
    pub customer_mails: CustomerMails,
}

/// Key material that never prints: `Debug` shows its length only.
#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Self {
        Secret(Arc::from(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

#[derive(Clone)]
pub struct Depot {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    storage: Storage,
    settings: Settings,
    catalogue: cache::CatalogueCache,
    /// Release fragments, never invalidated: each is checked against its digest.
    fragments: feeds::FragmentCache,
    flagged_keys: shared_keys::Flagged,
    access: entitlement::AccessCache,
    /// When the Joomla site was last read in full (see `identity`).
    identity_fresh: identity::Freshness,
    events: EventRecorder,
    mailer: Mailer,
    /// Woken when a request queues mail, so it leaves at once rather than at the next poll.
    mail_due: tokio::sync::Notify,
    /// Woken when an event is queued for the webhooks, likewise.
    webhooks_due: tokio::sync::Notify,
    /// One delivery pass per queue at a time in this instance. The leases keep instances
    /// apart; within one, a second pass (the loop woken while an explicit pass runs) would
    /// only race the first, and a lease measured by a clock that jumped (tests move it an
    /// hour at a time) could lapse mid-request and send the same message twice.
    mail_pass: tokio::sync::Mutex<()>,
    webhook_pass: tokio::sync::Mutex<()>,
    /// `download.refused` is told at most once an hour per code and client.
    recent_refusals: webhooks::RecentRefusals,
    /// The webhooks' HTTP client (no redirects: an endpoint answers itself).
    http: reqwest::Client,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Depot {
    /// Builds the service and starts its background work (event writer, catalogue poller, mail
    /// delivery). Must be called inside a Tokio runtime.
    pub async fn start(
        store: Store,
        storage: Storage,
        mailer: Mailer,
        settings: Settings,
    ) -> ServiceResult<Self> {
        let generations = store.generations().await?;
        // Uploads a killed process left half-spooled.
        let temp_dir = settings.temp_dir.clone();
        // What a killed process left: half-spooled uploads, half-written package files.
        let cleanup_storage = storage.clone();
        let cleaned = tokio::task::spawn_blocking(move || {
            let spooled = spool::remove_stale(&temp_dir, spool::STALE_SPOOL)?;
            let partials = cleanup_storage.remove_stale_partials(STALE_PARTIAL)?;
            Ok::<_, std::io::Error>((spooled, partials))
        })
        .await;
        match cleaned {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((spooled, partials))) => {
                tracing::info!(
                    spooled,
                    partials,
                    "removed what an interrupted process left"
                )
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not clean the spool or storage"),
            Err(e) => tracing::warn!(error = %e, "could not clean the spool or storage"),
        }
        let site_key = blake3::derive_key("depot 2026 feed sites", settings.secret.expose());
        let (events, writer) =
            EventRecorder::start(store.clone(), &settings.events_dir, site_key).await;
        let depot = Depot {
            inner: Arc::new(Inner {
                store,
                storage,
                catalogue: cache::CatalogueCache::new(generations.catalogue),
                fragments: Default::default(),
                flagged_keys: Default::default(),
                access: entitlement::AccessCache::new(generations.access),
                identity_fresh: Default::default(),
                events,
                mailer,
                mail_due: tokio::sync::Notify::new(),
                webhooks_due: tokio::sync::Notify::new(),
                mail_pass: Default::default(),
                webhook_pass: Default::default(),
                recent_refusals: Default::default(),
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("depot-webhooks/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?,
                tasks: std::sync::Mutex::new(vec![writer]),
                settings,
            }),
        };
        depot.saw_identity_sync(generations.identity_synced_at);
        let poller = tokio::spawn(cache::poll_generations(depot.clone()));
        let identity = tokio::spawn(identity::sync_loop(depot.clone()));
        let shared_keys = tokio::spawn(shared_keys::watch(depot.clone()));
        let mail = tokio::spawn(mail::deliver_loop(
            depot.clone(),
            depot.settings().mail_poll,
        ));
        depot
            .inner
            .tasks
            .lock()
            .expect("tasks lock")
            .extend([poller, mail, shared_keys, identity]);
        let webhooks = tokio::spawn(webhooks::deliver_loop(depot.clone()));
        let notices = tokio::spawn(notices::notice_loop(depot.clone()));
        let signing = tokio::spawn(signing::resign_loop(depot.clone()));
        let rollouts = tokio::spawn(rollouts::completion_loop(depot.clone()));
        depot
            .inner
            .tasks
            .lock()
            .expect("tasks lock")
            .extend([webhooks, notices, signing, rollouts]);
        Ok(depot)
    }

    /// The database. Only the use cases reach it (tests too, with the `test-support` feature):
    /// every other layer goes through them, so their checks cannot be bypassed.
    #[cfg(not(feature = "test-support"))]
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    #[cfg(feature = "test-support")]
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The package storage, behind the use cases like the database.
    #[cfg(not(feature = "test-support"))]
    pub(crate) fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    #[cfg(feature = "test-support")]
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Where packages are stored, for the start-up log (no credentials).
    pub fn storage_description(&self) -> String {
        self.inner.storage.describe()
    }

    /// "Now" for every use case, in Unix milliseconds (the store's clock, so rows and rules agree).
    pub fn now_ms(&self) -> i64 {
        self.inner.store.now_ms()
    }

    /// The clock every use case reads; tests move it instead of sleeping.
    pub fn clock(&self) -> &Clock {
        self.inner.store.clock()
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn events(&self) -> &EventRecorder {
        &self.inner.events
    }

    pub fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }

    /// Writes out every recorded event and stops the background work.
    pub async fn shutdown(&self) {
        self.inner.events.close().await;
        let tasks = std::mem::take(&mut *self.inner.tasks.lock().expect("tasks lock"));
        for t in tasks {
            t.abort();
        }
    }

    /// Whether the database and the storage answer.
    pub async fn ready(&self) -> Result<(), String> {
        // A load balancer's probe gives up after a few seconds; so does this.
        let database = async {
            self.inner.store.ping().await?;
            self.inner.store.check_writable().await
        };
        tokio::time::timeout(READY_TIMEOUT, database)
            .await
            .map_err(|_| format!("database: no answer within {READY_TIMEOUT:?}"))?
            .map_err(|e| format!("database: {e}"))?;
        self.inner
            .storage
            .check()
            .await
            .map_err(|e| format!("storage: {e}"))?;
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.settings.public_url)
    }

    /// The feed URL of an extension.
    pub fn feed_url(&self, extension: &str) -> String {
        self.url(&format!("/updates/{extension}.xml"))
    }

    /// The download URL the feed emits for a release file. A Composer package's `/` is sent
    /// as `%2F`, so that its name stays one path segment.
    pub fn download_url(&self, extension: &str, version: &str, filename: &str) -> String {
        let extension = extension.replace('/', "%2F");
        self.url(&format!("/download/{extension}/{version}/{filename}"))
    }

    /// Where clients read an extension's releases: a Joomla extension's update feed, a Composer
    /// package's repository metadata, WordPress's `info.json`, Tauri's updater endpoint.
    pub fn metadata_url(&self, extension: &depot_store::ExtensionRow) -> String {
        match extension.ecosystem {
            depot_core::Ecosystem::Joomla => self.feed_url(&extension.name),
            depot_core::Ecosystem::Composer => self.composer_metadata_url(&extension.name),
            depot_core::Ecosystem::WordPress => self.wordpress_metadata_url(&extension.name),
            depot_core::Ecosystem::Application => self.tauri_endpoint(&extension.name),
        }
    }

    pub fn changelog_url(&self, extension: &str) -> String {
        self.url(&format!("/changelogs/{extension}.xml"))
    }
}
