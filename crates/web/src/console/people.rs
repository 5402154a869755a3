//! Console pages for who may download: users (with their memberships and keys), groups and
//! package groups.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use depot_service::{
    Depot, DownloadKeyView, GroupView, JbackendKeyView, MembershipView, NewPackageGroup,
    PackageGroupView, ServiceError, Session, UserChanges, UserView,
};
use serde::Deserialize;

use super::done_message;
use crate::pages::{CsrfOnly, Done, Who, check_form, user_error, who};
use crate::pages::{PageError, PageResult};
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/users", get(users).post(add_user))
        .route("/users/{user}", get(user_page).post(update_user))
        .route("/users/{user}/memberships", post(add_membership))
        .route("/users/{user}/memberships/end", post(end_membership))
        .route("/users/{user}/keys", post(create_key))
        .route("/users/{user}/keys/{key}/revoke", post(revoke_key))
        .route("/users/{user}/jbackend/{group}/rotate", post(rotate_key))
        .route("/users/{user}/jbackend/{group}/resend", post(resend_keys))
        .route("/users/{user}/password-link", post(password_link))
        .route("/groups", get(groups).post(add_group))
        .route("/package-groups", post(add_package_group))
}

/// What a console form does after its checks: `Ok` with the `done` code of the message to
/// show, or the service's refusal.
type Outcome = Result<&'static str, ServiceError>;

/// `pages::submit` with the console's refusal page, which links back to `back`.
async fn submit(
    depot: &Depot,
    session: &Session,
    headers: &HeaderMap,
    csrf: &str,
    back: &str,
    change: impl Future<Output = Outcome>,
) -> Response {
    let refuse = |why: &str| refusal(back, why);
    crate::pages::submit(depot, session, headers, csrf, back, change, refuse).await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/refused.html")]
struct RefusedPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    why: &'a str,
    back: &'a str,
}

pub(super) fn refusal(back: &str, why: &str) -> Response {
    let page = RefusedPage {
        signed_in: None,
        flash: None,
        why,
        back,
    };
    (StatusCode::BAD_REQUEST, page).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct UserSearch {
    email: String,
    after: Option<i64>,
}

const USERS_PER_PAGE: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    email: String,
    users: Vec<UserView>,
    next: Option<String>,
}

async fn users(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    search: Result<Query<UserSearch>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let search = search.map(|q| q.0).unwrap_or_default();
    let filter = Some(search.email.trim()).filter(|e| !e.is_empty());
    let users = depot
        .list_users(filter, search.after.unwrap_or(0), USERS_PER_PAGE)
        .await?;
    let next = (users.len() as i64 == USERS_PER_PAGE)
        .then(|| users.last().map(|u| u.id))
        .flatten()
        .map(|after| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("email", &search.email)
                .append_pair("after", &after.to_string())
                .finish()
        });
    Ok(UsersPage {
        signed_in: who(&session),
        flash: None,
        csrf: &session.csrf,
        email: search.email,
        users,
        next,
    }
    .into_response())
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: String,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    admin: Option<String>,
}

