//! `depot publish`: uploads a package through the admin API, the way a CI job would.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow};
use depot_api::{ErrorBody, PublishOutcome, PublishedBuild, PublishedRelease};
use depot_core::package::{self, PackageLimits};
use futures::StreamExt;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::exit::{self, Class};
use crate::output::{Output, show};
use tokio_util::io::ReaderStream;

/// What `depot publish` takes besides the server and token.
#[derive(Debug, Clone, clap::Args)]
pub struct PublishArgs {
    /// The package zip.
    pub zip: PathBuf,
    /// Joomla versions the release supports: majors or major.minor, e.g. 4.4,5,6.
    #[arg(long)]
    pub joomla: Option<String>,
    /// dev, alpha, beta, rc or stable (default: from the version string).
    #[arg(long)]
    pub stability: Option<String>,
    /// A file with the release notes.
    #[arg(long)]
    pub notes: Option<PathBuf>,
    /// Upload as a draft (not in feeds, not downloadable).
    #[arg(long)]
    pub draft: bool,
    /// Minimum PHP version, e.g. 8.1.
    #[arg(long)]
    pub php_minimum: Option<String>,
    /// Database minimums, e.g. mysql=8.0,mariadb=10.4,postgresql=12.
    #[arg(long)]
    pub supported_databases: Option<String>,
    /// jBackend package id (default: <extension>_<version>; a Composer package's / as --).
    #[arg(long)]
    pub package_id: Option<String>,
    /// The package group of an extension this upload creates (makes it paid from the start).
    #[arg(long)]
    pub package_group: Option<String>,
    /// Joomla's <security> level of the release: 0 (none) to 4 (critical).
    #[arg(long)]
    pub security: Option<u8>,
    /// The product's name when the zip does not say it: a Composer package's vendor/name
    /// (default: the Joomla manifest's full name, or the name in composer.json).
    #[arg(long)]
    pub name: Option<String>,
    /// The version when the zip does not say it (a Composer package's composer.json rarely
    /// does).
    #[arg(long = "version", value_name = "VERSION")]
    pub release_version: Option<String>,
    /// Uploads an application's build for one platform, as Tauri names it (linux-x86_64,
    /// windows-x86_64, darwin-aarch64); needs --name and --version.
    #[arg(long, value_name = "TARGET-ARCH")]
    pub platform: Option<String>,
    /// The build's .sig from `tauri signer sign` (default: the file's name + .sig).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
}

