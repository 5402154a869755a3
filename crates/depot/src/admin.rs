//! The admin subcommands (`group`, `user`, `membership`, `package-group`, `extension`, `key`):
//! each is one or two calls to the admin API, printed as lines or a table, or as the API's JSON
//! with `--json`.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use depot_core::ReleaseState;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a user group (Joomla's notion; the id as in jBackend's `9,12`).
    Add {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
    },
    List,
    Rename {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
    },
    /// Delete a group without memberships or package groups (others can only be renamed).
    Delete {
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; `--password-stdin` reads the password from the first line of stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        /// May sign in to the admin console at /admin (give a password too).
        #[arg(long)]
        admin: bool,
    },
    /// Grant the admin console (or withdraw it with `--revoke`).
    Admin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Stop a user's downloads and keys (memberships are kept).
    Disable {
        #[arg(long)]
        email: String,
    },
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Set a user's password from the first line of stdin.
    Password {
        #[arg(long)]
        email: String,
    },
    Show {
        #[arg(long)]
        email: String,
    },
    /// List users, optionally those whose address contains `--email`.
    List {
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MembershipCommand {
    /// Add a membership (a subscription); dates are YYYY-MM-DD or RFC 3339.
    Add {
        #[arg(long)]
        user: String,
        #[arg(long)]
        group: i64,
        /// Default: now.
        #[arg(long)]
        from: Option<String>,
        /// Default: open-ended.
        #[arg(long)]
        until: Option<String>,
    },
    /// End the user's open memberships in a group.
    End {
        #[arg(long)]
        user: String,
        #[arg(long)]
        group: i64,
        /// Default: now.
        #[arg(long)]
        at: Option<String>,
    },
    List {
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PackageGroupCommand {
    /// Create a package group: its extensions are downloadable by members of `--groups`.
    Add {
        #[arg(long)]
        id: String,
        /// Allowed user groups, e.g. 9,12.
        #[arg(long, value_delimiter = ',', required = true)]
        groups: Vec<i64>,
        /// The seed of its jBackend keys (default: random; jBackend's "hash" when moving).
        #[arg(long)]
        seed: Option<String>,
        /// The display name used in mails.
        #[arg(long)]
        name: Option<String>,
        /// active (the default) or keep-released.
        #[arg(long)]
        policy: Option<String>,
    },
    List,
    /// Change a package group's display name or policy.
    Update {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// active or keep-released.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Delete a package group no extension belongs to.
    Delete {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    List,
    /// An extension, with the manifest snippet that points it at its feed.
    Show {
        extension: String,
    },
    /// Make an extension paid (`--package-group ID`) or free (`--free`), or change what feeds
    /// show of it.
    Set {
        extension: String,
        #[arg(long, conflicts_with = "free")]
        package_group: Option<String>,
        #[arg(long)]
        free: bool,
        /// The name feeds show.
        #[arg(long)]
        title: Option<String>,
        /// The description feeds show (an empty one removes it).
        #[arg(long)]
        description: Option<String>,
        /// The extension's page, http(s) (an empty one removes it).
        #[arg(long)]
        info_url: Option<String>,
        /// Joomla targets of releases uploaded without their own, e.g. 4.4,5,6.
        #[arg(long)]
        joomla: Option<String>,
    },
    /// Delete an extension that never had a release (delete its drafts first).
    Delete {
        extension: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a download key and print it alone on stdout.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// The user's download keys, and their jBackend key in each package group.
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke the user's live download key with this label.
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
    },
    /// Relabel the user's live download key (the key itself stays).
    Label {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
        /// The new label.
        #[arg(long)]
        to: String,
    },
    /// Replace the user's jBackend key in a package group and print the new one.
    Rotate {
        #[arg(long)]
        user: String,
        #[arg(long)]
        package_group: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Every release of an extension, in any state.
    List {
        extension: String,
    },
    Show {
        extension: String,
        version: String,
    },
    /// Publish a draft, or put a yanked release back.
    Publish {
        extension: String,
        version: String,
    },
    /// Take a published release out of the feeds and downloads.
    Yank {
        extension: String,
        version: String,
    },
    /// Delete a draft (a release that was ever published is yanked instead).
    Delete {
        extension: String,
        version: String,
    },
    /// Replace a release's notes with a file's contents (`-` for stdin), or remove them.
    Notes {
        extension: String,
        version: String,
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        file: Option<std::path::PathBuf>,
        #[arg(long)]
        clear: bool,
    },
}

/// The API-side token commands (`depot token create` runs against the database instead, so
/// that the first token can be made).
#[derive(Debug, Subcommand)]
pub enum RemoteTokenCommand {
    List,
    /// Revoke a token by id; requests carrying it are refused from then on.
    Revoke {
        id: i64,
    },
}

/// Filters of `depot audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// An action (`user.create`) or a family of them (`user.`).
    #[arg(long)]
    action: Option<String>,
    /// A token's name or a console user's address.
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    subject: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    until: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

/// What every admin command takes besides its own arguments.
#[derive(Debug, Clone, Args)]
pub struct Output {
    /// Print the API's JSON answer instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on stdin (echo \"$PASSWORD\" | depot user add … --password-stdin)");
    }
    Ok(password)
}

fn text(v: &Value, field: &str) -> String {
    match &v[field] {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows under a header, columns padded to their widest cell.
fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Prints `v` as JSON, or with `human` otherwise.
fn show(out: &Output, v: &Value, human: impl FnOnce(&Value)) {
    if out.json {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        human(v);
    }
}

fn user_line(u: &Value) {
    println!(
        "user {} <{}> name: {}, {}{}{}",
        text(u, "id"),
        text(u, "email"),
        text(u, "name"),
        if u["disabled"] == true {
            "disabled"
        } else {
            "enabled"
        },
        if u["has_password"] == true {
            ", has a password"
        } else {
            ""
        },
        if u["admin"] == true {
            ", administrator"
        } else {
            ""
        }
    );
}

pub async fn group(api: &Api, out: &Output, cmd: GroupCommand) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::Add { id, name } => {
            let v = api
                .call(
                    Method::POST,
                    &["groups"],
                    Some(json!({"id": id, "name": name})),
                )
                .await?;
            show(out, &v, |g| {
                println!("group {} \"{}\" created", text(g, "id"), text(g, "name"))
            });
        }
        GroupCommand::Rename { id, name } => {
            let v = api
                .call(
                    Method::PATCH,
                    &["groups", &id.to_string()],
                    Some(json!({ "name": name })),
                )
                .await?;
            show(out, &v, |g| {
                println!("group {} is now \"{}\"", text(g, "id"), text(g, "name"))
            });
        }
        GroupCommand::Delete { id } => {
            api.call(Method::DELETE, &["groups", &id.to_string()], None)
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                println!("group {id} deleted")
            });
        }
        GroupCommand::List => {
            let v = api.call(Method::GET, &["groups"], None).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME"],
                    items(v)
                        .iter()
                        .map(|g| vec![text(g, "id"), text(g, "name")])
                        .collect(),
                )
            });
        }
    }
    Ok(())
}