async fn add_user(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> PageResult {
    check_form(&depot, &headers, &session, &form.csrf)?;
    let password = Some(form.password.as_str()).filter(|p| !p.is_empty());
    let name = Some(form.name.as_str()).filter(|n| !n.trim().is_empty());
    match depot
        .add_user(
            &session.actor(),
            &form.email,
            name,
            password,
            form.admin.is_some(),
        )
        .await
    {
        Ok(user) => {
            Ok(Redirect::to(&format!("/admin/users/{}?done=user", user.id)).into_response())
        }
        Err(e) => Ok(refusal("/admin/users", &user_error(e)?)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user.html")]
struct UserPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    user: UserView,
    memberships: Vec<MembershipView>,
    groups: Vec<GroupView>,
    keys: Vec<DownloadKeyView>,
    jbackend_keys: Vec<JbackendKeyView>,
}

async fn user_page(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    let id = user.to_string();
    let result = async {
        Ok::<_, ServiceError>((
            depot.user_view(&id).await?,
            depot.memberships(&id).await?,
            depot.list_groups().await?,
            depot.download_keys(&session.actor(), &id).await?,
            depot.jbackend_keys(&session.actor(), &id).await?,
        ))
    }
    .await;
    match result {
        Ok((user, memberships, groups, keys, jbackend_keys)) => UserPage {
            signed_in: who(&session),
            flash: done_message(done.done.as_deref()),
            csrf: &session.csrf,
            user,
            memberships,
            groups,
            keys,
            jbackend_keys,
        }
        .into_response(),
        Err(ServiceError::NotFound { .. }) => {
            (StatusCode::NOT_FOUND, "No such user.").into_response()
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

fn user_url(user: i64) -> String {
    format!("/admin/users/{user}")
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    #[serde(default)]
    name: String,
    disabled: Option<String>,
    admin: Option<String>,
}

async fn update_user(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    let changes = UserChanges {
        name: Some(Some(form.name).filter(|n| !n.trim().is_empty())),
        disabled: Some(form.disabled.is_some()),
        password: None,
        admin: Some(form.admin.is_some()),
    };
    let change = async {
        if user == session.user_id && changes.admin == Some(false) {
            return Err(ServiceError::invalid(
                "own_admin",
                "You cannot withdraw your own console access.",
            ));
        }
        depot
            .update_user(&session.actor(), &user.to_string(), changes)
            .await
            .map(|_| "user")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

#[derive(Deserialize)]
struct MembershipForm {
    csrf: String,
    group: i64,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

fn typed(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

async fn add_membership(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<MembershipForm>,
) -> Response {
    let change = async {
        depot
            .add_membership(
                &session.actor(),
                &user.to_string(),
                form.group,
                typed(&form.from),
                typed(&form.until),
            )
            .await
            .map(|_| "membership")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    group: i64,
}

async fn end_membership(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<EndForm>,
) -> Response {
    let change = async {
        depot
            .end_membership(&session.actor(), &user.to_string(), form.group, None)
            .await
            .map(|_| "ended")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

#[derive(Deserialize)]
struct KeyForm {
    csrf: String,
    #[serde(default)]
    label: String,
}

async fn create_key(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let change = async {
        depot
            .create_download_key(&session.actor(), &user.to_string(), typed(&form.label))
            .await
            .map(|_| "key")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn revoke_key(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((user, key)): Path<(i64, i64)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .revoke_download_key(&session.actor(), &user.to_string(), key)
            .await
            .map(|()| "revoked")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn rotate_key(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((user, group)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .rotate_jbackend_key(&session.actor(), &user.to_string(), &group)
            .await
            .map(|_| "rotated")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn resend_keys(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((user, group)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .resend_keys(&session.actor(), &user.to_string(), &group)
            .await
            .map(|()| "resent")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn password_link(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .send_password_link(&session.actor(), &user.to_string())
            .await
            .map(|()| "link")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    groups: Vec<GroupView>,
    package_groups: Vec<PackageGroupView>,
}

async fn groups(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(done): Query<Done>,
) -> PageResult {
    let groups = depot.list_groups().await?;
    let package_groups = depot.list_package_groups().await?;
    Ok(GroupsPage {
        signed_in: who(&session),
        flash: done_message(done.done.as_deref()),
        csrf: &session.csrf,
        groups,
        package_groups,
    }
    .into_response())
}

#[derive(Deserialize)]
struct GroupForm {
    csrf: String,
    id: i64,
    name: String,
}

async fn add_group(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Response {
    let change = async {
        depot
            .add_group(&session.actor(), form.id, &form.name)
            .await
            .map(|_| "group")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        "/admin/groups",
        change,
    )
    .await
}

#[derive(Deserialize)]
struct PackageGroupForm {
    csrf: String,
    id: String,
    #[serde(default)]
    name: String,
    /// Allowed user groups, comma-separated ids.
    groups: String,
    #[serde(default)]
    policy: String,
}

async fn add_package_group(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    headers: HeaderMap,
    Form(form): Form<PackageGroupForm>,
) -> Response {
    let change = async {
        let groups = form
            .groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(|g| {
                g.parse::<i64>().map_err(|_| {
                    ServiceError::invalid("bad_group", format!("{g:?} is not a group id"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let new = NewPackageGroup {
            id: form.id,
            groups,
            seed: None,
            name: typed(&form.name).map(String::from),
            policy: typed(&form.policy).map(String::from),
        };
        depot
            .add_package_group(&session.actor(), new)
            .await
            .map(|_| "package_group")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        "/admin/groups",
        change,
    )
    .await
}
