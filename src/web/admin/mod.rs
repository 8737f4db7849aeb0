//! Admin pages: users (add, disable/enable, reset password, admin flag),
//! projects (add, edit, delete: settings, members, approval policy, freeze
//! windows, host groups), host groups and hosts, and batch import (the TOML
//! of `slipway project import`). Admins only; every form carries the CSRF token.
//!
//! One file per admin area, each registering its own routes.

mod confirm;
mod freeze_rows;
mod host_check;
mod hosts;
mod import;
mod project_form;
mod projects;
mod users;

use actix_web::web;

use super::error::AppError;
use super::extract::PageCtx;
use super::AppState;

/// Registers the admin pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(users::routes)
        .configure(projects::routes)
        .configure(hosts::routes)
        .configure(host_check::routes)
        .configure(confirm::routes)
        .configure(import::routes);
}

/// An error of a form post to show beside its field: (field, message in the
/// viewer's language), for invalid input and conflicts; `None` for other
/// errors (forbidden, not found, internal), which get the error page.
pub(super) fn field_error(ctx: &PageCtx, state: &AppState, e: &AppError) -> Option<(String, String)> {
    use actix_web::http::StatusCode;
    if !matches!(e.code().1, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) {
        return None;
    }
    let message = match e {
        AppError::Service(crate::service::ServiceError::Invalid(invalid)) => {
            super::error_text::input_problem(&state.i18n, ctx.lang, invalid)
        }
        other => super::error_text::page_text(&state.i18n, ctx.lang, other),
    };
    Some((e.field().unwrap_or_else(|| "name".into()), message))
}
