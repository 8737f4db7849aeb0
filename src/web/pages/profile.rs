//! The profile page (API tokens, chat identity) and the language switch.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::admin as admin_service;
use crate::service::chat_identity;
use crate::service::lookups;

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::i18n::Lang;
use crate::web::render::{page, redirect, render};
use crate::web::session::lang_cookie;
use crate::web::view::ts;
use crate::web::AppState;

/// Registers these pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(profile)
        .service(create_token)
        .service(delete_token)
        .service(save_chat)
        .service(switch_language);
}

#[derive(Serialize)]
struct TokenOut {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

async fn show_profile(
    ctx: &PageCtx,
    state: &AppState,
    new_token: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    show_profile_with(ctx, state, new_token, error, false, status).await
}

async fn show_profile_with(
    ctx: &PageCtx,
    state: &AppState,
    new_token: Option<String>,
    error: Option<String>,
    saved: bool,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let uid = user.id;
    let (toks, roles, chat) = state
        .db(move |conn| {
            Ok((
                lookups::tokens_of(conn, uid)?,
                lookups::memberships(conn, uid)?,
                chat_identity::get(conn, uid)?,
            ))
        })
        .await?;
    let toks: Vec<TokenOut> = toks
        .into_iter()
        .map(|t| TokenOut {
            id: t.id,
            name: t.name,
            created_at: ts(t.created_at),
            last_used_at: t.last_used_at.map(ts),
        })
        .collect();
    let mut c = Context::new();
    c.insert("tokens", &toks);
    c.insert("roles", &roles.into_iter().map(|(_, p, r)| (p, r)).collect::<Vec<_>>());
    c.insert("new_token", &new_token);
    c.insert("error", &error);
    c.insert("email", &user.email);
    c.insert("chat", &chat);
    c.insert("chat_saved", &saved);
    Ok(render(ctx, state, "profile.html", c, status))
}

#[get("/profile")]
async fn profile(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = show_profile(&ctx, &state, None, None, StatusCode::OK).await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

#[post("/profile/tokens")]
async fn create_token(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<TokenForm>) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let name = form.name.clone();
        match state
            .db(move |conn| Ok(admin_service::create_token(conn, user.id, &name)?))
            .await
        {
            Ok((_, token)) => show_profile(&ctx, &state, Some(token), None, StatusCode::OK).await,
            Err(e) if e.code().1 == StatusCode::BAD_REQUEST => {
                let message = crate::web::error_text::page_text(&state.i18n, ctx.lang, &e);
                show_profile(&ctx, &state, None, Some(message), StatusCode::BAD_REQUEST).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/profile/tokens/{id}/delete")]
async fn delete_token(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let id = id.into_inner();
        state
            .db(move |conn| Ok(admin_service::revoke_token(conn, user.id, id)?))
            .await?;
        Ok(redirect("/profile"))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct ChatForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    chat_mobile: String,
    #[serde(default)]
    chat_user_id: String,
}

#[post("/profile/chat")]
async fn save_chat(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<ChatForm>) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let (mobile, id) = (form.chat_mobile.clone(), form.chat_user_id.clone());
        match state
            .db(move |conn| Ok(chat_identity::set(conn, user.id, &mobile, &id)?))
            .await
        {
            Ok(_) => show_profile_with(&ctx, &state, None, None, true, StatusCode::OK).await,
            Err(e) if e.code().1 == StatusCode::BAD_REQUEST => {
                let message = crate::web::error_text::page_text(&state.i18n, ctx.lang, &e);
                show_profile(&ctx, &state, None, Some(message), StatusCode::BAD_REQUEST).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct LangForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

#[post("/language")]
async fn switch_language(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<LangForm>) -> HttpResponse {
    let r = async {
        ctx.check_csrf(&form.csrf)?;
        let lang = Lang::from_code(&form.lang).ok_or_else(|| AppError::bad("lang", "must be en or zh-CN"))?;
        if let Some(user) = ctx.viewer.clone() {
            state
                .db(move |conn| Ok(admin_service::set_locale(conn, user.id, lang.code())?))
                .await?;
        }
        let mut res = redirect(&crate::web::redirect::safe_local_path(Some(&form.back)));
        let _ = res.add_cookie(&lang_cookie(&state, lang.code()));
        Ok(res)
    }
    .await;
    page(&ctx, &state, r)
}
