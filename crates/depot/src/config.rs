//! Configuration: embedded defaults < `depot.toml` (or `--config FILE` / `DEPOT_CONFIG`) <
//! `DEPOT_*` environment variables, nested keys joined with `__` (`DEPOT_STORAGE__KIND=s3`).
//!
//! With no configuration at all, depot runs on SQLite and local storage under `./depot-data/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use depot_core::Targets;
use depot_core::package::PackageLimits;
use depot_service::MailSettings;
use depot_storage::StorageSettings;
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "depot.toml";

/// `Debug` prints the masked form (as `check-config` does), so that a stray `{:?}` cannot log the
/// secret or the storage credentials.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on.
    pub listen: String,
    /// The base of every URL depot emits (feeds, downloads); defaults to `http://{listen}`.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to SQLite at `{data_dir}/depot.db`.
    pub database_url: Option<String>,
    /// The server-wide secret keys are derived with (at least 32 characters). Without it, one is
    /// generated once into `{data_dir}/secret`. Several instances must share the same one.
    pub secret: Option<String>,
    /// The unencrypted minisign secret key every package is signed with (`minisign -G -W -s
    /// FILE` makes one). Without it, one is generated once into `{data_dir}/signing.key`.
    /// Several instances must share the same one.
    pub signing_key: Option<PathBuf>,
    pub storage: StorageSettings,
    pub mail: MailSettings,
    pub limits: Limits,
    pub catalogue: Catalogue,
    pub keys: Keys,
    pub identity: Identity,
    pub branding: Branding,
    pub sales: Sales,
    pub customer_mails: CustomerMails,
    pub webhooks: Webhooks,
    pub log: Log,
    /// Reverse proxies in front of depot, comma-separated addresses or CIDR ranges
    /// (`127.0.0.1, 10.0.0.0/8`). A request from one of them is taken to come from the client
    /// its `X-Forwarded-For` (or `Forwarded`) names, for rate limits and the download log.
    /// Empty (the default): those headers are ignored, since any client could send them.
    pub trusted_proxies: String,
    /// The path jBackend answered under on the vendor's Joomla site (such as
    /// `/index.php/jbackend/rest`): its Release System routes answer there too, so customers'
    /// saved jBackend URLs keep working. Empty (the default): at the root only.
    pub jbackend_base_path: String,
    /// A token Prometheus must send (`Authorization: Bearer …`) to read `/metrics`. Empty (the
    /// default): `/metrics` is public, like `/healthz`; it holds counts, never personal data.
    pub metrics_token: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// Largest total a package may expand to, in bytes.
    pub max_unpacked_bytes: u64,
    pub max_zip_entries: usize,
    /// Largest unpacked/packed ratio of a package (zip-bomb guard).
    pub max_zip_ratio: u64,
    /// Seconds requests in flight get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// Open connections in all; more are answered `503` and closed. Lowered at start to what the
    /// file-descriptor limit allows.
    pub max_connections: usize,
    /// Open connections per client address (trusted proxies are exempt).
    pub max_connections_per_client: usize,
    /// Seconds a new connection has to send its first complete request head.
    pub header_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in flight (keep-alive).
    pub idle_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let package = PackageLimits::default();
        Limits {
            max_upload_bytes: 512 << 20,
            max_unpacked_bytes: package.max_unpacked_bytes,
            max_zip_entries: package.max_entries,
            max_zip_ratio: package.max_ratio,
            shutdown_grace_secs: 30,
            max_connections: 16_384,
            max_connections_per_client: 128,
            header_timeout_secs: 10,
            idle_timeout_secs: 30,
        }
    }
}

/// Payment providers whose webhooks make memberships (README, "Selling with Stripe or Paddle").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sales {
    /// The signing secret of the Stripe webhook endpoint pointed at `/hooks/stripe`
    /// (`whsec_…`). Empty (the default): `/hooks/stripe` answers 404.
    pub stripe_webhook_secret: Option<String>,
    /// Seconds a Stripe signature's timestamp may be away from now (Stripe's own libraries
    /// allow 300).
    pub stripe_tolerance_secs: u64,
    /// The secret key of the Paddle notification destination pointed at `/hooks/paddle`
    /// (`pdl_ntfset_…`). Empty (the default): `/hooks/paddle` answers 404.
    pub paddle_webhook_secret: Option<String>,
    /// Seconds a Paddle signature's timestamp may be away from now (Paddle's SDKs allow 5).
    pub paddle_tolerance_secs: u64,
    /// When a full refund ends access: `now` or `period_end` (the end of what was paid for).
    pub refund_ends: String,
}

