//! Console pages for users: the list and search, a user's page, adding and changing users, and
//! password links.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use depot_service::{
    Depot, DownloadKeyView, GroupView, JbackendKeyView, MembershipView, ServiceError, UserChanges,
    UserView,
};
use serde::Deserialize;

use super::done_message;
use super::forms::refusal;
use super::forms::{ConsoleForm, answer};
use crate::pages::{CsrfOnly, Done, Who, user_error, who};
use crate::pages::{PageError, PageResult};
use crate::sessions::{Console, SignedIn, csrf_field};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/users", get(users).post(add_user))
        .route("/users/{user}", get(user_page).post(update_user))
        .route("/users/{user}/password-link", post(password_link))
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
        .list_users(
            &session.actor(),
            filter,
            search.after.unwrap_or(0),
            USERS_PER_PAGE,
        )
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

async fn add_user(form: ConsoleForm<NewUserForm>) -> PageResult {
    let f = &form.fields;
    let password = Some(f.password.as_str()).filter(|p| !p.is_empty());
    let name = Some(f.name.as_str()).filter(|n| !n.trim().is_empty());
    let added = form
        .depot
        .add_user(&form.actor(), &f.email, name, password, f.admin.is_some())
        .await;
    Ok(match added {
        Ok(user) => Redirect::to(&format!("/admin/users/{}?done=user", user.id)).into_response(),
        Err(e) => refusal("/admin/users", &user_error(e)?),
    })
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
            depot.user_view(&session.actor(), &id).await?,
            depot.memberships(&session.actor(), &id).await?,
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

pub(super) fn user_url(user: i64) -> String {
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

async fn update_user(Path(user): Path<i64>, form: ConsoleForm<UserForm>) -> Response {
    let f = &form.fields;
    let changes = UserChanges {
        name: Some(Some(f.name.clone()).filter(|n| !n.trim().is_empty())),
        disabled: Some(f.disabled.is_some()),
        password: None,
        admin: Some(f.admin.is_some()),
    };
    let outcome = if user == form.session.user_id && changes.admin == Some(false) {
        Err(ServiceError::invalid(
            "own_admin",
            "You cannot withdraw your own console access.",
        ))
    } else {
        form.depot
            .update_user(&form.actor(), &user.to_string(), changes)
            .await
            .map(|_| "user")
    };
    answer(&user_url(user), outcome)
}

async fn password_link(Path(user): Path<i64>, form: ConsoleForm<CsrfOnly>) -> Response {
    let outcome = form
        .depot
        .send_password_link(&form.actor(), &user.to_string())
        .await
        .map(|()| "link");
    answer(&user_url(user), outcome)
}

csrf_field!(UserForm, NewUserForm);
