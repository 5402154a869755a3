//! The `depot` command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use depot_service::{Actor, Scope, SettingsFile};

use crate::client::{self, Api, PublishArgs};
use crate::config::Settings;
use crate::remote::{
    self, AuditArgs, ExtensionCommand, GroupCommand, KeyCommand, MembershipCommand, Output,
    PackageGroupCommand, ReleaseCommand, RemoteTokenCommand, UserCommand,
};
use crate::startup;

#[derive(Debug, Parser)]
#[command(
    name = "depot",
    version,
    about = "A self-hosted update server and package distribution system for Joomla extensions"
)]
pub struct Cli {
    /// Configuration file (default: ./depot.toml if it exists).
    #[arg(long, global = true, env = "DEPOT_CONFIG")]
    pub config: Option<PathBuf>,
    /// The depot server the API commands talk to, e.g. https://updates.example.com.
    #[arg(long, global = true, env = "DEPOT_URL")]
    pub url: Option<String>,
    /// An API token for the commands that talk to the server.
    #[arg(long, global = true, env = "DEPOT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets masked.
    CheckConfig,
    /// API tokens: `create` runs against the configured database (so that the first token can
    /// be made); `list` and `revoke` go over the API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Back up the database (one consistent snapshot), the package files (or, on S3, a list
    /// with their hashes) and the server secret into DIR, which must be new or empty. Safe while
    /// the server runs.
    Backup {
        /// Where the backup goes.
        dir: std::path::PathBuf,
    },
    /// Restore a backup made by `depot backup` into this instance, whose database must be empty.
    Restore {
        /// The backup's directory.
        dir: std::path::PathBuf,
    },
    /// Import from another update server (offline, against the configured database).
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Upload a package through the API (DEPOT_URL, DEPOT_TOKEN).
    Publish {
        #[command(flatten)]
        args: PublishArgs,
    },
    /// User groups (over the API).
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Users (over the API).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Memberships: who is in which group, from when until when (over the API).
    Membership {
        #[command(subcommand)]
        command: MembershipCommand,
    },
    /// Package groups: which user groups may download an extension (over the API).
    PackageGroup {
        #[command(subcommand)]
        command: PackageGroupCommand,
    },
    /// Extensions (over the API).
    Extension {
        #[command(subcommand)]
        command: ExtensionCommand,
    },
    /// Download keys and jBackend keys (over the API).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Releases: list, publish a draft, yank, notes (over the API).
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
    /// The audit log: who changed what, when (over the API; needs an admin token).
    Audit {
        #[command(flatten)]
        args: AuditArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// The jBackend Release System's settings: package lines, package group lines, the folder.
    Jbackend {
        /// Lines `package id;package path[;package group]`.
        #[arg(long)]
        packages: PathBuf,
        /// Lines `package group;groups[;hash;package name]`.
        #[arg(long)]
        groups: PathBuf,
        /// The packages folder the paths are relative to.
        #[arg(long)]
        folder: PathBuf,
    },
    /// Akeeba Release System, read from its Joomla site's database: categories, releases,
    /// items and their files, update streams, Download IDs.
    Ars {
        /// The site's database, `mysql://…` or `postgres://…` (read-only is enough); default
        /// `[identity] database_url`.
        #[arg(long)]
        database_url: Option<String>,
        /// The site's table prefix; default `[identity] table_prefix`.
        #[arg(long)]
        table_prefix: Option<String>,
        /// The Joomla site's root directory, which ARS category directories are relative to.
        #[arg(long)]
        site_root: PathBuf,
    },
}

/// Prints what an import did; an error when something could not be imported.
fn print_report(report: &depot_service::ImportReport) -> anyhow::Result<()> {
    for what in &report.imported {
        println!("imported  {what}");
    }
    for what in &report.unchanged {
        println!("unchanged {what}");
    }
    for (source, line, why) in &report.failed {
        eprintln!("NOT IMPORTED {source}:{line}: {why}");
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} item(s) could not be imported (above, with why); the rest were",
            report.failed.len()
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout.
    Create {
        /// admin, publish or read.
        #[arg(long)]
        scope: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// For publish tokens: the extensions it may publish (comma-separated; default all).
        #[arg(long)]
        extensions: Option<String>,
    },
    #[command(flatten)]
    Remote(RemoteTokenCommand),
}

/// Logs go to stderr through a writer thread, so a request never waits on the terminal or a
/// pipe; the returned guard writes out what is queued when it is dropped (at exit).
pub fn init_tracing(settings: &Settings) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    // Not lossy: under a flood the request path waits rather than dropping log lines.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let _ = if settings.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}

/// The server and token of the commands that use the API.
fn remote(cli_url: Option<String>, cli_token: Option<String>) -> anyhow::Result<(String, String)> {
    let url = cli_url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
        anyhow::anyhow!("DEPOT_URL is not set: the server's address, e.g. https://updates.example.com (or --url)")
    })?;
    let token = cli_token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        anyhow::anyhow!("DEPOT_TOKEN is not set: an API token (depot token create, or --token)")
    })?;
    Ok((url, token))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let out = &cli.output;
    let api = || -> anyhow::Result<Api> {
        let (url, token) = remote(cli.url.clone(), cli.token.clone())?;
        Api::new(&url, &token)
    };
    match cli.command {
        Command::Publish { args } => {
            let (url, token) = remote(cli.url.clone(), cli.token.clone())?;
            client::publish(&url, &token, args).await
        }
        Command::Group { command } => remote::group(&api()?, out, command).await,
        Command::User { command } => remote::user(&api()?, out, command).await,
        Command::Membership { command } => remote::membership(&api()?, out, command).await,
        Command::PackageGroup { command } => remote::package_group(&api()?, out, command).await,
        Command::Extension { command } => remote::extension(&api()?, out, command).await,
        Command::Key { command } => remote::key(&api()?, out, command).await,
        Command::Release { command } => remote::release(&api()?, out, command).await,
        Command::Audit { args } => remote::audit(&api()?, out, args).await,
        Command::Token {
            command: TokenCommand::Remote(command),
        } => remote::token(&api()?, out, command).await,
        command => {
            let settings = Settings::load(cli.config.as_deref())?;
            let _log_guard = init_tracing(&settings);
            match command {
                Command::Serve => serve(settings).await,
                Command::Migrate => {
                    startup::open_backends(&settings, depot_core::Clock::system()).await?;
                    eprintln!("database is up to date");
                    Ok(())
                }
                Command::CheckConfig => {
                    print!("{}", settings.to_masked_toml()?);
                    for warning in settings.warnings() {
                        eprintln!("warning: {warning}");
                    }
                    let storage = startup::check_backends(&settings).await?;
                    eprintln!("configuration OK; database reachable; storage: {storage}");
                    Ok(())
                }
                Command::Token {
                    command:
                        TokenCommand::Create {
                            scope,
                            name,
                            extensions,
                        },
                } => {
                    let scope =
                        Scope::parse(&scope, extensions.as_deref()).map_err(anyhow::Error::msg)?;
                    let depot = startup::build_depot(&settings).await?;
                    let (_, token) = depot
                        .create_token(&Actor::system("depot token create"), &name, &scope)
                        .await?;
                    depot.shutdown().await;
                    println!("{token}");
                    Ok(())
                }
                Command::Backup { dir } => {
                    let m = crate::backups::backup(&settings, &dir).await?;
                    let rows: u64 = m.tables.values().sum();
                    let files = if m.packages_copied {
                        "copied"
                    } else {
                        "listed (they stay in S3)"
                    };
                    println!(
                        "backed up {rows} rows of {} tables and {} package files ({files}) into {}",
                        m.tables.len(),
                        m.packages.len(),
                        dir.display()
                    );
                    Ok(())
                }
                Command::Restore { dir } => {
                    let m = crate::backups::restore(&settings, &dir).await?;
                    let rows: u64 = m.tables.values().sum();
                    println!(
                        "restored {rows} rows and {} package files from {} (made by depot {})",
                        m.packages.len(),
                        dir.display(),
                        m.depot_version
                    );
                    Ok(())
                }
                Command::Import {
                    source:
                        ImportSource::Jbackend {
                            packages,
                            groups,
                            folder,
                        },
                } => {
                    let read = |path: &std::path::Path| {
                        std::fs::read_to_string(path)
                            .map(|text| SettingsFile {
                                name: path.display().to_string(),
                                text,
                            })
                            .with_context(|| format!("cannot read {}", path.display()))
                    };
                    let (groups, packages) = (read(&groups)?, read(&packages)?);
                    let depot = startup::build_depot(&settings).await?;
                    let report = depot.import_jbackend(&packages, &groups, &folder).await;
                    depot.shutdown().await;
                    print_report(&report)
                }
                Command::Import {
                    source:
                        ImportSource::Ars {
                            database_url,
                            table_prefix,
                            site_root,
                        },
                } => {
                    let url = database_url
                        .or_else(|| settings.identity.database_url.clone())
                        .context(
                            "--database-url: the Joomla site's database (or set \
                             [identity] database_url)",
                        )?;
                    let prefix =
                        table_prefix.unwrap_or_else(|| settings.identity.table_prefix.clone());
                    let site = depot_joomla::JoomlaSite::connect(&url, &prefix)?;
                    let depot = startup::build_depot(&settings).await?;
                    let report = depot.import_ars(&site, &site_root).await;
                    depot.shutdown().await;
                    print_report(&report?)
                }
                Command::Publish { .. }
                | Command::Group { .. }
                | Command::User { .. }
                | Command::Membership { .. }
                | Command::PackageGroup { .. }
                | Command::Extension { .. }
                | Command::Key { .. }
                | Command::Release { .. }
                | Command::Audit { .. }
                | Command::Token {
                    command: TokenCommand::Remote(_),
                } => unreachable!("handled above"),
            }
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Listening for signals before anything else: a SIGTERM right after start shuts down
    // gracefully too.
    let stop = startup::shutdown_signal();
    let server = startup::Server::start(&settings).await?;
    tracing::info!(
        listen = %server.addr,
        public_url = %settings.public_url(),
        database = %depot_store::redact_url(&settings.database_url()),
        storage = %server.depot.storage_description(),
        mail = %server.depot.mailer().describe(),
        "depot is serving"
    );
    for warning in settings.warnings() {
        tracing::warn!("{warning}");
    }
    if settings.public_url.is_none()
        && settings
            .listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_unspecified())
    {
        tracing::warn!(
            "listen is a wildcard address and public_url is not set: feeds will carry {}; set public_url",
            settings.public_url()
        );
    }
    if let Some(token) = server
        .depot
        .first_start_token()
        .await
        .context("creating the first admin token")?
    {
        // Not on stdout: service managers keep that in their journal, readable by more people
        // than the token should be.
        let path = startup::write_first_start_token(&settings.data_dir, &token)?;
        println!(
            "First start: an admin API token was written to {} (readable by this user only).",
            path.display()
        );
        println!("Keep it somewhere safe, then delete the file. To publish:");
        println!();
        println!(
            "    DEPOT_URL={} DEPOT_TOKEN=$(cat {}) depot publish package.zip",
            settings.public_url(),
            path.display()
        );
        println!();
    }
    println!(
        "depot is serving on {} (public URL {})",
        server.addr,
        settings.public_url()
    );
    stop.await;
    tracing::info!("shutting down");
    server.shutdown().await
}
