//! Reports: the download log and feed checks per day and Joomla version.

use axum::Json;
use axum::extract::State;
use depot_api::FeedCheckQuery;
use depot_service::{Depot, DownloadLogPage, DownloadLogQuery, FeedCheckCount};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors};

use super::{ApiActor, ApiPrincipal, ApiQuery, ApiResult, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(download_log))
        .routes(routes!(feed_checks))
}

#[utoipa::path(
    get,
    path = "/download-events",
    tag = "reports",
    summary = "The download log, newest first",
    params(DownloadLogQuery),
    responses((status = 200, body = DownloadLogPage), ReadErrors)
)]
async fn download_log(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<DownloadLogQuery>,
) -> ApiResult<Json<depot_service::DownloadLogPage>> {
    Ok(Json(depot.download_log(&actor, q).await?))
}

#[utoipa::path(
    get,
    path = "/feed-checks",
    tag = "reports",
    summary = "Feed requests per day and Joomla version",
    params(FeedCheckQuery),
    responses((status = 200, body = Items<FeedCheckCount>), ReadErrors)
)]
async fn feed_checks(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiQuery(q): ApiQuery<FeedCheckQuery>,
) -> ApiResult<Json<Items<FeedCheckCount>>> {
    Ok(items(
        depot
            .feed_check_counts(
                q.extension.as_deref(),
                q.from.as_deref(),
                q.until.as_deref(),
            )
            .await?,
    ))
}
