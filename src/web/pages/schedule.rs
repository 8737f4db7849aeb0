//! The ticket page's schedule form (issue 14): schedule the release at a
//! time in the project's zone or in the next maintenance window, change
//! it, or cancel it.

use actix_web::{post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;

use crate::service::schedules::{self, Request, When};

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect};
use crate::web::AppState;

/// Registers the form's handler.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(schedule_form);
}

#[derive(Deserialize)]
struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    /// `schedule`, `change` or `cancel`.
    #[serde(default)]
    op: String,
    /// `datetime-local` in the project's zone.
    #[serde(default)]
    at: String,
    /// The "next maintenance window" button.
    #[serde(default)]
    next_window: Option<String>,
}

fn request_of(form: &ScheduleForm) -> Result<Request, AppError> {
    // The button wins over a time left in the field (the current one, when changing).
    let next = form.next_window.is_some();
    let at = (!next).then_some(form.at.as_str());
    let when = || When::from_input(at, next).map_err(crate::service::ServiceError::from);
    Ok(match form.op.as_str() {
        "schedule" => Request::Schedule(when()?),
        "change" => Request::Change(when()?),
        "cancel" => Request::Cancel,
        other => {
            return Err(AppError::bad(
                "op",
                format!("`{}` is not schedule, change or cancel", other.escape_debug()),
            ))
        }
    })
}

#[post("/tickets/{id}/schedule")]
async fn schedule_form(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<ScheduleForm>,
) -> HttpResponse {
    let id = id.into_inner();
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        ctx.check_csrf(&form.csrf)?;
        let request = request_of(&form);
        let done = state
            .db_then_wake(move |conn| schedules::request(conn, &reader, id, request, Utc::now()).map(|_| ()))
            .await;
        match done {
            Ok(()) => Ok(redirect(&format!("/tickets/{id}#schedule"))),
            Err(e @ (AppError::NotFound(_) | AppError::Internal(_))) => Err(e),
            Err(e) => {
                let status = e.code().1;
                let message = crate::web::error_text::page_text(&state.i18n, ctx.lang, &e);
                super::tickets::show_ticket(&ctx, &state, id, Some(message), status).await
            }
        }
    }
    .await;
    page(&ctx, &state, r)
}