/// Shows the upload on a terminal as a bar with speed and time left; elsewhere (a CI log), as
/// a line per quarter.
fn spawn_progress(total: u64, sent: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .expect("a valid template"),
        );
        bar
    });
    tokio::spawn(async move {
        let mut last_quarter = 0;
        loop {
            let done = sent.load(Ordering::Relaxed).min(total);
            match &bar {
                Some(bar) => bar.set_position(done),
                None => {
                    let pct = (done * 100).checked_div(total).unwrap_or(100);
                    if pct / 25 > last_quarter {
                        last_quarter = pct / 25;
                        eprintln!("uploaded {pct}% ({done} of {total} bytes)");
                    }
                }
            }
            if done >= total {
                if let Some(bar) = &bar {
                    bar.finish();
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// The admin API of a depot server, as the CLI reaches it (`DEPOT_URL`, `DEPOT_TOKEN`).
pub struct Api {
    /// The server as the user gave it, for messages.
    pub server: String,
    base: url::Url,
    token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &str, token: &str) -> anyhow::Result<Api> {
        let mut base = url::Url::parse(server.trim()).with_context(|| {
            format!("DEPOT_URL {server:?} is not a URL (e.g. https://updates.example.com)")
        })?;
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .build()?;
        Ok(Api {
            server: server.to_string(),
            base,
            token: token.trim().to_string(),
            http,
        })
    }

    /// The URL of an API path such as `users/a@b.co/keys`; each segment is percent-encoded.
    pub fn url(&self, segments: &[&str]) -> anyhow::Result<url::Url> {
        let mut url = self.base.join("api/v1/")?;
        url.path_segments_mut()
            .map_err(|_| anyhow!("DEPOT_URL cannot be a base URL"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    pub fn request(&self, method: reqwest::Method, url: url::Url) -> reqwest::RequestBuilder {
        self.http.request(method, url).bearer_auth(&self.token)
    }

    /// `GET` an API path, the answer as `R`.
    pub async fn get<R: DeserializeOwned>(&self, segments: &[&str]) -> anyhow::Result<R> {
        self.exchange(Method::GET, self.url(segments)?, None).await
    }

    /// `GET` an API path with a query string made of `query`'s fields.
    pub async fn get_with<Q: Serialize, R: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &Q,
    ) -> anyhow::Result<R> {
        let mut url = self.url(segments)?;
        let query = serde_urlencoded::to_string(query).context("encoding the query")?;
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        self.exchange(Method::GET, url, None).await
    }

    /// Sends `body` as JSON with `method`, the answer as `R`.
    pub async fn send<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> anyhow::Result<R> {
        let body = serde_json::to_vec(body).context("encoding the request")?;
        self.exchange(method, self.url(segments)?, Some(body)).await
    }

    /// A call without a body (`DELETE`, or a `POST` that needs none), the answer as `R`
    /// (`serde::de::IgnoredAny` to ignore it).
    pub async fn act<R: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
    ) -> anyhow::Result<R> {
        self.exchange(method, self.url(segments)?, None).await
    }

    async fn exchange<R: DeserializeOwned>(
        &self,
        method: Method,
        url: url::Url,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<R> {
        let mut request = self.request(method, url.clone());
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(self.refusal(status, &text, &url));
        }
        // An empty answer (`204`) reads as `null`.
        let json = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        serde_json::from_str(json)
            .with_context(|| format!("unexpected answer from the server: {text}"))
    }

    pub fn unreachable(&self, e: reqwest::Error) -> anyhow::Error {
        exit::failure(
            Class::Unavailable,
            format!(
                "cannot reach depot at {}: {e} (check DEPOT_URL and that the server is running)",
                self.server
            ),
        )
    }

    /// A clear message for a refused request, classed for the exit code.
    pub fn refusal(
        &self,
        status: reqwest::StatusCode,
        body: &str,
        url: &url::Url,
    ) -> anyhow::Error {
        let detail = serde_json::from_str::<ErrorBody>(body)
            .ok()
            .and_then(|e| e.errors.into_iter().next())
            .map(|e| format!("{} ({})", e.detail, e.code))
            .unwrap_or_else(|| body.trim().chars().take(300).collect());
        let class = Class::of_status(status.as_u16()).unwrap_or(Class::Unavailable);
        let message = match status.as_u16() {
            401 => "the server refused the token (401): check DEPOT_TOKEN".to_string(),
            403 => format!("not allowed (403): {detail}"),
            404 if detail.is_empty() || detail.starts_with("not found") => {
                format!("no depot API at {url} (404): check DEPOT_URL")
            }
            code => format!("refused ({code}): {detail}"),
        };
        exit::failure(class, message)
    }
}

pub async fn publish(
    server: &str,
    token: &str,
    args: PublishArgs,
    out: &Output,
) -> anyhow::Result<()> {
    if args.platform.is_some() {
        return publish_build(server, token, args, out).await;
    }
    let (extension, version) = name_and_version(&args)?;
    let notes = read_notes(&args)?;
    let api = Api::new(server, token)?;
    let url = api.url(&["extensions", &extension, "releases", &version])?;
    let fields = [
        ("joomla", args.joomla.clone()),
        ("stability", args.stability.clone()),
        ("notes", notes),
        ("draft", Some(args.draft.to_string())),
        ("php_minimum", args.php_minimum.clone()),
        ("supported_databases", args.supported_databases.clone()),
        ("package_id", args.package_id.clone()),
        ("package_group", args.package_group.clone()),
        ("security", args.security.map(|s| s.to_string())),
    ];
    eprintln!("publishing {extension} {version} to {server}");
    let body = upload(&api, &url, &args.zip, "application/zip", &fields).await?;
    let p: PublishedRelease = serde_json::from_str(&body)
        .with_context(|| format!("unexpected answer from the server: {body}"))?;
    show(out, &p, |p| {
        outln!(
            "{}: {} {} [{}, {}]",
            outcome_words(p.outcome),
            p.extension,
            p.version,
            p.state,
            p.stability
        );
        if p.ecosystem == "joomla" {
            outln!("joomla:   {} ({})", p.joomla, p.joomla_source);
        }
        outln!("sha256:   {}", p.sha256);
        outln!("feed:     {}", p.feed_url);
        outln!("download: {}", p.download_url);
    });
    for warning in &p.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// `depot publish FILE --platform TARGET-ARCH`: one platform's build of an application.
async fn publish_build(
    server: &str,
    token: &str,
    args: PublishArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let platform = args.platform.clone().unwrap_or_default();
    let (Some(extension), Some(version)) = (args.name.clone(), args.release_version.clone()) else {
        return Err(exit::failure(
            Class::Usage,
            "a build needs the application's --name and the --version it belongs to",
        ));
    };
    let Some((target, arch)) = platform.split_once('-') else {
        return Err(exit::failure(
            Class::Usage,
            format!("--platform {platform:?}: write it as TARGET-ARCH, e.g. linux-x86_64"),
        ));
    };
    let signature_file = args.signature.clone().unwrap_or_else(|| {
        let mut name = args.zip.clone().into_os_string();
        name.push(".sig");
        PathBuf::from(name)
    });
    let signature = std::fs::read_to_string(&signature_file).with_context(|| {
        format!(
            "cannot read the build's signature {} (from tauri signer sign; --signature FILE)",
            signature_file.display()
        )
    })?;
    let notes = read_notes(&args)?;
    let api = Api::new(server, token)?;
    let url = api.url(&[
        "extensions",
        &extension,
        "releases",
        &version,
        "builds",
        target,
        arch,
    ])?;
    let fields = [
        ("signature", Some(signature)),
        ("stability", args.stability.clone()),
        ("notes", notes),
        ("draft", Some(args.draft.to_string())),
        ("package_id", args.package_id.clone()),
        ("package_group", args.package_group.clone()),
    ];
    eprintln!("publishing {extension} {version} for {platform} to {server}");
    let body = upload(&api, &url, &args.zip, "application/octet-stream", &fields).await?;
    let b: PublishedBuild = serde_json::from_str(&body)
        .with_context(|| format!("unexpected answer from the server: {body}"))?;
    show(out, &b, |b| {
        outln!(
            "{}: {} {} for {} [{}, {}]",
            outcome_words(b.outcome),
            b.extension,
            b.version,
            b.platform,
            b.state,
            b.stability
        );
        outln!("sha256:    {}", b.sha256);
        outln!("download:  {}", b.download_url);
        outln!("updater:   {}", b.updater_url);
        outln!("platforms: {}", b.platforms.join(", "));
    });
    Ok(())
}

fn outcome_words(outcome: PublishOutcome) -> &'static str {
    match outcome {
        PublishOutcome::Created => "published",
        PublishOutcome::Added => "added to the release",
        PublishOutcome::Replaced => "replaced draft",
        PublishOutcome::Unchanged => "already published (same bytes; nothing changed)",
    }
}

fn read_notes(args: &PublishArgs) -> anyhow::Result<Option<String>> {
    args.notes
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p).with_context(|| format!("cannot read notes {}", p.display()))
        })
        .transpose()
}

/// Streams `file` as the `file` part of a multipart `PUT` after the metadata `fields`, with
/// progress on stderr; the server's answer on success.
async fn upload(
    api: &Api,
    url: &reqwest::Url,
    file: &std::path::Path,
    mime: &str,
    fields: &[(&str, Option<String>)],
) -> anyhow::Result<String> {
    let handle = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().await?.len();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let stream = ReaderStream::with_capacity(handle, 256 * 1024).inspect(move |chunk| {
        if let Ok(c) = chunk {
            counter.fetch_add(c.len() as u64, Ordering::Relaxed);
        }
    });
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package.zip".into());
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), size)
            .file_name(file_name)
            .mime_str(mime)?;
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        if let Some(v) = value {
            form = form.text(name.to_string(), v.clone());
        }
    }
    // Metadata first, so the server knows it before the file streams in.
    let form = form.part("file", part);

    let progress = spawn_progress(size, sent.clone());
    let response = api
        .request(Method::PUT, url.clone())
        .multipart(form)
        .send()
        .await;
    if response.is_ok() {
        // The body is gone in full: let the reporter print its last line.
        sent.store(size, Ordering::Relaxed);
        let _ = progress.await;
    } else {
        progress.abort();
    }
    let response = response.map_err(|e| api.unreachable(e))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(api.refusal(status, &body, url));
    }
    Ok(body)
}

