//! The audit log: who changed what, when.

use axum::Json;
use axum::extract::State;
use depot_service::{AuditPage, AuditQuery, Depot};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ReadErrors;

use super::{ApiActor, ApiQuery, ApiResult};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[utoipa::path(
    get,
    path = "/audit-log",
    tag = "reports",
    summary = "The audit log, newest first (admin)",
    params(AuditQuery),
    responses((status = 200, description = "A page of the audit log, newest first", body = AuditPage), ReadErrors)
)]
async fn audit_log(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<depot_service::AuditPage>> {
    Ok(Json(depot.audit_log(&actor, q).await?))
}
