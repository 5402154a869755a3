//! The `depot` command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use depot_service::{Actor, Scope, SettingsFile};

use crate::client::{self, Api, PublishArgs};
use crate::config::Settings;
use crate::exit::{self, Class};
use crate::output::show;
use crate::remote::{
    self, AuditArgs, ExtensionCommand, GroupCommand, KeyCommand, MembershipCommand, Output,
    PackageGroupCommand, ReleaseCommand, RemoteTokenCommand, SalesCommand, UserCommand,
    WebhookCommand,
};
use crate::startup;

/// Shown under `depot --help`.
const EXAMPLES: &str = "\
Examples:
  depot serve                                    start on ./depot.toml or the embedded defaults
  depot token create --scope publish --name ci   a token for CI (offline, on the server's database)
  export DEPOT_URL=https://updates.example.com DEPOT_TOKEN=depot_…
  depot publish pkg_hello-1.2.0.zip --joomla 4.4,5,6 --notes CHANGES.md
  depot publish pkg_hello-1.2.0.zip --json | jq -r .download_url
  depot user add --email buyer@example.com && depot membership add --user buyer@example.com --group 9
  depot completions bash > /etc/bash_completion.d/depot

Exit codes: 0 success, 1 other failure, 2 usage or invalid request, 3 token or permission,
4 not found, 5 conflict, 6 server or network (README, \"Exit codes\").";

#[derive(Debug, Parser)]
#[command(
    name = "depot",
    version,
    about = "A self-hosted update server and package distribution system for Joomla extensions",
    after_help = EXAMPLES
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
    /// Offline commands (migrate, token create, backup, import): create the database if there
    /// is none, instead of refusing.
    #[arg(long, global = true)]
    pub init: bool,
    #[command(flatten)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the database and the data directory are created on first start).
    #[command(after_help = "Example:\n  DEPOT_PUBLIC_URL=https://updates.example.com depot serve")]
    Serve,
    /// Apply database migrations and exit (`--init` on a database that does not exist yet).
    #[command(after_help = "Example, a first deployment on PostgreSQL:\n  \
                            DEPOT_DATABASE_URL=postgres://depot@db/depot depot migrate --init")]
    Migrate,
    /// Print the effective configuration, secrets masked, and check that the database and the
    /// storage answer.
    CheckConfig,
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
                            depot completions bash > /etc/bash_completion.d/depot\n  \
                            depot completions zsh > \"${fpath[1]}/_depot\"\n  \
                            depot completions fish > ~/.config/fish/completions/depot.fish")]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// API tokens: `create` runs against the configured database (so that the first token can
    /// be made); `list` and `revoke` go over the API.
    #[command(
        after_help = "Examples:\n  depot token create --scope publish --extensions plg_system_hello --name ci\n  depot token list\n  depot token revoke 7"
    )]
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Back up the database (one consistent snapshot), the package files (or, on S3, a list
    /// with their hashes) and the server secret into DIR, which must be new or empty. Safe while
    /// the server runs.
    #[command(after_help = "Example:\n  depot backup /var/backups/depot/$(date +%F)")]
    Backup {
        /// Where the backup goes.
        dir: std::path::PathBuf,
    },
    /// Restore a backup made by `depot backup` into this instance, whose database must be empty
    /// (it is created if there is none).
    #[command(
        after_help = "Example:\n  DEPOT_DATABASE_URL=postgres://depot@db/depot depot restore /var/backups/depot/2026-12-01"
    )]
    Restore {
        /// The backup's directory.
        dir: std::path::PathBuf,
    },
    /// Import from another update server (offline, against the configured database).
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Upload a package through the API (DEPOT_URL, DEPOT_TOKEN): the extension and version
    /// come from its manifest (a Joomla manifest, or a Composer package's composer.json).
    #[command(after_help = "Examples:\n  \
                            depot publish pkg_hello-1.2.0.zip --joomla 4.4,5,6 --notes CHANGES.md\n  \
                            depot publish pkg_hello-1.3.0-beta1.zip --draft\n  \
                            depot publish pkg_hello-1.2.0.zip --json   # outcome, version, hashes, URLs\n  \
                            depot publish widgets.zip --version 1.2.0  # a Composer package, named by its composer.json")]
    Publish {
        #[command(flatten)]
        args: PublishArgs,
    },
    /// User groups (over the API).
    #[command(
        after_help = "Examples:\n  depot group add --id 9 --name \"Pro subscribers\"\n  depot group list"
    )]
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Users (over the API).
    #[command(
        after_help = "Examples:\n  depot user add --email buyer@example.com --name \"Ann Buyer\"\n  echo \"$PASSWORD\" | depot user add --email you@example.com --admin --password-stdin\n  depot user list --email @example.com"
    )]
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Memberships: who is in which group, from when until when (over the API).
    #[command(
        after_help = "Examples:\n  depot membership add --user buyer@example.com --group 9 --until 2027-12-31\n  depot membership end --user buyer@example.com --group 9"
    )]
    Membership {
        #[command(subcommand)]
        command: MembershipCommand,
    },
    /// Package groups: which user groups may download an extension (over the API).
    #[command(
        after_help = "Examples:\n  depot package-group add --id pro --groups 9,12 --name \"Pro\"\n  depot package-group update --id pro --policy keep-released"
    )]
    PackageGroup {
        #[command(subcommand)]
        command: PackageGroupCommand,
    },
    /// Extensions (over the API).
    #[command(
        after_help = "Examples:\n  depot extension show plg_system_hello\n  depot extension set com_foo --package-group pro"
    )]
    Extension {
        #[command(subcommand)]
        command: ExtensionCommand,
    },
    /// Download keys and jBackend keys (over the API).
    #[command(
        after_help = "Examples:\n  depot key create --user buyer@example.com --label www.example.com\n  depot key list --user buyer@example.com --json"
    )]
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Releases: list, publish a draft, yank, notes (over the API).
    #[command(
        after_help = "Examples:\n  depot release list plg_system_hello\n  depot release yank plg_system_hello 1.1.0\n  depot release notes plg_system_hello 1.1.0 --file NOTES.md"
    )]
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
    /// Sales from Stripe or Paddle: price mappings and the events received (over the API).
    #[command(
        after_help = "Examples:\n  depot sales map --provider stripe --price price_1Pro --group 9 --term subscription\n  depot sales events --outcome unknown_price"
    )]
    Sales {
        #[command(subcommand)]
        command: SalesCommand,
    },
    /// Webhooks: endpoints depot tells what happened, signed (over the API; admin).
    #[command(
        after_help = "Examples:\n  depot webhook add --endpoint https://crm.example.com/depot --events '*'\n  depot webhook deliveries --id 1"
    )]
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// The audit log: who changed what, when (over the API; needs an admin token).
    #[command(
        after_help = "Examples:\n  depot audit --action release. --from 2026-11-01\n  depot audit --actor github-ci --json"
    )]
    Audit {
        #[command(flatten)]
        args: AuditArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// The jBackend Release System's settings: package lines, package group lines, the folder.
    #[command(after_help = "Example:\n  \
                            depot import jbackend --packages packages.txt --groups groups.txt \\\n    \
                            --folder /var/www/site/images/packages")]
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
    #[command(after_help = "Example:\n  \
                            depot import ars --database-url mysql://reader:secret@db/joomla \\\n    \
                            --table-prefix jos_ --site-root /var/www/site")]
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
fn print_report(out: &Output, report: &depot_service::ImportReport) -> anyhow::Result<()> {
    show(out, report, |report| {
        for what in &report.imported {
            outln!("imported  {what}");
        }
        for what in &report.unchanged {
            outln!("unchanged {what}");
        }
    });
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
    /// Create a token and print it alone on stdout (offline, on the server's database).
    #[command(after_help = "Examples:\n  \
                            depot token create --scope admin --name me\n  \
                            depot token create --scope publish --extensions plg_system_hello --name github-ci")]
    Create {
        /// admin (everything), publish (upload and change releases) or read.
        #[arg(long)]
        scope: String,
        /// A name to recognise it by in `depot token list` and the audit log.
        #[arg(long, default_value = "cli")]
        name: String,
        /// For publish tokens: the extensions it may publish (comma-separated; default all).
        #[arg(long)]
        extensions: Option<String>,
    },
    #[command(flatten)]
    Remote(RemoteTokenCommand),
}

/// The server and token of the commands that use the API.
fn remote(cli_url: Option<String>, cli_token: Option<String>) -> anyhow::Result<(String, String)> {
    let url = cli_url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
        exit::failure(
            Class::Usage,
            "DEPOT_URL is not set: the server's address, e.g. https://updates.example.com (or --url)",
        )
    })?;
    let token = cli_token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        exit::failure(
            Class::Auth,
            "DEPOT_TOKEN is not set: an API token (depot token create, or --token)",
        )
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
            client::publish(&url, &token, args, out).await
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "depot", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Group { command } => remote::group(&api()?, out, command).await,
        Command::User { command } => remote::user(&api()?, out, command).await,
        Command::Membership { command } => remote::membership(&api()?, out, command).await,
        Command::PackageGroup { command } => remote::package_group(&api()?, out, command).await,
        Command::Extension { command } => remote::extension(&api()?, out, command).await,
        Command::Key { command } => remote::key(&api()?, out, command).await,
        Command::Release { command } => remote::release(&api()?, out, command).await,
        Command::Audit { args } => remote::audit(&api()?, out, args).await,
        Command::Sales { command } => remote::sales(&api()?, out, command).await,
        Command::Webhook { command } => remote::webhook(&api()?, out, command).await,
        Command::Token {
            command: TokenCommand::Remote(command),
        } => remote::token(&api()?, out, command).await,
        command => {
            let settings = Settings::load(cli.config.as_deref())?;
            let _log_guard = crate::logging::init_tracing(&settings);
            match command {
                Command::Serve => serve(settings).await,
                Command::Migrate => {
                    startup::existing_database(&settings, cli.init).await?;
                    startup::open_backends(&settings, depot_core::Clock::system()).await?;
                    eprintln!("database is up to date");
                    Ok(())
                }
                Command::CheckConfig => {
                    if out.json {
                        show(out, &settings.to_masked_json(), |_| {});
                    } else {
                        out!("{}", settings.to_masked_toml()?);
                    }
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
                    let scope = Scope::parse(&scope, extensions.as_deref())
                        .map_err(|e| exit::failure(Class::Usage, e))?;
                    startup::existing_database(&settings, cli.init).await?;
                    let depot = startup::build_depot(&settings).await?;
                    let (view, token) = depot
                        .create_token(&Actor::system("depot token create"), &name, &scope)
                        .await?;
                    depot.shutdown().await;
                    let created = depot_api::CreatedToken { view, token };
                    show(out, &created, |c| outln!("{}", c.token));
                    Ok(())
                }
                Command::Backup { dir } => {
                    startup::existing_database(&settings, cli.init).await?;
                    let m = crate::backups::backup(&settings, &dir).await?;
                    if out.json {
                        show(out, &m, |_| {});
                        return Ok(());
                    }
                    let rows: u64 = m.tables.values().sum();
                    let files = if m.packages_copied {
                        "copied"
                    } else {
                        "listed (they stay in S3)"
                    };
                    outln!(
                        "backed up {rows} rows of {} tables and {} package files ({files}) into {}",
                        m.tables.len(),
                        m.packages.len(),
                        dir.display()
                    );
                    Ok(())
                }
                Command::Restore { dir } => {
                    let m = crate::backups::restore(&settings, &dir).await?;
                    if out.json {
                        show(out, &m, |_| {});
                        return Ok(());
                    }
                    let rows: u64 = m.tables.values().sum();
                    outln!(
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
                    startup::existing_database(&settings, cli.init).await?;
                    let depot = startup::build_depot(&settings).await?;
                    let report = depot.import_jbackend(&packages, &groups, &folder).await;
                    depot.shutdown().await;
                    print_report(out, &report)
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
                    startup::existing_database(&settings, cli.init).await?;
                    let depot = startup::build_depot(&settings).await?;
                    let report = depot.import_ars(&site, &site_root).await;
                    depot.shutdown().await;
                    print_report(out, &report?)
                }
                Command::Publish { .. }
                | Command::Completions { .. }
                | Command::Group { .. }
                | Command::User { .. }
                | Command::Membership { .. }
                | Command::PackageGroup { .. }
                | Command::Extension { .. }
                | Command::Key { .. }
                | Command::Release { .. }
                | Command::Audit { .. }
                | Command::Sales { .. }
                | Command::Webhook { .. }
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
        outln!(
            "First start: an admin API token was written to {} (readable by this user only).",
            path.display()
        );
        outln!("Keep it somewhere safe, then delete the file. To publish:");
        outln!();
        outln!(
            "    DEPOT_URL={} DEPOT_TOKEN=$(cat {}) depot publish package.zip",
            settings.public_url(),
            path.display()
        );
        outln!();
    }
    outln!(
        "depot is serving on {} (public URL {})",
        server.addr,
        settings.public_url()
    );
    stop.await;
    tracing::info!("shutting down");
    server.shutdown().await
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command and every flag says what it is for in `--help`.
    #[test]
    fn every_command_and_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && path != "depot" {
                missing.push(format!("{path}: no about"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if (id == "help" || id == "version") && !arg.is_positional() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} <{id}>: no help"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut missing = Vec::new();
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        walk(&cmd, "", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
