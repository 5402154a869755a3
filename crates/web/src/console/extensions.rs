//! Console pages for extensions: the list with each one's releases, and its settings (title,
//! description, page, package group, default Joomla targets).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use depot_service::{Depot, ExtensionChanges, ExtensionView, ReleaseView};
use serde::Deserialize;

use super::done_message;
use super::forms::refusal;
use super::forms::{ConsoleForm, Outcome};
use crate::pages::PageResult;
use crate::pages::{Who, who};
use crate::sessions::{Console, SignedIn, csrf_field};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/extensions", get(extensions))
        .route("/extensions/{extension}", post(edit_extension))
}

struct ExtensionRow {
    view: ExtensionView,
    releases: Vec<ReleaseView>,
}

impl ExtensionRow {
    /// The name as one path segment of the console's forms (a Composer package's `/` as `%2F`).
    fn segment(&self) -> String {
        self.view.name.replace('/', "%2F")
    }

    fn is_joomla(&self) -> bool {
        self.view.ecosystem == "joomla"
    }

    /// When the newest stable release raises a minimum (PHP, a database) over the one before:
    /// what that does to sites that find the extension through `collection.xml`, which does
    /// not check minimums.
    fn collection_note(&self) -> Option<String> {
        use depot_core::feed::{Minimums, SupportedDatabases, raised_minimums};
        if !self.is_joomla() {
            return None;
        }
        let mut stable: Vec<(depot_core::Version, &ReleaseView)> = self
            .releases
            .iter()
            .filter(|r| r.state == "published" && r.stability == "stable")
            .filter_map(|r| depot_core::Version::parse(&r.version).ok().map(|v| (v, r)))
            .collect();
        stable.sort_by(|(a, _), (b, _)| b.cmp(a));
        let [(_, newest), (_, previous), ..] = stable.as_slice() else {
            return None;
        };
        let databases = |r: &ReleaseView| {
            r.supported_databases
                .as_deref()
                .and_then(|d| d.parse::<SupportedDatabases>().ok())
        };
        let (old_dbs, new_dbs) = (databases(previous), databases(newest));
        let raised = raised_minimums(
            Minimums {
                php: previous.php_minimum.as_deref(),
                databases: old_dbs.as_ref(),
            },
            Minimums {
                php: newest.php_minimum.as_deref(),
                databases: new_dbs.as_ref(),
            },
        );
        (!raised.is_empty()).then(|| {
            format!(
                "{} raises {} over {}. Sites that find this extension through collection.xml \
                 on an older setup are offered {} and reinstall {} at every update (Joomla's \
                 collection reader does not check minimums): use the extension-type snippet \
                 below in the extension's manifest, whose feed Joomla checks.",
                newest.version,
                raised.join(", "),
                previous.version,
                newest.version,
                previous.version
            )
        })
    }
}

/// Extensions per page: each card carries its releases.
const PER_PAGE: usize = 20;

/// The search box and the page, as typed.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ExtensionSearch {
    /// Part of the name or the title, any case.
    q: String,
    /// 1-based.
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/extensions.html")]
struct ExtensionsPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    q: String,
    /// Matching extensions in all, and the page shown.
    matching: usize,
    page: usize,
    pages: usize,
    extensions: Vec<ExtensionRow>,
    package_groups: Vec<String>,
    /// The key packages are signed with: its id and its one-line public key.
    signing_key_id: &'a str,
    signing_key: &'a str,
}

impl ExtensionsPage<'_> {
    /// The query string of another page of the same search.
    fn page_query(&self, page: usize) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.q)
            .append_pair("page", &page.to_string())
            .finish()
    }
}

async fn extensions(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(search): Query<ExtensionSearch>,
) -> PageResult {
    let needle = search.q.trim().to_lowercase();
    let matching: Vec<ExtensionView> = depot
        .list_extensions(&session.actor())
        .await?
        .into_iter()
        .filter(|e| {
            needle.is_empty()
                || e.name.to_lowercase().contains(&needle)
                || e.title.to_lowercase().contains(&needle)
        })
        .collect();
    let pages = matching.len().div_ceil(PER_PAGE).max(1);
    let page = search.page.unwrap_or(1).clamp(1, pages);
    let count = matching.len();
    let mut extensions = Vec::new();
    for view in matching
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
    {
        let releases = depot.list_releases(&session.actor(), &view.name).await?;
        extensions.push(ExtensionRow { view, releases });
    }
    let package_groups: Vec<String> = depot
        .list_package_groups()
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    Ok(ExtensionsPage {
        signed_in: who(&session),
        flash: done_message(search.done.as_deref()),
        csrf: &session.csrf,
        q: search.q.trim().to_string(),
        matching: count,
        page,
        pages,
        extensions,
        package_groups,
        signing_key_id: depot.signing_key().key_id(),
        signing_key: depot.signing_key().public_key_line(),
    }
    .into_response())
}

/// The answer to an extension form: back to its card with the message, or the refusal.
pub(super) fn extension_answer(extension: &str, outcome: Outcome) -> Response {
    let back = format!("/admin/extensions#{extension}");
    let refuse = |why: &str| refusal(&back, why);
    // `answer` appends `?done=…` to the path; the card's anchor goes after it.
    // Searched for by name, so that the card is on the page however many extensions there are.
    with_anchor(
        crate::pages::answer(&format!("/admin/extensions?q={extension}"), outcome, refuse),
        extension,
    )
}

/// Adds `#anchor` to a redirect's location.
pub(super) fn with_anchor(mut response: Response, anchor: &str) -> Response {
    let location = response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(|l| format!("{l}#{anchor}"));
    if let Some(l) = location.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, l);
    }
    response
}

#[derive(Deserialize)]
struct ExtensionForm {
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    info_url: String,
    /// Absent for a product that is not a Joomla extension.
    #[serde(default)]
    default_joomla: Option<String>,
    /// Empty: free.
    #[serde(default)]
    package_group: String,
}

async fn edit_extension(
    Path(extension): Path<String>,
    form: ConsoleForm<ExtensionForm>,
) -> Response {
    let f = &form.fields;
    let optional = |s: &String| Some(s.clone()).filter(|s| !s.trim().is_empty());
    let changes = ExtensionChanges {
        package_group: Some(optional(&f.package_group)),
        title: Some(f.title.clone()),
        description: Some(optional(&f.description)),
        info_url: Some(optional(&f.info_url)),
        default_joomla: f.default_joomla.clone(),
    };
    let outcome = form
        .depot
        .update_extension(&form.actor(), &extension, changes)
        .await
        .map(|_| "extension");
    extension_answer(&extension, outcome)
}

csrf_field!(ExtensionForm);