impl Default for Sales {
    fn default() -> Self {
        Sales {
            stripe_webhook_secret: None,
            stripe_tolerance_secs: 300,
            paddle_webhook_secret: None,
            paddle_tolerance_secs: 5,
            refund_ends: "now".into(),
        }
    }
}

impl Sales {
    fn checked(&self) -> anyhow::Result<depot_service::SalesSettings> {
        let refund_ends = match self.refund_ends.trim() {
            "now" => depot_core::sales::RefundEnds::Now,
            "period_end" => depot_core::sales::RefundEnds::PeriodEnd,
            other => bail!("sales.refund_ends = {other:?}: use now or period_end"),
        };
        let secret = |s: &Option<String>, tolerance: u64| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| depot_service::WebhookSecret {
                    secret: depot_service::Secret::new(s.as_bytes()),
                    tolerance: Duration::from_secs(tolerance),
                })
        };
        Ok(depot_service::SalesSettings {
            stripe: secret(&self.stripe_webhook_secret, self.stripe_tolerance_secs),
            paddle: secret(&self.paddle_webhook_secret, self.paddle_tolerance_secs),
            refund_ends,
        })
    }
}

/// The mails that keep customers (README, "Mails to customers"); each can be turned off.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerMails {
    /// A welcome (with a link to set a password) when a first purchase makes an account.
    pub welcome: bool,
    /// "Your subscription ends in N days", this many days before a membership that will not
    /// renew ends; 0 turns it off.
    pub ending_soon_days: u32,
    /// "Renewed": a payment extended a membership.
    pub renewed: bool,
    /// "Ended": what the customer keeps, and how to renew.
    pub ended: bool,
}

impl Default for CustomerMails {
    fn default() -> Self {
        CustomerMails {
            welcome: true,
            ending_soon_days: 7,
            renewed: true,
            ended: true,
        }
    }
}

impl CustomerMails {
    fn settings(&self) -> depot_service::CustomerMails {
        depot_service::CustomerMails {
            welcome: self.welcome,
            ending_soon: (self.ending_soon_days > 0)
                .then(|| Duration::from_secs(u64::from(self.ending_soon_days) * 86_400)),
            renewed: self.renewed,
            ended: self.ended,
        }
    }
}

/// How depot's own webhooks are delivered (README, "Webhooks").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhooks {
    /// Attempts before a delivery is given up and its endpoint turned off (the administrators
    /// are mailed). With the pauses below, 20 attempts span about eleven hours.
    pub max_attempts: u32,
    /// Seconds one attempt may take.
    pub timeout_secs: u64,
    /// Seconds before the first retry; each further pause doubles, up to an hour.
    pub first_retry_secs: u64,
}

impl Default for Webhooks {
    fn default() -> Self {
        let d = depot_service::WebhookSettings::default();
        Webhooks {
            max_attempts: d.max_attempts,
            timeout_secs: d.timeout.as_secs(),
            first_retry_secs: d.first_pause.as_secs(),
        }
    }
}

impl Webhooks {
    fn checked(&self) -> anyhow::Result<depot_service::WebhookSettings> {
        if self.max_attempts == 0 || self.timeout_secs == 0 || self.first_retry_secs == 0 {
            bail!("webhooks.max_attempts, timeout_secs and first_retry_secs must be at least 1");
        }
        Ok(depot_service::WebhookSettings {
            max_attempts: self.max_attempts,
            timeout: Duration::from_secs(self.timeout_secs),
            first_pause: Duration::from_secs(self.first_retry_secs),
            ..depot_service::WebhookSettings::default()
        })
    }
}

/// When a key looks shared (flagged, never blocked): see `docs/security.md`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Keys {
    /// A key used from more distinct client addresses than this…
    pub shared_addresses: u32,
    /// …within this many hours is flagged.
    pub shared_window_hours: u32,
    /// Opt-in: a flagged key then downloads only from the addresses it was flagged with.
    pub block_shared: bool,
}

impl Default for Keys {
    fn default() -> Self {
        let d = depot_service::SharedKeySettings::default();
        Keys {
            shared_addresses: d.addresses,
            shared_window_hours: (d.window.as_secs() / 3600) as u32,
            block_shared: d.block,
        }
    }
}

