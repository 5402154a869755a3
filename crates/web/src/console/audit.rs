//! The console's audit log page: the latest changes, who made them and when.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::IntoResponse;
use depot_service::{AuditEntry, AuditQuery, Depot};

use crate::pages::PageResult;
use crate::pages::{Who, who};
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> axum::Router<Depot> {
    axum::Router::new().route("/audit", axum::routing::get(audit))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    entries: Vec<AuditEntry>,
}

async fn audit(State(depot): State<Depot>, SignedIn(session, _): SignedIn<Console>) -> PageResult {
    let query = AuditQuery {
        limit: Some(200),
        ..AuditQuery::default()
    };
    let page = depot.audit_log(&session.actor(), query).await?;
    Ok(AuditPage {
        signed_in: who(&session),
        flash: None,
        entries: page.items,
    }
    .into_response())
}
