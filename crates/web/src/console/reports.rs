//! The console's download log page, filtered and paged like the API's, with the keys that look
//! shared above it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::IntoResponse;
use depot_service::{
    Depot, DownloadLogEntry, DownloadLogQuery, ServiceError, SharedKey, SharedKeyQuery,
};
use serde::Deserialize;

use crate::pages::PageResult;
use crate::pages::{Who, who};
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> axum::Router<Depot> {
    axum::Router::new().route("/downloads", axum::routing::get(downloads))
}

/// The download log's filter form, as typed: empty fields are no filter.
#[derive(Default, Deserialize)]
#[serde(default)]
struct DownloadFilter {
    extension: String,
    version: String,
    user: String,
    status: String,
    from: String,
    until: String,
    before: Option<i64>,
}

impl DownloadFilter {
    fn query(&self) -> Result<DownloadLogQuery, String> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let status = match text(&self.status) {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .map_err(|_| format!("Status {s:?} is not a number (200, 403, …)"))?,
            ),
        };
        Ok(DownloadLogQuery {
            extension: text(&self.extension),
            version: text(&self.version),
            user: text(&self.user),
            status,
            from: text(&self.from),
            until: text(&self.until),
            before: self.before,
            limit: Some(100),
            ..DownloadLogQuery::default()
        })
    }

    /// The query string of the next (older) page.
    fn older(&self, before: i64) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("extension", self.extension.as_str()),
                ("version", &self.version),
                ("user", &self.user),
                ("status", &self.status),
                ("from", &self.from),
                ("until", &self.until),
            ])
            .append_pair("before", &before.to_string())
            .finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/downloads.html")]
struct DownloadsPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    filter: DownloadFilter,
    error: Option<String>,
    entries: Vec<DownloadLogEntry>,
    older: Option<String>,
    /// Keys used from more addresses than one site would use (the server's `[keys]` rule).
    shared: Vec<SharedKey>,
}

async fn downloads(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    filter: Result<axum::extract::Query<DownloadFilter>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let filter = filter.map(|q| q.0).unwrap_or_default();
    let result = match filter.query() {
        Ok(q) => depot
            .download_log(&session.actor(), q)
            .await
            .map_err(|e| match e {
                ServiceError::Invalid { .. } | ServiceError::NotFound { .. } => Ok(e.to_string()),
                e => Err(e),
            }),
        Err(why) => Err(Ok(why)),
    };
    let (entries, older, error) = match result {
        Ok(page) => (page.items, page.next_before.map(|b| filter.older(b)), None),
        Err(Ok(why)) => (Vec::new(), None, Some(why)),
        Err(Err(e)) => return Err(e.into()),
    };
    let shared = depot
        .shared_keys(&session.actor(), SharedKeyQuery::default())
        .await?;
    Ok(DownloadsPage {
        signed_in: who(&session),
        flash: None,
        filter,
        error,
        entries,
        older,
        shared,
    }
    .into_response())
}