/// Where users and their groups come from besides depot itself (README, "A Joomla site's users").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Identity {
    /// `depot` (depot's own users only) or `joomla` (also a Joomla site's users and groups).
    pub kind: String,
    /// The Joomla site's database, read-only: `mysql://…` (MySQL, MariaDB) or `postgres://…`.
    pub database_url: Option<String>,
    /// The site's table prefix (`$dbprefix` in its `configuration.php`).
    pub table_prefix: String,
    /// `tree`: members of a group below the one a package group names count (Joomla's own
    /// rule); `direct`: only members of that group itself.
    pub groups: String,
    /// Seconds between two reads of the site: the most a removed group keeps downloading.
    pub sync_secs: u64,
    /// Seconds what was last read keeps counting while the site's database is unreachable;
    /// then paid checks that depend on it answer 503 until it is back.
    pub stale_after_secs: u64,
    /// Where the site resets a password (its `index.php?option=com_users&view=reset`): the
    /// account pages point customers there, since their password is the site's.
    pub password_reset_url: Option<String>,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            kind: "depot".into(),
            database_url: None,
            table_prefix: "jos_".into(),
            groups: "tree".into(),
            sync_secs: 30,
            stale_after_secs: 900,
            password_reset_url: None,
        }
    }
}

impl Identity {
    /// The Joomla site's database URL, when the site is the source; an error for a setting that
    /// cannot work.
    fn checked(&self) -> anyhow::Result<Option<(&str, depot_joomla::GroupRule)>> {
        match self.kind.trim() {
            "depot" => return Ok(None),
            "joomla" => {}
            other => bail!("identity.kind = {other:?}: use \"depot\" or \"joomla\""),
        }
        let url = self
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .context(
                "identity.database_url: the Joomla site's database URL is required with \
                 kind = \"joomla\"",
            )?;
        if !["mysql://", "mariadb://", "postgres://", "postgresql://"]
            .iter()
            .any(|s| url.starts_with(s))
        {
            bail!(
                "identity.database_url = {:?}: use mysql://… (MySQL, MariaDB) or postgres://…",
                depot_store::redact_url(url)
            );
        }
        let prefix = self.table_prefix.trim();
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            bail!("identity.table_prefix = {prefix:?}: letters, digits and '_' (such as \"jos_\")");
        }
        let rule = depot_joomla::GroupRule::parse(&self.groups).with_context(|| {
            format!(
                "identity.groups = {:?}: use \"tree\" or \"direct\"",
                self.groups
            )
        })?;
        if self.sync_secs == 0 || self.sync_secs > 3600 {
            bail!("identity.sync_secs = {}: use 1 to 3600", self.sync_secs);
        }
        if let Some(reset) = self
            .password_reset_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            && !url::Url::parse(reset).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            bail!("identity.password_reset_url = {reset:?}: an http(s) URL");
        }
        Ok(Some((url, rule)))
    }

    /// The Joomla source, when one is configured (connects lazily: needs a Tokio runtime).
    pub fn joomla_source(&self) -> anyhow::Result<Option<depot_service::JoomlaSource>> {
        let Some((url, rule)) = self.checked()? else {
            return Ok(None);
        };
        let site =
            depot_joomla::JoomlaSite::connect(url, self.table_prefix.trim()).context("identity")?;
        Ok(Some(depot_service::JoomlaSource {
            site,
            rule,
            sync_interval: Duration::from_secs(self.sync_secs),
            stale_after: Duration::from_secs(self.stale_after_secs.max(self.sync_secs)),
            password_reset_url: self
                .password_reset_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string),
        }))
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Catalogue {
    /// Joomla versions a new extension targets until told otherwise (`4.4,5,6`).
    pub default_joomla: String,
    /// The name of the collection feed.
    pub collection_name: String,
    /// Milliseconds between checks for catalogue changes made by other instances.
    pub poll_ms: u64,
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue {
            default_joomla: "4,5,6".into(),
            collection_name: "depot".into(),
            poll_ms: 500,
        }
    }
}

