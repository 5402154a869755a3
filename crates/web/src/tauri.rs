//! `/tauri/{application}/{target}/{arch}/{current_version}`: Tauri v2's updater endpoint (what
//! a vendor puts in `plugins.updater.endpoints`, with Tauri's `{{target}}`, `{{arch}}` and
//! `{{current_version}}` placeholders). A paid application's check sends the customer's key
//! (`check({ headers: { Authorization: 'Bearer KEY' } })`, or `?dlid=` in the endpoint).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_service::{Depot, TauriCheck, TauriUpdate};

use crate::downloads::metadata_key;
use crate::error::ReleaseError;
use crate::feeds::{Audience, respond_as};

/// Whether a newer version of an application is built for the asking platform.
#[utoipa::path(
    get,
    path = "/tauri/{application}/{target}/{arch}/{current_version}",
    tag = "tauri",
    summary = "Tauri's update check",
    description = "Tauri v2's dynamic update server: `204` when there is nothing newer than \
                   `current_version` for the platform, else `{version, pub_date, url, signature, \
                   notes}`, where `signature` is the `.sig` the vendor uploaded with the build. \
                   `channel=beta` (or `rc`, `alpha`, `dev`) also offers pre-releases. A paid \
                   application answers a download key (`Authorization: Bearer`, or `dlid`) \
                   that may have a version, with that key on `url`; otherwise it is unknown.",
    params(
        ("application" = String, Path, description = "The application's name"),
        ("target" = String, Path, description = "`linux`, `windows`, `darwin`, …"),
        ("arch" = String, Path, description = "`x86_64`, `aarch64`, `i686`, `armv7`, …"),
        ("current_version" = String, Path, description = "The installed version"),
        ("dlid" = Option<String>, Query, description = "The customer's download key (paid applications)"),
        ("channel" = Option<String>, Query, description = "`stable` (default), `rc`, `beta`, `alpha` or `dev`"),
    ),
    responses(
        (status = 200, description = "A newer version", content_type = "application/json", body = String,
         headers(("ETag" = String))),
        (status = 204, description = "Nothing newer for this platform"),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 400, description = "A malformed platform, version or channel"),
        (status = 401, description = "The key is not valid"),
        (status = 404, description = "No such application, or no version of it for this caller", content_type = "text/plain", body = String),
    )
)]
pub async fn update(
    State(depot): State<Depot>,
    Path((application, target, arch, current_version)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ReleaseError> {
    let channel = depot_service::parse_channel(query.get("channel").map(String::as_str))?;
    let credentials = metadata_key(&headers, &query);
    // A staged rollout: the key when there is one, else the installation's address, decides.
    let site = peer.ip().to_string();
    let check = TauriCheck {
        application: &application,
        target: &target,
        arch: &arch,
        current_version: &current_version,
        channel,
        credentials: &credentials,
        site: &site,
    };
    Ok(match depot.tauri_update(check).await? {
        Some(TauriUpdate::Available(answer)) => respond_as(
            &answer.document,
            &headers,
            Audience::answered(answer.per_client),
        ),
        Some(TauriUpdate::UpToDate) => StatusCode::NO_CONTENT.into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "unknown application\n",
        )
            .into_response(),
    })
}
