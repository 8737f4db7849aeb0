//! Sessions and tokens: the session cookie (a HS256 JWT, HttpOnly,
//! SameSite=Lax, Secure behind https), API bearer JWTs, the CSRF and
//! language cookies, and sign-in through the throttle of
//! [`super::throttle`]. The request extractors that read these are in
//! [`super::extract`]; the login and logout pages in [`super::auth`].

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::service::directory::Directory;
use crate::service::rows::UserRow;
use crate::service::users::LocalLogin;

use super::error::AppError;
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
    let local = state
        .db(move |conn| Ok(crate::service::users::authenticate(conn, &u, &p)?))
        .await?;
    let user = match local {
        LocalLogin::SignedIn(user) => Some(*user),
        LocalLogin::Refused => None,
        LocalLogin::NotLocal => match &state.directory {
            Some(directory) => directory_sign_in(state, directory, username, password).await?,
            None => None,
        },
    };
    match &user {
        Some(_) => state.limiter.signed_in(username, &addr),
        None => tracing::info!(username = %username.escape_debug(), client = %addr, "failed sign-in"),
    }
    Ok(user)
}

/// The message of a sign-in the directory could not answer (a translation key).
pub const DIRECTORY_UNAVAILABLE: &str = "login_directory_unavailable";

/// Checks a name that is no local account against the directory and
/// records the sign-in; a directory that cannot answer is a 503 (local
/// accounts never get here, so they keep signing in).
async fn directory_sign_in(
    state: &web::Data<AppState>,
    directory: &Directory,
    username: &str,
    password: &str,
) -> Result<Option<UserRow>, AppError> {
    let entry = match directory.check(username, password).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "directory sign-in unavailable");
            return Err(AppError::Unavailable(
                "sign-in through the directory is unavailable; try again later".into(),
            ));
        }
    };
    let name = username.to_owned();
    state
        .db(move |conn| Ok(crate::service::directory_users::sign_in(conn, &name, &entry)?))
        .await
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