/// The vendor's name and look on the console, the account pages and in mails.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Branding {
    /// The vendor's name; empty: `catalogue.collection_name`.
    pub name: String,
    /// A logo, an absolute http(s) URL (pages and mails show it at the top).
    pub logo_url: Option<String>,
    /// The colour of links and buttons, `#rrggbb`.
    pub accent: Option<String>,
    /// Where customers get help (pages and mails link it).
    pub support_url: Option<String>,
    /// The name mails come from (the address stays `mail.from`'s).
    pub mail_from_name: Option<String>,
    /// A line at the end of every mail (an address, a company number).
    pub mail_footer: Option<String>,
}

impl Branding {
    fn set(value: &Option<String>) -> Option<String> {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    }

    /// Checked, with the name's fallback.
    pub fn checked(&self, collection_name: &str) -> anyhow::Result<depot_service::Branding> {
        let url = |key: &str, value: &Option<String>| -> anyhow::Result<Option<String>> {
            let Some(v) = Self::set(value) else {
                return Ok(None);
            };
            match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(Some(v)),
                _ => bail!("branding.{key} = {v:?} must be an absolute http(s) URL"),
            }
        };
        let accent = Self::set(&self.accent);
        if let Some(a) = &accent
            && !(a.len() == 7
                && a.starts_with('#')
                && a[1..].chars().all(|c| c.is_ascii_hexdigit()))
        {
            bail!("branding.accent = {a:?} must be a colour such as \"#2b5fd9\"");
        }
        let name = self.name.trim();
        Ok(depot_service::Branding {
            name: if name.is_empty() {
                collection_name.to_string()
            } else {
                name.to_string()
            },
            logo_url: url("logo_url", &self.logo_url)?,
            accent,
            support_url: url("support_url", &self.support_url)?,
            mail_footer: Self::set(&self.mail_footer),
        })
    }

    /// `mail.from` with the configured display name: `"Example Ltd" <updates@example.com>`.
    pub fn mail_from(&self, from: &str) -> String {
        let Some(name) = Self::set(&self.mail_from_name) else {
            return from.to_string();
        };
        let address = match (from.rfind('<'), from.rfind('>')) {
            (Some(open), Some(close)) if open < close => &from[open + 1..close],
            _ => from.trim(),
        };
        let name = name.replace(['"', '\\'], "");
        format!("\"{name}\" <{address}>")
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `depot=debug,info`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            format: "text".into(),
            filter: "info,sqlx=warn".into(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("./depot-data"),
            database_url: None,
            secret: None,
            signing_key: None,
            storage: StorageSettings::default(),
            mail: MailSettings::default(),
            limits: Limits::default(),
            catalogue: Catalogue::default(),
            keys: Keys::default(),
            identity: Identity::default(),
            branding: Branding::default(),
            sales: Sales::default(),
            customer_mails: CustomerMails::default(),
            webhooks: Webhooks::default(),
            log: Log::default(),
            trusted_proxies: String::new(),
            jbackend_base_path: String::new(),
            metrics_token: None,
        }
    }
}

