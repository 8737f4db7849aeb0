//! Sign-in: the login and logout pages, the session cookie (a HS256 JWT,
//! HttpOnly, SameSite=Lax, Secure behind https), bearer tokens for the API
//! (a JWT from `POST /api/v1/auth/token`, or a personal `slp_…` token),
//! CSRF tokens for forms, and sign-in through the throttle of
//! [`super::throttle`].
//!
//! Every request loads the user row again: a disabled account is out at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{get, post, web, FromRequest, HttpRequest, HttpResponse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::service::admin::{random_hex, token_hash};
use crate::service::rows::UserRow;
use crate::service::sessions;

use super::error::AppError;
use super::i18n::Lang;
use super::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "slipway_session";
/// The CSRF (double-submit) cookie.
pub const CSRF_COOKIE: &str = "slipway_csrf";
/// The language switch cookie.
pub const LANG_COOKIE: &str = "slipway_lang";

/// Signing and verifying keys.
pub struct Keys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl Keys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
        }
    }

    /// The verifying key (approval links are signed with the same secret).
    pub fn decoding(&self) -> &DecodingKey {
        &self.dec
    }
}

/// What a token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// `session` (cookie) or `api` (bearer).
    pub typ: String,
}

pub use crate::keys::signing_key;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Issues a token of type `typ` for `user_id`; returns it and its expiry.
pub fn issue(state: &AppState, user_id: i64, typ: &str) -> Result<(String, u64), AppError> {
    let now = unix_now();
    let exp = now + u64::from(state.session_hours) * 3600;
    let claims = Claims {
        sub: user_id.to_string(),
        exp,
        iat: now,
        typ: typ.to_owned(),
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &state.keys.enc)
        .map_err(|e| AppError::Internal(format!("sign token: {e}")))?;
    Ok((token, exp))
}

/// The user id in a valid token of type `typ`.
pub fn verify(state: &AppState, token: &str, typ: Option<&str>) -> Option<i64> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    let data = jsonwebtoken::decode::<Claims>(token, &state.keys.dec, &validation).ok()?;
    if typ.is_some_and(|t| t != data.claims.typ) {
        return None;
    }
    data.claims.sub.parse().ok()
}

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

/// Checks a user name and password with throttling (see [`super::throttle`]);
/// `Ok(None)` for a wrong login, an error when throttled. The attempt is
/// counted before the password is checked, atomically.
pub async fn check_login(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    username: &str,
    password: &str,
) -> Result<Option<UserRow>, AppError> {
    let addr = state.proxies.of(req);
    state
        .limiter
        .attempt(username, &addr)
        .map_err(|t| AppError::TooManyRequests(t.to_string()))?;
    if username.is_empty() || username.len() > 64 || password.is_empty() || password.len() > 1024 {
        return Ok(None);
    }
    let (u, p) = (username.to_owned(), password.to_owned());
    let user = state
        .db(move |conn| Ok(crate::service::users::authenticate(conn, &u, &p)?))
        .await?;
    match &user {
        Some(_) => state.limiter.signed_in(username, &addr),
        None => tracing::info!(username = %username.escape_debug(), client = %addr, "failed sign-in"),
    }
    Ok(user)
}

/// Registers the login and logout pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(login_page).service(login).service(logout);
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths are followed after login (see [`super::redirect`]).
fn safe_next(next: Option<&str>) -> String {
    super::redirect::safe_local_path(next)
}

#[get("/login")]
async fn login_page(ctx: PageCtx, state: web::Data<AppState>, q: web::Query<NextQuery>) -> HttpResponse {
    let mut c = tera::Context::new();
    c.insert("next", &safe_next(q.next.as_deref()));
    c.insert("username", "");
    super::pages::render(&ctx, &state, "login.html", c, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

#[post("/login")]
async fn login(ctx: PageCtx, state: web::Data<AppState>, req: HttpRequest, form: web::Form<LoginForm>) -> HttpResponse {
    if let Err(e) = ctx.check_csrf(&form.csrf) {
        return super::pages::error_page(&ctx, &state, e);
    }
    let username = form.username.trim();
    let result = check_login(&state, &req, username, &form.password).await;
    let (status, message) = match result {
        Ok(Some(user)) => {
            let token = match issue(&state, user.id, "session") {
                Ok((token, _)) => token,
                Err(e) => return super::pages::error_page(&ctx, &state, e),
            };
            let cookie = Cookie::build(SESSION_COOKIE, token)
                .path("/")
                .http_only(true)
                .secure(state.secure_cookies)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::hours(i64::from(state.session_hours)))
                .finish();
            let mut res = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, safe_next(Some(&form.next))))
                .finish();
            let _ = res.add_cookie(&cookie);
            if req.cookie(LANG_COOKIE).is_none() && user.locale != "en" {
                let _ = res.add_cookie(&lang_cookie(&state, &user.locale));
            }
            tracing::info!(user = %user.username, "signed in");
            return res;
        }
        Ok(None) => (actix_web::http::StatusCode::UNAUTHORIZED, "login_failed"),
        Err(AppError::TooManyRequests(_)) => (actix_web::http::StatusCode::TOO_MANY_REQUESTS, "login_throttled"),
        Err(e) => return super::pages::error_page(&ctx, &state, e),
    };
    let mut c = tera::Context::new();
    c.insert("next", &safe_next(Some(&form.next)));
    c.insert("username", username);
    c.insert("error_key", message);
    super::pages::render(&ctx, &state, "login.html", c, status)
}

/// The language switch cookie (a year).
pub fn lang_cookie(state: &AppState, code: &str) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, code.to_owned())
        .path("/")
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[post("/logout")]
async fn logout(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> HttpResponse {
    if let Err(e) = ctx.check_csrf(&form.csrf) {
        return super::pages::error_page(&ctx, &state, e);
    }
    let mut res = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .finish();
    let mut gone = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .finish();
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_site() {
        assert_eq!(safe_next(Some("/tickets?x=1")), "/tickets?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