pub async fn user(api: &Api, out: &Output, cmd: UserCommand) -> anyhow::Result<()> {
    let patch = |email: &str, body: Value| {
        let email = email.to_string();
        async move {
            api.call(Method::PATCH, &["users", &email], Some(body))
                .await
        }
    };
    let v = match cmd {
        UserCommand::Add {
            email,
            name,
            password_stdin,
            admin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            api.call(
                Method::POST,
                &["users"],
                Some(json!({"email": email, "name": name, "password": password, "admin": admin})),
            )
            .await?
        }
        UserCommand::Admin { email, revoke } => patch(&email, json!({"admin": !revoke})).await?,
        UserCommand::Disable { email } => patch(&email, json!({"disabled": true})).await?,
        UserCommand::Enable { email } => patch(&email, json!({"disabled": false})).await?,
        UserCommand::Password { email } => {
            patch(&email, json!({"password": read_password()?})).await?
        }
        UserCommand::Show { email } => api.call(Method::GET, &["users", &email], None).await?,
        UserCommand::List { email } => {
            let mut all = Vec::new();
            let mut after = 0;
            loop {
                let mut query = vec![("after", after.to_string()), ("limit", "1000".into())];
                if let Some(e) = &email {
                    query.push(("email", e.clone()));
                }
                let v = api
                    .call_with_query(Method::GET, &["users"], &query, None)
                    .await?;
                all.extend(items(&v));
                match v["next_after"].as_i64() {
                    Some(next) => after = next,
                    None => break,
                }
            }
            let v = json!({ "items": all });
            show(out, &v, |v| {
                table(
                    &["ID", "EMAIL", "NAME", "STATE"],
                    items(v)
                        .iter()
                        .map(|u| {
                            vec![
                                text(u, "id"),
                                text(u, "email"),
                                text(u, "name"),
                                if u["disabled"] == true {
                                    "disabled".into()
                                } else {
                                    "enabled".into()
                                },
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(());
        }
    };
    show(out, &v, user_line);
    Ok(())
}

pub async fn membership(api: &Api, out: &Output, cmd: MembershipCommand) -> anyhow::Result<()> {
    match cmd {
        MembershipCommand::Add {
            user,
            group,
            from,
            until,
        } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "memberships"],
                    Some(json!({"group": group, "from": from, "until": until})),
                )
                .await?;
            show(out, &v, |m| {
                println!(
                    "membership {} of {user} in group {}: from {} until {}",
                    text(m, "id"),
                    text(m, "group"),
                    text(m, "valid_from"),
                    m["valid_until"].as_str().unwrap_or("open-ended")
                )
            });
        }
        MembershipCommand::End { user, group, at } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "memberships", "end"],
                    Some(json!({"group": group, "at": at})),
                )
                .await?;
            show(out, &v, |v| {
                println!(
                    "ended {} membership(s) of {user} in group {group}",
                    v["ended"]
                )
            });
        }
        MembershipCommand::List { user } => {
            let v = api
                .call(Method::GET, &["users", &user, "memberships"], None)
                .await?;
            show(out, &v, |v| {
                table(
                    &["ID", "GROUP", "FROM", "UNTIL", "ACTIVE"],
                    items(v)
                        .iter()
                        .map(|m| {
                            vec![
                                text(m, "id"),
                                format!("{} {}", text(m, "group"), text(m, "group_name")),
                                text(m, "valid_from"),
                                m["valid_until"].as_str().unwrap_or("open-ended").into(),
                                if m["active"] == true { "yes" } else { "no" }.into(),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}

fn groups_text(v: &Value) -> String {
    v["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

pub async fn package_group(
    api: &Api,
    out: &Output,
    cmd: PackageGroupCommand,
) -> anyhow::Result<()> {
    match cmd {
        PackageGroupCommand::Add {
            id,
            groups,
            seed,
            name,
            policy,
        } => {
            let body =
                json!({"id": id, "groups": groups, "seed": seed, "name": name, "policy": policy});
            let v = api
                .call(Method::POST, &["package-groups"], Some(body))
                .await?;
            show(out, &v, |g| {
                println!(
                    "package group {} \"{}\" created: groups {}, policy {}",
                    text(g, "id"),
                    text(g, "name"),
                    groups_text(g),
                    text(g, "policy")
                )
            });
        }
        PackageGroupCommand::Update { id, name, policy } => {
            if name.is_none() && policy.is_none() {
                bail!("name something to change: --name or --policy");
            }
            let v = api
                .call(
                    Method::PATCH,
                    &["package-groups", &id],
                    Some(json!({ "name": name, "policy": policy })),
                )
                .await?;
            show(out, &v, |g| {
                println!(
                    "package group {} \"{}\": policy {}",
                    text(g, "id"),
                    text(g, "name"),
                    text(g, "policy")
                )
            });
        }
        PackageGroupCommand::Delete { id } => {
            api.call(Method::DELETE, &["package-groups", &id], None)
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                println!("package group {id} deleted")
            });
        }
        PackageGroupCommand::List => {
            let v = api.call(Method::GET, &["package-groups"], None).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME", "GROUPS", "POLICY"],
                    items(v)
                        .iter()
                        .map(|g| {
                            vec![
                                text(g, "id"),
                                text(g, "name"),
                                groups_text(g),
                                text(g, "policy"),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}

pub async fn extension(api: &Api, out: &Output, cmd: ExtensionCommand) -> anyhow::Result<()> {
    match cmd {
        ExtensionCommand::List => {
            let v = api.call(Method::GET, &["extensions"], None).await?;
            show(out, &v, |v| {
                table(
                    &["NAME", "TYPE", "TITLE", "PACKAGE GROUP", "FEED"],
                    items(v)
                        .iter()
                        .map(|e| {
                            vec![
                                text(e, "name"),
                                text(e, "type"),
                                text(e, "title"),
                                e["package_group"].as_str().unwrap_or("free").into(),
                                text(e, "feed_url"),
                            ]
                        })
                        .collect(),
                )
            });
            Ok(())
        }
        ExtensionCommand::Show { extension } => {
            let v = api
                .call(Method::GET, &["extensions", &extension], None)
                .await?;
            show(out, &v, |e| {
                println!(
                    "{} ({} {}), {}",
                    text(e, "name"),
                    text(e, "client"),
                    text(e, "type"),
                    text(e, "title")
                );
                println!(
                    "package group: {}",
                    e["package_group"].as_str().unwrap_or("none (free)")
                );
                println!("feed:          {}", text(e, "feed_url"));
                println!("changelog:     {}", text(e, "changelog_url"));
                println!();
                println!("Paste into the extension's manifest:");
                println!("{}", text(e, "manifest_snippet"));
            });
            Ok(())
        }
        ExtensionCommand::Delete { extension } => {
            api.call(Method::DELETE, &["extensions", &extension], None)
                .await?;
            show(out, &json!({"deleted": extension}), |_| {
                println!("{extension} deleted")
            });
            Ok(())
        }
        ExtensionCommand::Set {
            extension,
            package_group,
            free,
            title,
            description,
            info_url,
            joomla,
        } => {
            let mut body = serde_json::Map::new();
            if free {
                body.insert("package_group".into(), Value::Null);
            } else if let Some(g) = &package_group {
                body.insert("package_group".into(), json!(g));
            }
            // An empty text removes an optional field.
            let optional = |v: &str| if v.is_empty() { Value::Null } else { json!(v) };
            for (field, value) in [
                ("title", title.as_deref().map(|t| json!(t))),
                ("description", description.as_deref().map(optional)),
                ("info_url", info_url.as_deref().map(optional)),
                ("default_joomla", joomla.as_deref().map(|j| json!(j))),
            ] {
                if let Some(v) = value {
                    body.insert(field.into(), v);
                }
            }
            if body.is_empty() {
                anyhow::bail!(
                    "name something to change: --package-group ID or --free, --title, \
                     --description, --info-url, --joomla"
                );
            }
            let v = api
                .call(
                    Method::PATCH,
                    &["extensions", &extension],
                    Some(Value::Object(body)),
                )
                .await?;
            show(out, &v, |e| {
                match e["package_group"].as_str() {
                    Some(g) => println!("{extension} is paid: package group {g}"),
                    None => println!("{extension} is free"),
                }
                println!(
                    "title: {}; Joomla by default: {}",
                    text(e, "title"),
                    text(e, "default_joomla")
                );
            });
            Ok(())
        }
    }
}

/// The id of the user's live download key with this label.
async fn live_key_id(api: &Api, user: &str, label: &str) -> anyhow::Result<String> {
    let keys = api
        .call(Method::GET, &["users", user, "keys"], None)
        .await?;
    let live = items(&keys)
        .into_iter()
        .find(|k| k["label"] == label && k["revoked"] == false);
    match live {
        Some(k) => Ok(text(&k, "id")),
        None => bail!(
            "{user} has no live download key labelled {label:?} (depot key list --user {user})"
        ),
    }
}

pub async fn key(api: &Api, out: &Output, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { user, label } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "keys"],
                    Some(json!({ "label": label })),
                )
                .await?;
            // The key alone on stdout, for scripts; what it is on stderr.
            show(out, &v, |k| {
                eprintln!("download key {:?} for {user}:", text(k, "label"));
                println!("{}", text(k, "key"));
            });
        }
        KeyCommand::List { user } => {
            let keys = api
                .call(Method::GET, &["users", &user, "keys"], None)
                .await?;
            let jbackend = api
                .call(Method::GET, &["users", &user, "jbackend-keys"], None)
                .await?;
            let v = json!({"download_keys": items(&keys), "jbackend_keys": items(&jbackend)});
            show(out, &v, |v| {
                println!("Download keys (Joomla's Download Key field, dlid):");
                table(
                    &["ID", "LABEL", "STATE", "CREATED", "KEY"],
                    v["download_keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            vec![
                                text(k, "id"),
                                text(k, "label"),
                                if k["revoked"] == true {
                                    "revoked"
                                } else {
                                    "live"
                                }
                                .into(),
                                text(k, "created_at"),
                                text(k, "key"),
                            ]
                        })
                        .collect(),
                );
                println!();
                println!("jBackend keys (email + key):");
                table(
                    &["PACKAGE GROUP", "ENTITLED", "KEY"],
                    v["jbackend_keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            vec![
                                text(k, "package_group"),
                                if k["entitled"] == true { "yes" } else { "no" }.into(),
                                text(k, "key"),
                            ]
                        })
                        .collect(),
                );
            });
        }
        KeyCommand::Revoke { user, label } => {
            let id = live_key_id(api, &user, &label).await?;
            api.call(Method::DELETE, &["users", &user, "keys", &id], None)
                .await?;
            show(out, &json!({"revoked": id.parse::<i64>().ok()}), |_| {
                println!("revoked download key {label:?} of {user}")
            });
        }
        KeyCommand::Label { user, label, to } => {
            let id = live_key_id(api, &user, &label).await?;
            let v = api
                .call(
                    Method::PATCH,
                    &["users", &user, "keys", &id],
                    Some(json!({ "label": to })),
                )
                .await?;
            show(out, &v, |k| {
                println!(
                    "download key {label:?} of {user} is now {:?}",
                    text(k, "label")
                )
            });
        }
        KeyCommand::Rotate {
            user,
            package_group,
        } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "jbackend-keys", &package_group, "rotate"],
                    None,
                )
                .await?;
            show(out, &v, |k| {
                eprintln!(
                    "new jBackend key of {user} in {package_group} (the old one no longer works):"
                );
                println!("{}", text(k, "key"));
            });
        }
    }
    Ok(())
}

fn release_line(r: &Value) {
    println!(
        "{} {}: {} ({}, Joomla {}), {} bytes, sha256 {}",
        text(r, "extension"),
        text(r, "version"),
        text(r, "state"),
        text(r, "stability"),
        text(r, "joomla"),
        text(r, "size"),
        text(r, "sha256")
    );
}

pub async fn release(api: &Api, out: &Output, cmd: ReleaseCommand) -> anyhow::Result<()> {
    let patch = |extension: &str, version: &str, body: Value| {
        let (extension, version) = (extension.to_string(), version.to_string());
        async move {
            api.call(
                Method::PATCH,
                &["extensions", &extension, "releases", &version],
                Some(body),
            )
            .await
        }
    };
    let v = match cmd {
        ReleaseCommand::List { extension } => {
            let v = api
                .call(Method::GET, &["extensions", &extension, "releases"], None)
                .await?;
            show(out, &v, |v| {
                table(
                    &[
                        "VERSION",
                        "STATE",
                        "STABILITY",
                        "JOOMLA",
                        "PUBLISHED",
                        "SIZE",
                    ],
                    items(v)
                        .iter()
                        .map(|r| {
                            vec![
                                text(r, "version"),
                                text(r, "state"),
                                text(r, "stability"),
                                text(r, "joomla"),
                                text(r, "published_at"),
                                text(r, "size"),
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(());
        }
        ReleaseCommand::Show { extension, version } => {
            api.call(
                Method::GET,
                &["extensions", &extension, "releases", &version],
                None,
            )
            .await?
        }
        ReleaseCommand::Publish { extension, version } => {
            patch(
                &extension,
                &version,
                json!({"state": ReleaseState::Published}),
            )
            .await?
        }
        ReleaseCommand::Yank { extension, version } => {
            patch(&extension, &version, json!({"state": ReleaseState::Yanked})).await?
        }
        ReleaseCommand::Delete { extension, version } => {
            api.call(
                Method::DELETE,
                &["extensions", &extension, "releases", &version],
                None,
            )
            .await?;
            let done = json!({"deleted": true, "extension": extension, "version": version});
            show(out, &done, |_| {
                println!("deleted the draft {extension} {version}")
            });
            return Ok(());
        }
        ReleaseCommand::Notes {
            extension,
            version,
            file,
            clear: _,
        } => {
            let notes = match file {
                Some(path) if path.as_os_str() == "-" => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .context("reading the notes from stdin")?;
                    Some(s)
                }
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                None => None,
            };
            patch(&extension, &version, json!({ "notes": notes })).await?
        }
    };
    show(out, &v, release_line);
    Ok(())
}

pub async fn token(api: &Api, out: &Output, cmd: RemoteTokenCommand) -> anyhow::Result<()> {
    match cmd {
        RemoteTokenCommand::List => {
            let v = api.call(Method::GET, &["tokens"], None).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME", "SCOPE", "CREATED", "LAST USED", "STATE"],
                    items(v)
                        .iter()
                        .map(|t| {
                            let scope = match t["extensions"].as_array() {
                                Some(list) => format!(
                                    "{} ({})",
                                    text(t, "scope"),
                                    list.iter()
                                        .filter_map(Value::as_str)
                                        .collect::<Vec<_>>()
                                        .join(",")
                                ),
                                None => text(t, "scope"),
                            };
                            vec![
                                text(t, "id"),
                                text(t, "name"),
                                scope,
                                text(t, "created_at"),
                                text(t, "last_used_at"),
                                if t["revoked_at"].is_null() {
                                    "live"
                                } else {
                                    "revoked"
                                }
                                .into(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        RemoteTokenCommand::Revoke { id } => {
            let v = api
                .call(Method::DELETE, &["tokens", &id.to_string()], None)
                .await?;
            show(out, &v, |t| {
                println!("revoked token {} \"{}\"", text(t, "id"), text(t, "name"))
            });
        }
    }
    Ok(())
}

pub async fn audit(api: &Api, out: &Output, args: AuditArgs) -> anyhow::Result<()> {
    let mut query = vec![("limit", args.limit.to_string())];
    for (name, value) in [
        ("action", args.action),
        ("actor", args.actor),
        ("subject", args.subject),
        ("from", args.from),
        ("until", args.until),
    ] {
        if let Some(v) = value {
            query.push((name, v));
        }
    }
    let v = api
        .call_with_query(Method::GET, &["audit-log"], &query, None)
        .await?;
    show(out, &v, |v| {
        table(
            &["WHEN", "WHO", "ACTION", "SUBJECT", "DETAIL"],
            items(v)
                .iter()
                .map(|e| {
                    vec![
                        text(e, "at"),
                        format!(
                            "{} {}",
                            text(&e["actor"], "kind"),
                            text(&e["actor"], "name")
                        ),
                        text(e, "action"),
                        text(e, "subject"),
                        if e["detail"].is_null() {
                            String::new()
                        } else {
                            e["detail"].to_string()
                        },
                    ]
                })
                .collect(),
        )
    });
    Ok(())
}