impl Settings {
    /// Loads the configuration. `file` is `--config`/`DEPOT_CONFIG`; without it `depot.toml` is
    /// read if present.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut builder = config::Config::builder();
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("configuration file {} does not exist", path.display());
                }
                builder = builder.add_source(
                    config::File::from(path)
                        .format(config::FileFormat::Toml)
                        .required(true),
                );
            }
            None => {
                builder = builder.add_source(
                    config::File::from(Path::new(DEFAULT_CONFIG_FILE))
                        .format(config::FileFormat::Toml)
                        .required(false),
                );
            }
        }
        let env = config::Environment::with_prefix("DEPOT")
            .prefix_separator("_")
            .separator("__")
            .ignore_empty(true);
        let settings: Settings = builder
            .add_source(env)
            .build()
            .context("reading the configuration")?
            .try_deserialize()
            .context("the configuration is invalid")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| {
                format!(
                    "listen = {:?} is not an address such as 127.0.0.1:8080",
                    self.listen
                )
            })?;
        self.default_targets()?;
        let public = self.public_url();
        let parsed = url::Url::parse(&public)
            .with_context(|| format!("public_url = {public:?} is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            bail!("public_url = {public:?} must be an http(s) URL without a query string");
        }
        if self
            .secret
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty() && s.trim().len() < 32)
        {
            bail!("secret must be at least 32 characters (e.g. `openssl rand -hex 32`)");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format = {:?}: use text or json", self.log.format);
        }
        self.trusted_proxies()?;
        self.identity.checked()?;
        self.jbackend_base_path()?;
        self.branding.checked(&self.catalogue.collection_name)?;
        self.sales.checked()?;
        self.webhooks.checked()?;
        if self.keys.shared_window_hours == 0 {
            bail!("keys.shared_window_hours must be at least 1");
        }
        let l = &self.limits;
        for (key, value) in [
            ("max_connections", l.max_connections as u64),
            (
                "max_connections_per_client",
                l.max_connections_per_client as u64,
            ),
            ("header_timeout_secs", l.header_timeout_secs),
            ("idle_timeout_secs", l.idle_timeout_secs),
        ] {
            if value == 0 {
                bail!("limits.{key} = 0 would refuse every connection; it must be at least 1");
            }
        }
        Ok(())
    }

    /// The connection rules of `[limits]`, with the trusted proxies exempt from the per-client
    /// limit (each carries many clients). `max_connections` is not yet fitted to the
    /// file-descriptor limit; `startup` does that.
    pub fn connection_limits(&self) -> anyhow::Result<depot_web::ConnectionLimits> {
        let l = &self.limits;
        Ok(depot_web::ConnectionLimits {
            max_connections: l.max_connections,
            max_per_client: l.max_connections_per_client,
            header_timeout: Duration::from_secs(l.header_timeout_secs),
            idle_timeout: Duration::from_secs(l.idle_timeout_secs),
            exempt: self.trusted_proxies()?,
        })
    }

    /// What a valid configuration may still get wrong for exposure to the internet, in words
    /// (`check-config` and `serve` print them).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let public = self.public_url();
        let host = url::Url::parse(&public)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
        if public.starts_with("https://") && self.trusted_proxies.trim().is_empty() {
            out.push(
                "public_url is https but depot serves plain HTTP, so a TLS proxy is in front of \
                 it: set trusted_proxies to its address, or every client behind it shares one \
                 rate limit and one max_connections_per_client, and the download log records \
                 the proxy (docs/deploy.md)"
                    .to_string(),
            );
        }
        if public.starts_with("http://") && !local {
            out.push(format!(
                "public_url {public:?} is plain http: download keys and passwords would cross \
                 the network in clear; put a TLS front before depot (docs/deploy.md)"
            ));
        }
        out
    }

    /// `trusted_proxies`, parsed: each an address (one host) or a CIDR range.
    pub fn trusted_proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "trusted_proxies: {p:?} is not an address or a CIDR range such as \
                             10.0.0.0/8"
                        )
                    })
            })
            .collect()
    }

    /// `jbackend_base_path`, checked: a path of its own under which nothing else answers.
    pub fn jbackend_base_path(&self) -> anyhow::Result<Option<String>> {
        let path = self.jbackend_base_path.trim().trim_end_matches('/');
        if path.is_empty() {
            return Ok(None);
        }
        let plain = path.starts_with('/')
            && !path.contains("//")
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b));
        let first = path.split('/').nth(1).unwrap_or_default();
        let taken = [
            "updates",
            "changelogs",
            "download",
            "get",
            "post",
            "api",
            "admin",
            "account",
            "healthz",
            "readyz",
            "metrics",
        ];
        if !plain || taken.contains(&first) {
            bail!(
                "jbackend_base_path = {path:?}: a path such as \"/index.php/jbackend/rest\" \
                 (letters, digits, '.', '-', '_'), not under one of depot's own"
            );
        }
        Ok(Some(path.to_string()))
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn database_url(&self) -> String {
        match self
            .database_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(u) => u.to_string(),
            None => format!("sqlite://{}", self.data_dir.join("depot.db").display()),
        }
    }

    pub fn default_targets(&self) -> anyhow::Result<Targets> {
        self.catalogue.default_joomla.parse().with_context(|| {
            format!(
                "catalogue.default_joomla = {:?}",
                self.catalogue.default_joomla
            )
        })
    }

    /// The configured secret, or the one generated into the data directory on first use.
    pub fn resolve_secret(&self) -> anyhow::Result<depot_service::Secret> {
        if let Some(s) = self
            .secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return Ok(depot_service::Secret::new(s.as_bytes()));
        }
        let path = self.data_dir.join("secret");
        if !path.exists() {
            std::fs::create_dir_all(&self.data_dir)?;
            let generated = hex_secret();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut f) => std::io::Write::write_all(&mut f, generated.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        let s = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if s.trim().len() < 32 {
            bail!("{} holds fewer than 32 characters", path.display());
        }
        Ok(depot_service::Secret::new(s.trim().as_bytes()))
    }

    /// The configured signing key, or the one generated into the data directory on first use.
    pub fn resolve_signing_key(&self) -> anyhow::Result<depot_service::SigningKey> {
        Ok(match &self.signing_key {
            Some(path) => depot_service::SigningKey::load(path, false)?,
            None => depot_service::SigningKey::load(&self.data_dir.join("signing.key"), true)?,
        })
    }

    pub fn service_settings(&self) -> anyhow::Result<depot_service::Settings> {
        Ok(depot_service::Settings {
            public_url: self.public_url(),
            max_upload_bytes: self.limits.max_upload_bytes,
            package_limits: PackageLimits {
                max_entries: self.limits.max_zip_entries,
                max_unpacked_bytes: self.limits.max_unpacked_bytes,
                max_ratio: self.limits.max_zip_ratio,
                ..PackageLimits::default()
            },
            default_targets: self.default_targets()?,
            collection_name: self.catalogue.collection_name.clone(),
            temp_dir: self.data_dir.join("tmp"),
            events_dir: self.data_dir.join("events"),
            catalogue_poll: Duration::from_millis(self.catalogue.poll_ms.max(50)),
            secret: self.resolve_secret()?,
            signing_key: std::sync::Arc::new(self.resolve_signing_key()?),
            mail_max_attempts: self.mail.max_attempts.max(1),
            mail_poll: Duration::from_secs(5),
            // A lease shorter than a send could time out would let two instances send one
            // message.
            mail_lease: Duration::from_secs(self.mail.lease_secs.max(self.mail.timeout_secs + 5)),
            trusted_proxies: self.trusted_proxies()?,
            shared_keys: depot_service::SharedKeySettings {
                addresses: self.keys.shared_addresses,
                window: Duration::from_secs(u64::from(self.keys.shared_window_hours) * 3600),
                block: self.keys.block_shared,
            },
            joomla: self.identity.joomla_source()?,
            jbackend_base_path: self.jbackend_base_path()?,
            branding: self.branding.checked(&self.catalogue.collection_name)?,
            metrics_token: self
                .metrics_token
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| depot_service::Secret::new(t.as_bytes())),
            sales: self.sales.checked()?,
            customer_mails: self.customer_mails.settings(),
            webhooks: self.webhooks.checked()?,
        })
    }

    /// The effective configuration as TOML, with secrets masked: what `check-config` prints.
    pub fn to_masked_toml(&self) -> anyhow::Result<String> {
        toml_string(&self.masked())
    }

    /// The effective configuration with secrets masked, as JSON (`check-config --json`).
    pub fn to_masked_json(&self) -> serde_json::Value {
        serde_json::to_value(self.masked()).unwrap_or_default()
    }

    /// The effective configuration, every secret replaced by `***` and every URL's password
    /// removed.
    fn masked(&self) -> Settings {
        let mut shown = self.clone();
        shown.public_url = Some(self.public_url());
        shown.database_url = Some(depot_store::redact_url(&self.database_url()));
        if shown.secret.is_some() {
            shown.secret = Some("***".into());
        }
        if let Some(url) = &self.mail.url {
            shown.mail.url = Some(depot_store::redact_url(url));
        }
        if let Some(url) = &self.identity.database_url {
            shown.identity.database_url = Some(depot_store::redact_url(url));
        }
        if shown.metrics_token.is_some() {
            shown.metrics_token = Some("***".into());
        }
        for secret in [
            &mut shown.sales.stripe_webhook_secret,
            &mut shown.sales.paddle_webhook_secret,
        ] {
            if secret.is_some() {
                *secret = Some("***".into());
            }
        }
        if shown.storage.secret_access_key.is_some() {
            shown.storage.secret_access_key = Some("***".into());
        }
        shown
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_masked_toml() {
            Ok(masked) => f.write_str(&masked),
            Err(_) => f.write_str("Settings(…)"),
        }
    }
}

