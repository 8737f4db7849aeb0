//! Request extractors: [`PageCtx`] (the signed-in user of a page, its
//! language and CSRF token) and [`ApiUser`] (the caller of the JSON API, by
//! bearer token or, for reads, the session cookie). Every request loads the
//! user row again: a disabled account is out at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use crate::service::admin::{random_hex, token_hash};
use crate::service::rows::UserRow;
use crate::service::sessions;

use super::error::AppError;
use super::i18n::Lang;
use super::session::{verify, CSRF_COOKIE, LANG_COOKIE, SESSION_COOKIE};
use super::AppState;

/// Where the caller's identity comes from.
enum Credential {
    Jwt(i64),
    ApiToken(String),
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

async fn load_user(state: &web::Data<AppState>, credential: Credential) -> Result<Option<UserRow>, AppError> {
    state
        .db(move |conn| {
            Ok(match credential {
                Credential::Jwt(id) => sessions::user_by_id(conn, id)?,
                Credential::ApiToken(hash) => sessions::user_by_token(conn, &hash)?,
            })
        })
        .await
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("no app state".into()))
}

/// The signed-in user of an API call: a bearer token, or the session cookie
/// for reads (writes with a cookie would need CSRF protection; the API takes
/// bearer tokens for them).
pub struct ApiUser(pub UserRow);

impl FromRequest for ApiUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let credential = if let Some(token) = bearer(&req) {
                if token.starts_with("slp_") {
                    Credential::ApiToken(token_hash(&token))
                } else {
                    Credential::Jwt(verify(&state, &token, None).ok_or(AppError::Unauthorized)?)
                }
            } else if matches!(*req.method(), Method::GET | Method::HEAD) {
                let cookie = req.cookie(SESSION_COOKIE).ok_or(AppError::Unauthorized)?;
                Credential::Jwt(verify(&state, cookie.value(), Some("session")).ok_or(AppError::Unauthorized)?)
            } else {
                return Err(AppError::Unauthorized);
            };
            load_user(&state, credential)
                .await?
                .map(ApiUser)
                .ok_or(AppError::Unauthorized)
        })
    }
}

/// What every page knows about its request: the signed-in user (if any),
/// the language, and the CSRF token for its forms.
pub struct PageCtx {
    /// The signed-in user.
    pub viewer: Option<UserRow>,
    /// The language.
    pub lang: Lang,
    /// The CSRF token forms carry.
    pub csrf: String,
    csrf_is_new: bool,
    /// Path and query of this request (where to come back after login).
    pub here: String,
}

impl PageCtx {
    /// The signed-in user, or a redirect to the login page.
    pub fn user(&self) -> Result<&UserRow, AppError> {
        self.viewer
            .as_ref()
            .ok_or_else(|| AppError::LoginRequired(self.here.clone()))
    }

    /// The signed-in admin.
    pub fn admin(&self) -> Result<&UserRow, AppError> {
        let user = self.user()?;
        if !user.is_admin {
            return Err(AppError::Forbidden("only admins may do this".into()));
        }
        Ok(user)
    }

    /// Checks a submitted form's CSRF token against the cookie.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if self.csrf_is_new || !constant_time_eq(submitted.as_bytes(), self.csrf.as_bytes()) {
            return Err(AppError::Forbidden(
                "the form's security token is missing or stale; reload the page and try again".into(),
            ));
        }
        Ok(())
    }

    /// Adds the CSRF cookie to a response when this request made a new token.
    pub fn finish(&self, state: &AppState, mut res: HttpResponse) -> HttpResponse {
        if self.csrf_is_new {
            let cookie = Cookie::build(CSRF_COOKIE, self.csrf.clone())
                .path("/")
                .http_only(true)
                .secure(state.secure_cookies)
                .same_site(SameSite::Strict)
                .finish();
            let _ = res.add_cookie(&cookie);
        }
        res
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for PageCtx {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let viewer = match req
                .cookie(SESSION_COOKIE)
                .and_then(|c| verify(&state, c.value(), Some("session")))
            {
                Some(id) => load_user(&state, Credential::Jwt(id)).await?,
                None => None,
            };
            let lang = req
                .cookie(LANG_COOKIE)
                .and_then(|c| Lang::from_code(c.value()))
                .unwrap_or_else(|| {
                    Lang::negotiate(
                        req.headers()
                            .get(header::ACCEPT_LANGUAGE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or(""),
                    )
                });
            let existing = req
                .cookie(CSRF_COOKIE)
                .map(|c| c.value().to_owned())
                .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()));
            let (csrf, csrf_is_new) = match existing {
                Some(v) => (v, false),
                None => (random_hex(16), true),
            };
            let here = match req.query_string() {
                "" => req.path().to_owned(),
                q => format!("{}?{q}", req.path()),
            };
            Ok(PageCtx {
                viewer,
                lang,
                csrf,
                csrf_is_new,
                here,
            })
        })
    }
}
