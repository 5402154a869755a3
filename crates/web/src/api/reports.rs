//! Reports: the download log, feed checks per day and Joomla version, keys that look shared,
//! and the statistics.

use axum::Json;
use axum::extract::State;
use depot_api::{FeedCheckQuery, Statistics, StatisticsQuery};
use depot_service::{
    Depot, DownloadLogPage, DownloadLogQuery, FeedCheckCount, SharedKey, SharedKeyQuery,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors};

use super::{ApiActor, ApiPrincipal, ApiQuery, ApiResult, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(download_log))
        .routes(routes!(feed_checks))
        .routes(routes!(shared_keys))
        .routes(routes!(statistics))
}

#[utoipa::path(
    get,
    path = "/reports/statistics",
    tag = "reports",
    summary = "Downloads, update checks, Joomla versions, active sites and refusals",
    description = "Of one extension or all, over the last `days` days (default 30), from daily \
        rollups. `active_sites_*` is an estimate: distinct anonymised addresses that checked \
        for updates.",
    params(StatisticsQuery),
    responses((status = 200, description = "The statistics", body = Statistics), ReadErrors)
)]
async fn statistics(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<StatisticsQuery>,
) -> ApiResult<Json<Statistics>> {
    let days = q.days.unwrap_or(30);
    Ok(Json(
        depot
            .statistics(&actor, q.extension.as_deref(), days)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/reports/shared-keys",
    tag = "reports",
    summary = "Keys used from more client addresses than one site would use",
    description = "Flagged, never blocked: a key that downloaded from more than `addresses` \
        distinct addresses (an IPv4 address or an IPv6 /64) in the last `hours`. The defaults \
        are the server's `[keys]` settings.",
    params(SharedKeyQuery),
    responses((status = 200, description = "The keys seen from more sites than they cover", body = Items<SharedKey>), ReadErrors)
)]
async fn shared_keys(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<SharedKeyQuery>,
) -> ApiResult<Json<Items<SharedKey>>> {
    Ok(items(depot.shared_keys(&actor, q).await?))
}

#[utoipa::path(
    get,
    path = "/download-events",
    tag = "reports",
    summary = "The download log, newest first",
    params(DownloadLogQuery),
    responses((status = 200, description = "A page of the download log, newest first", body = DownloadLogPage), ReadErrors)
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
    responses((status = 200, description = "Update checks per extension", body = Items<FeedCheckCount>), ReadErrors)
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