fn hex_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn toml_string(s: &Settings) -> anyhow::Result<String> {
    // The config crate reads TOML but does not write it; serde_json → a small TOML printer keeps
    // the dependency set unchanged.
    let value = serde_json::to_value(s)?;
    let mut top = String::new();
    let mut sections = String::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            match v {
                serde_json::Value::Object(inner) => {
                    sections.push_str(&format!("\n[{k}]\n"));
                    for (ik, iv) in inner {
                        if !iv.is_null() {
                            sections.push_str(&format!("{ik} = {iv}\n"));
                        }
                    }
                }
                serde_json::Value::Null => {}
                other => top.push_str(&format!("{k} = {other}\n")),
            }
        }
    }
    Ok(top + &sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let s = Settings::default();
        s.validate().unwrap();
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert_eq!(s.database_url(), "sqlite://./depot-data/depot.db");
        assert_eq!(s.storage.kind, "local");
        // The README's `[limits]`, as the embedded defaults.
        let l = &s.limits;
        assert_eq!(
            (
                l.max_upload_bytes,
                l.max_unpacked_bytes,
                l.max_zip_ratio,
                l.max_zip_entries
            ),
            (536_870_912, 2_147_483_648, 200, 20_000)
        );
    }

    #[test]
    fn exposure_warnings() {
        let with = |public: &str, proxies: &str| Settings {
            public_url: Some(public.into()),
            trusted_proxies: proxies.into(),
            ..Settings::default()
        };
        assert!(Settings::default().warnings().is_empty(), "local defaults");
        let w = with("https://updates.example.com", "").warnings();
        assert!(w.len() == 1 && w[0].contains("trusted_proxies"), "{w:?}");
        assert!(
            with("https://updates.example.com", "127.0.0.1")
                .warnings()
                .is_empty()
        );
        let w = with("http://updates.example.com", "").warnings();
        assert!(w.len() == 1 && w[0].contains("plain http"), "{w:?}");
    }

    #[test]
    fn branding_is_checked_and_names_the_mail_sender() {
        let with = |f: fn(&mut Branding)| {
            let mut b = Branding::default();
            f(&mut b);
            b
        };
        let b = with(|_| {});
        assert_eq!(b.checked("Vendor").unwrap().name, "Vendor");
        assert_eq!(
            b.mail_from("depot <depot@localhost>"),
            "depot <depot@localhost>"
        );
        let named = with(|b| b.mail_from_name = Some("Acme \"Pro\"".into()));
        assert_eq!(
            named.mail_from("depot <up@acme.test>"),
            "\"Acme Pro\" <up@acme.test>"
        );
        assert_eq!(
            named.mail_from("up@acme.test"),
            "\"Acme Pro\" <up@acme.test>"
        );
        for bad in [
            with(|b| b.accent = Some("red".into())),
            with(|b| b.accent = Some("#12345g".into())),
            with(|b| b.logo_url = Some("javascript:alert(1)".into())),
            with(|b| b.support_url = Some("/support".into())),
        ] {
            assert!(bad.checked("x").is_err(), "{bad:?}");
        }
        let good = with(|b| b.accent = Some("#A0b1C2".into()));
        assert_eq!(
            good.checked("x").unwrap().accent.as_deref(),
            Some("#A0b1C2")
        );
    }

    #[test]
    fn jbackend_base_path_is_a_path_of_its_own() {
        let with = |p: &str| Settings {
            jbackend_base_path: p.into(),
            ..Settings::default()
        };
        assert_eq!(with("").jbackend_base_path().unwrap(), None);
        assert_eq!(
            with("/index.php/jbackend/rest/")
                .jbackend_base_path()
                .unwrap(),
            Some("/index.php/jbackend/rest".into())
        );
        for bad in ["index.php", "/api/x", "/a//b", "/a?b=1", "/{x}", "/get"] {
            assert!(with(bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn masked_output_hides_secrets() {
        let mut s = Settings {
            database_url: Some("postgres://depot:hunter2@db/depot".into()),
            ..Settings::default()
        };
        s.storage.secret_access_key = Some("s3cr3t".into());
        s.mail.url = Some("smtp://mailer:m41lpw@mail.example.com".into());
        s.identity.database_url = Some("mysql://reader:j00mla@site/joomla".into());
        let out = s.to_masked_toml().unwrap();
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains("m41lpw"), "{out}");
        assert!(!out.contains("j00mla"), "{out}");
        assert!(out.contains("smtp://mailer:***@mail.example.com"), "{out}");
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("s3cr3t"),
            "{debug}"
        );
        assert!(out.contains("[storage]"));
    }
}
