//! Ticket pages: the list, filing a ticket, the ticket page and its actions.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::domain::Action;
use crate::service::lookups;
use crate::service::tickets::NewRelease;
use crate::service::{reads, requests};

use crate::web::error::AppError;
use crate::web::error_text::code_text;
use crate::web::extract::PageCtx;
use crate::web::input::{ActionBody, ListQuery};
use crate::web::render::{page, redirect, render, urlencode};
use crate::web::view::table_of;
use crate::web::AppState;

/// Registers these pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(ticket_list)
        .service(new_ticket_form)
        .service(new_ticket)
        .service(ticket_page)
        .service(ticket_action);
}

#[get("/tickets")]
async fn ticket_list(ctx: PageCtx, state: web::Data<AppState>, q: web::Query<ListQuery>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let query = q.plan()?;
        // One trip to the database pool for the page (this is the hot page).
        let (rows, next_cursor, names, times) = state
            .db(move |conn| {
                let (rows, next, names) = reads::ticket_list_page(conn, &reader, query)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let times = crate::service::schedules::pending_times(conn, &ids)?;
                Ok((rows, next, names, times))
            })
            .await?;
        let mut c = Context::new();
        c.insert("count", &rows.len());
        c.insert("table", &table_of(rows, &times, state.i18n.get(ctx.lang)));
        c.insert("projects", &names);
        c.insert("states", &crate::domain::TicketState::ALL.map(|s| s.as_str()));
        c.insert("f_project", q.project.as_deref().unwrap_or(""));
        c.insert("f_state", q.state.as_deref().unwrap_or(""));
        c.insert("f_submitter", q.submitter.as_deref().unwrap_or(""));
        c.insert("f_sort", q.sort.as_deref().unwrap_or("desc"));
        let next = next_cursor.map(|cur| {
            format!(
                "/tickets?project={}&state={}&submitter={}&sort={}&cursor={cur}",
                urlencode(q.project.as_deref().unwrap_or("")),
                urlencode(q.state.as_deref().unwrap_or("")),
                urlencode(q.submitter.as_deref().unwrap_or("")),
                urlencode(q.sort.as_deref().unwrap_or("desc")),
            )
        });
        c.insert("next", &next);
        Ok(render(&ctx, &state, "tickets.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct NewTicketForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    svn_paths: String,
    #[serde(default)]
    svn_revision: String,
}

async fn new_ticket_page(
    ctx: &PageCtx,
    state: &AppState,
    form: &NewTicketForm,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?.clone();
    let mut names: Vec<String> = state
        .db(move |conn| Ok(lookups::projects_with_role(conn, user.id, "developer")?))
        .await?;
    names.dedup();
    let mut c = Context::new();
    c.insert("projects", &names);
    c.insert("form", form);
    c.insert("errors", &errors);
    Ok(render(ctx, state, "new_ticket.html", c, status))
}

#[derive(Deserialize)]
struct ProjectQuery {
    project: Option<String>,
}

#[get("/tickets/new")]
async fn new_ticket_form(ctx: PageCtx, state: web::Data<AppState>, q: web::Query<ProjectQuery>) -> HttpResponse {
    let form = NewTicketForm {
        project: q.project.clone().unwrap_or_default(),
        ..NewTicketForm::default()
    };
    let r = new_ticket_page(&ctx, &state, &form, BTreeMap::new(), StatusCode::OK).await;
    page(&ctx, &state, r)
}

#[post("/tickets/new")]
async fn new_ticket(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<NewTicketForm>) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let paths: Vec<String> = form
            .svn_paths
            .lines()
            .map(|l| l.trim_end_matches('\r').trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        // Every field's problem at once, beside the field, in the reader's language.
        let (revision, mut problems) = crate::web::new_ticket::revision(&form.svn_revision);
        let input = NewRelease {
            project: &form.project,
            reason: &form.reason,
            svn_paths: &paths,
            svn_revision: revision,
        };
        if let Err(found) = crate::service::ticket_input::check(&input) {
            problems.extend(found);
        }
        if !problems.is_empty() {
            let errors = crate::web::new_ticket::errors(&state.i18n, ctx.lang, &problems);
            return new_ticket_page(&ctx, &state, &form, errors, StatusCode::BAD_REQUEST).await;
        }
        let mut errors = BTreeMap::new();
        let (project, reason) = (form.project.trim().to_owned(), form.reason.clone());
        let reader = state.reader(user.clone());
        let submitted = state
            .db_then_wake(move |conn| {
                let release = NewRelease {
                    project: &project,
                    reason: &reason,
                    svn_paths: &paths,
                    svn_revision: revision,
                };
                Ok(requests::submit(conn, &reader, &release, Utc::now())?)
            })
            .await;
        match submitted {
            Ok(view) => Ok(redirect(&format!("/tickets/{}", view.ticket.id))),
            Err(e) => {
                let (_, status) = e.code();
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    return Err(e);
                }
                let field = e.field().unwrap_or_else(|| "form".to_owned());
                let field = if field == "name" { "project".to_owned() } else { field };
                errors.insert(field, crate::web::error_text::page_text(&state.i18n, ctx.lang, &e));
                new_ticket_page(&ctx, &state, &form, errors, status).await
            }
        }
    }
    .await;
    page(&ctx, &state, r)
}

