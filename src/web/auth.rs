//! Sign-in pages: `GET/POST /login` and `POST /logout`. Tokens, cookies and
//! the throttled password check are in [`super::session`].

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::AppError;
use super::extract::PageCtx;
use super::render::{error_page, render};
use super::session::{check_login, issue, lang_cookie, LANG_COOKIE, SESSION_COOKIE};
use super::AppState;

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
    render(&ctx, &state, "login.html", c, actix_web::http::StatusCode::OK)
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
        return error_page(&ctx, &state, e);
    }
    let username = form.username.trim();
    let result = check_login(&state, &req, username, &form.password).await;
    let (status, message) = match result {
        Ok(Some(user)) => {
            let token = match issue(&state, user.id, "session") {
                Ok((token, _)) => token,
                Err(e) => return error_page(&ctx, &state, e),
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
        Err(AppError::Unavailable(_)) => (
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            super::session::DIRECTORY_UNAVAILABLE,
        ),
        Err(e) => return error_page(&ctx, &state, e),
    };
    let mut c = tera::Context::new();
    c.insert("next", &safe_next(Some(&form.next)));
    c.insert("username", username);
    c.insert("error_key", message);
    render(&ctx, &state, "login.html", c, status)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[post("/logout")]
async fn logout(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<CsrfForm>) -> HttpResponse {
    if let Err(e) = ctx.check_csrf(&form.csrf) {
        return error_page(&ctx, &state, e);
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
