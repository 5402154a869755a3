//! The console's audit log page: who changed what and when, filtered and paged like the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::IntoResponse;
use depot_service::{AuditEntry, AuditQuery, Depot, ServiceError};
use serde::Deserialize;

use crate::pages::PageResult;
use crate::pages::{Who, who};
use crate::sessions::{Console, SignedIn};

/// Entries per page.
const PAGE: i64 = 50;

pub(super) fn routes() -> axum::Router<Depot> {
    axum::Router::new().route("/audit", axum::routing::get(audit))
}

/// The filter form, as typed: empty fields are no filter.
#[derive(Default, Deserialize)]
#[serde(default)]
struct AuditFilter {
    action: String,
    actor: String,
    subject: String,
    from: String,
    until: String,
    before: Option<i64>,
}

impl AuditFilter {
    fn query(&self) -> AuditQuery {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        AuditQuery {
            action: text(&self.action),
            actor: text(&self.actor),
            subject: text(&self.subject),
            from: text(&self.from),
            until: text(&self.until),
            before: self.before,
            limit: Some(PAGE),
        }
    }

    /// The query string of the next (older) page.
    fn older(&self, before: i64) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("action", self.action.as_str()),
                ("actor", &self.actor),
                ("subject", &self.subject),
                ("from", &self.from),
                ("until", &self.until),
            ])
            .append_pair("before", &before.to_string())
            .finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    filter: AuditFilter,
    error: Option<String>,
    entries: Vec<AuditEntry>,
    older: Option<String>,
}

async fn audit(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    filter: Result<axum::extract::Query<AuditFilter>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let filter = filter.map(|q| q.0).unwrap_or_default();
    let (entries, older, error) = match depot.audit_log(&session.actor(), filter.query()).await {
        Ok(page) => (page.items, page.next_before.map(|b| filter.older(b)), None),
        // A date that does not parse: said above an empty table.
        Err(e @ ServiceError::Invalid { .. }) => (Vec::new(), None, Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    Ok(AuditPage {
        signed_in: who(&session),
        flash: None,
        filter,
        error,
        entries,
        older,
    }
    .into_response())
}