pub(super) async fn show_ticket(
    ctx: &PageCtx,
    state: &AppState,
    id: i64,
    action_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut detail = crate::web::changes::ticket_detail(state, state.reader(ctx.user()?.clone()), id).await?;
    // A refused schedule's reason in the reader's language.
    if let Some(s) = detail.schedule.as_mut() {
        let text = s
            .error_code
            .as_deref()
            .and_then(|code| code_text(&state.i18n, ctx.lang, code));
        if text.is_some() {
            s.error = text;
        }
    }
    let needs_note: Vec<&str> = Action::ALL
        .iter()
        .filter(|a| a.needs_note())
        .map(|a| a.as_str())
        .collect();
    let live = detail.jobs.iter().any(|j| j.state == "queued" || j.state == "running");
    let any_needs_note = detail.actions.iter().any(|a| needs_note.contains(&a.as_str()));
    // Per-host status means something once the ticket ships (or shipped).
    let shipping = matches!(
        detail.state.as_str(),
        "releasing" | "released" | "rolling_back" | "rolled_back"
    ) || (detail.state == "failed" && detail.version.is_some());
    let progress = state
        .i18n
        .text(ctx.lang, "ticket.approvals_of")
        .replace("{n}", &detail.approvals.len().to_string())
        .replace("{m}", &detail.approvals_required.to_string());
    let mut c = Context::new();
    c.insert("progress", &progress);
    c.insert("stamp", &detail.stamp);
    c.insert("t_", &detail);
    c.insert("needs_note", &needs_note);
    c.insert("live", &live);
    c.insert("any_needs_note", &any_needs_note);
    c.insert("shipping", &shipping);
    c.insert("action_error", &action_error);
    c.insert("is_admin", &ctx.viewer.as_ref().is_some_and(|u| u.is_admin));
    Ok(render(ctx, state, "ticket.html", c, status))
}

#[get("/tickets/{id}")]
async fn ticket_page(ctx: PageCtx, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResponse {
    let r = show_ticket(&ctx, &state, id.into_inner(), None, StatusCode::OK).await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    lock_version: Option<i32>,
    #[serde(default)]
    emergency_override: Option<String>,
    #[serde(default)]
    confirm_outside_paths: Option<String>,
}

#[post("/tickets/{id}/action")]
async fn ticket_action(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let id = id.into_inner();
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        ctx.check_csrf(&form.csrf)?;
        let body = ActionBody {
            note: Some(form.note.clone()).filter(|n| !n.trim().is_empty()),
            emergency_override: form.emergency_override.is_some(),
            lock_version: form.lock_version,
            revert_switched: false,
            confirm_outside_paths: form.confirm_outside_paths.is_some(),
        };
        let input = body.input(&form.action, reader.user.id);
        let done = state
            .db_then_wake(move |conn| requests::act(conn, &reader, id, input, Utc::now()))
            .await;
        match done {
            Ok(_) => Ok(redirect(&format!("/tickets/{id}"))),
            Err(e @ (AppError::NotFound(_) | AppError::Internal(_))) => Err(e),
            Err(e) => {
                let status = e.code().1;
                let message = crate::web::error_text::page_text(&state.i18n, ctx.lang, &e);
                show_ticket(&ctx, &state, id, Some(message), status).await
            }
        }
    }
    .await;
    page(&ctx, &state, r)
}