/// The product and version an upload is for: `--name` and `--version` where given, else what
/// the zip's Joomla manifest says, else its WordPress plugin's or theme's header (the slug is
/// its folder), else its `composer.json` (the server checks them against the zip again).
fn name_and_version(args: &PublishArgs) -> anyhow::Result<(String, String)> {
    let zip = &args.zip;
    let unpublishable = |e: &dyn std::fmt::Display| {
        exit::failure(
            Class::Usage,
            format!("{} is not a publishable package: {e}", zip.display()),
        )
    };
    let file =
        std::fs::File::open(zip).with_context(|| format!("cannot open {}", zip.display()))?;
    let contents =
        package::inspect_contents(std::io::BufReader::new(file), &PackageLimits::default())
            .map_err(|e| unpublishable(&e))?;
    let (name, version) = match (&contents.joomla, &contents.wordpress, &contents.composer) {
        (Ok(m), _, _) => (
            Some(m.identity.full_name.clone()),
            Some(m.version.to_string()),
        ),
        (Err(_), Some(w), _) => (Some(w.folder.clone()), w.version.clone()),
        (Err(_), None, Some(Ok(c))) => (
            c.name.as_ref().map(|n| n.to_string()),
            c.version
                .as_deref()
                .map(|v| v.trim_start_matches(['v', 'V']).to_string()),
        ),
        (Err(_), None, Some(Err(e))) => return Err(unpublishable(e)),
        (Err(e), None, None) if args.name.is_none() => {
            return Err(unpublishable(&format!(
                "{e}; nor a composer.json (a Composer package without one: give --name \
                 vendor/package and --version)"
            )));
        }
        (Err(_), None, None) => (None, None),
    };
    let name = args.name.clone().or(name).ok_or_else(|| {
        unpublishable(&"composer.json has no name: give it with --name vendor/package")
    })?;
    let version = args.release_version.clone().or(version).ok_or_else(|| {
        unpublishable(&"the zip does not say its version: give it with --version")
    })?;
    Ok((name, version))
}
