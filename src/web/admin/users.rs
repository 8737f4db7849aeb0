//! Admin: users (add, disable/enable, reset password, admin flag).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::admin as admin_service;
use crate::service::lookups;
use crate::service::users::{self as user_service, NewAccount};
use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
use crate::web::AppState;

/// Registers the user pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(users_page).service(add_user).service(change_user);
}

#[derive(Serialize)]
struct UserOut {
    username: String,
    display_name: String,
    email: String,
    is_admin: bool,
    disabled: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    is_admin: Option<String>,
    #[serde(default)]
    op: String,
}

async fn show_users(
    ctx: &PageCtx,
    state: &AppState,
    form: &UserForm,
    error: Option<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let users: Vec<UserOut> = state
        .db(|conn| {
            Ok(lookups::users(conn)?
                .into_iter()
                .map(|u| UserOut {
                    username: u.username,
                    display_name: u.display_name,
                    email: u.email,
                    is_admin: u.is_admin,
                    disabled: u.disabled,
                })
                .collect())
        })
        .await?;
    let mut c = Context::new();
    c.insert("users", &users);
    c.insert(
        "form",
        &UserForm {
            password: String::new(),
            csrf: String::new(),
            ..clone_form(form)
        },
    );
    let errors: BTreeMap<String, String> = error.into_iter().collect();
    c.insert("errors", &errors);
    Ok(render(ctx, state, "admin_users.html", c, status))
}

fn clone_form(f: &UserForm) -> UserForm {
    UserForm {
        csrf: String::new(),
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        email: f.email.clone(),
        password: String::new(),
        is_admin: f.is_admin.clone(),
        op: String::new(),
    }
}

#[get("/admin/users")]
async fn users_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = show_users(&ctx, &state, &UserForm::default(), None, StatusCode::OK).await;
    page(&ctx, &state, r)
}

fn check_password(p: &str) -> Result<(), AppError> {
    Ok(crate::service::password::check(p).map_err(crate::service::ServiceError::from)?)
}

#[post("/admin/users")]
async fn add_user(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<UserForm>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        ctx.check_csrf(&form.csrf)?;
        let f = clone_form(&form);
        let password = form.password.clone();
        let result = async {
            check_password(&password)?;
            state
                .db(move |conn| {
                    Ok(user_service::add(
                        conn,
                        &NewAccount {
                            username: f.username.trim(),
                            display_name: &f.display_name,
                            email: &f.email,
                            password: &password,
                            is_admin: f.is_admin.is_some(),
                        },
                    )?)
                })
                .await
        }
        .await;
        match result {
            Ok(_) => Ok(redirect("/admin/users")),
            Err(e) if matches!(e.code().1, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
                let field = e.field().unwrap_or_else(|| "username".into());
                let status = e.code().1;
                let message = super::super::error_text::page_text(&state.i18n, ctx.lang, &e);
                show_users(&ctx, &state, &form, Some((field, message)), status).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/users/{name}")]
async fn change_user(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<UserForm>,
) -> HttpResponse {
    let r = async {
        let me = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let name = name.into_inner();
        let op = form.op.clone();
        let password = form.password.clone();
        if op == "password" {
            check_password(&password)?;
        }
        state
            .db(move |conn| {
                match op.as_str() {
                    "disable" => admin_service::set_disabled(conn, me, &name, true)?,
                    "enable" => admin_service::set_disabled(conn, me, &name, false)?,
                    "grant_admin" => admin_service::set_admin(conn, me, &name, true)?,
                    "revoke_admin" => admin_service::set_admin(conn, me, &name, false)?,
                    "password" => user_service::set_password(conn, &name, &password)?,
                    _ => return Err(AppError::bad("op", "unknown operation")),
                }
                Ok(())
            })
            .await?;
        Ok(redirect("/admin/users"))
    }
    .await;
    page(&ctx, &state, r)
}
