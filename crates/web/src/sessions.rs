//! The two signed-in areas, the console (`/admin`, administrators) and the account pages
//! (`/account`, customers), share one way in and out: the [`SignedIn`] extractor, [`sign_in`]
//! and [`sign_out`]. Only what an [`Area`] names differs between them.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use depot_service::{
    Actor, Depot, NewSession, SESSION_LIFETIME, ServiceError, Session, SessionKind,
};
use serde::de::DeserializeOwned;

use crate::pages::{
    CsrfOnly, LoginForm, PageError, check_form, cookie_value, same_origin, session_cookie,
};

/// One of the signed-in areas.
pub(crate) trait Area: Send + Sync + 'static {
    const KIND: SessionKind;
    /// The session cookie's name.
    const COOKIE: &'static str;
    /// Where the area lives (the cookie's path), and where signing in lands.
    const HOME: &'static str;
    /// Where anyone not signed in is sent.
    const LOGIN: &'static str;
}

/// The admin console.
pub(crate) struct Console;

impl Area for Console {
    const KIND: SessionKind = SessionKind::Admin;
    const COOKIE: &'static str = "depot_admin";
    const HOME: &'static str = "/admin";
    const LOGIN: &'static str = "/admin/login";
}

/// The customers' account pages.
pub(crate) struct Account;

impl Area for Account {
    const KIND: SessionKind = SessionKind::Account;
    const COOKIE: &'static str = "depot_account";
    const HOME: &'static str = "/account";
    const LOGIN: &'static str = "/account/login";
}

/// A signed-in user of area `A`; anyone else is sent to its sign-in page.
pub(crate) struct SignedIn<A>(pub Session, pub PhantomData<A>);

impl<A: Area> FromRequestParts<Depot> for SignedIn<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, depot: &Depot) -> Result<Self, Response> {
        let token = cookie_value(&parts.headers, A::COOKIE).unwrap_or_default();
        match depot.session(A::KIND, token).await {
            Ok(Some(session)) => Ok(SignedIn(session, PhantomData)),
            Ok(None) => Err(Redirect::to(A::LOGIN).into_response()),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// Why a sign-in form did not sign in, for the area's login page to say.
pub(crate) enum SignInRefused {
    /// Posted from another site.
    Foreign,
    /// Too many failures: try again after this many seconds.
    Locked {
        retry_after_secs: u64,
    },
    /// A wrong address or password, in words.
    Wrong(String),
    Failed(ServiceError),
}

/// Home, with the new session's cookie.
pub(crate) fn signed_in<A: Area>(depot: &Depot, new: &NewSession) -> Response {
    let cookie = session_cookie(depot, A::COOKIE, A::HOME, &new.token, SESSION_LIFETIME);
    ([(header::SET_COOKIE, cookie)], Redirect::to(A::HOME)).into_response()
}

/// Signs in with the form's address and password: home with the session cookie, or why not.
pub(crate) async fn sign_in<A: Area>(
    depot: &Depot,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: &LoginForm,
) -> Result<Response, SignInRefused> {
    if !same_origin(depot, headers) {
        return Err(SignInRefused::Foreign);
    }
    let ip = peer.ip().to_string();
    match depot
        .sign_in(A::KIND, &form.email, &form.password, &ip)
        .await
    {
        Ok(new) => Ok(signed_in::<A>(depot, &new)),
        Err(ServiceError::RateLimited { retry_after_secs }) => {
            Err(SignInRefused::Locked { retry_after_secs })
        }
        Err(ServiceError::Forbidden(why)) => Err(SignInRefused::Wrong(why)),
        Err(e) => Err(SignInRefused::Failed(e)),
    }
}

/// `POST …/logout` of area `A`: ends the session and clears its cookie.
pub(crate) async fn sign_out<A: Area>(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<A>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    check_form(&depot, &headers, &session, &form.csrf)?;
    let token = cookie_value(&headers, A::COOKIE).unwrap_or_default();
    depot.sign_out(A::KIND, token).await?;
    let cookie = session_cookie(&depot, A::COOKIE, A::HOME, "", std::time::Duration::ZERO);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(A::LOGIN)).into_response())
}

/// A form's fields that carry the session's CSRF token.
pub(crate) trait CsrfField {
    fn csrf(&self) -> &str;
}

/// Implements [`CsrfField`] for form structs with a `csrf: String` field.
macro_rules! csrf_field {
    ($($form:ty),+ $(,)?) => {
        $(impl crate::sessions::CsrfField for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use csrf_field;

/// A form posted by a signed-in user of area `A`, already checked: it comes from one of depot's
/// own pages and carries the session's CSRF token (otherwise `403`, and nothing changes). Its
/// handler only says what the form changes.
pub(crate) struct SessionForm<A, T> {
    pub depot: Depot,
    pub session: Session,
    pub fields: T,
    area: PhantomData<A>,
}

impl<A, T> SessionForm<A, T> {
    /// Who is acting, for the use cases.
    pub(crate) fn actor(&self) -> Actor {
        self.session.actor()
    }
}

impl<A: Area, T: DeserializeOwned + CsrfField + Send> FromRequest<Depot> for SessionForm<A, T> {
    type Rejection = Response;

    async fn from_request(request: Request, depot: &Depot) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let SignedIn(session, _) = SignedIn::<A>::from_request_parts(&mut parts, depot).await?;
        let headers = parts.headers.clone();
        let Form(fields) = Form::<T>::from_request(Request::from_parts(parts, body), depot)
            .await
            .map_err(IntoResponse::into_response)?;
        check_form(depot, &headers, &session, fields.csrf())
            .map_err(IntoResponse::into_response)?;
        Ok(SessionForm {
            depot: depot.clone(),
            session,
            fields,
            area: PhantomData,
        })
    }
}
