//! Server-rendered pages (tera, autoescaped): my work, ticket list, new
//! ticket, ticket page with its actions, project page with rollbacks, audit
//! log with CSV export, profile (API tokens, language). Every form carries
//! the CSRF token; every change goes through the service layer.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::domain::Action;
use crate::service::admin as admin_service;
use crate::service::lookups;
use crate::service::rows::{AuditFilter, TicketListRow};
use crate::service::tickets::{self as ticket_service, ActorRef, NewRelease};
use crate::service::{queries, reads, Reader};

use super::api::{self, ActionBody, ListQuery};
use super::auth::{lang_cookie, PageCtx};
use super::error::AppError;
use super::i18n::Lang;
use super::view::{self, ts, AuditOut, TicketRowHtml, TicketSummary};
use super::AppState;

/// Registers the pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .service(ticket_list)
        .service(new_ticket_form)
        .service(new_ticket)
        .service(ticket_page)
        .service(ticket_action)
        .service(project_page)
        .service(rollback)
        .service(audit)
        .service(audit_csv)
        .service(profile)
        .service(create_token)
        .service(delete_token)
        .service(switch_language);
}

#[derive(Serialize)]
struct Me<'a> {
    username: &'a str,
    display_name: &'a str,
    is_admin: bool,
}

/// Renders `name` with the common context (catalogue, user, CSRF token).
pub fn render(ctx: &PageCtx, state: &AppState, name: &str, mut c: Context, status: StatusCode) -> HttpResponse {
    c.insert("t", state.i18n.get(ctx.lang));
    c.insert("lang", ctx.lang.code());
    c.insert("csrf", &ctx.csrf);
    c.insert("here", &ctx.here);
    c.insert("asset_v", super::assets::version());
    if let Some(u) = &ctx.viewer {
        c.insert(
            "me",
            &Me {
                username: &u.username,
                display_name: &u.display_name,
                is_admin: u.is_admin,
            },
        );
    }
    match state.tera.render(name, &c) {
        Ok(html) => ctx.finish(
            state,
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
        ),
        Err(e) => {
            tracing::error!(template = name, error = ?e, "render failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error; see the server log")
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error as a page (or a redirect to the login page).
pub fn error_page(ctx: &PageCtx, state: &AppState, err: AppError) -> HttpResponse {
    if let AppError::LoginRequired(next) = &err {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login?next={}", urlencode(next))))
            .finish();
    }
    let (code, status) = err.code();
    let mut c = Context::new();
    c.insert("code", code);
    c.insert("status", &status.as_u16());
    c.insert("message", &err.public_message());
    render(ctx, state, "error.html", c, status)
}

/// Turns a handler result into a page.
pub fn page(ctx: &PageCtx, state: &AppState, result: Result<HttpResponse, AppError>) -> HttpResponse {
    result.unwrap_or_else(|e| error_page(ctx, state, e))
}

/// A 303 redirect after a form post.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// The 404 page.
pub async fn not_found(ctx: PageCtx, state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&AppError::NotFound("no such endpoint".into()));
    }
    error_page(&ctx, &state, AppError::NotFound("no such page".into()))
}

#[get("/")]
async fn index(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let work = state
            .db(move |conn| Ok(queries::my_work(conn, &reader, Utc::now())?))
            .await?;
        // At most 50 rows a section: the ticket list (filters) shows the rest.
        let conv = |v: Vec<TicketListRow>| v.into_iter().take(50).map(TicketRowHtml::from).collect::<Vec<_>>();
        let sections = vec![
            ("to_approve", conv(work.to_approve)),
            ("to_test", conv(work.to_test)),
            ("to_release", conv(work.to_release)),
            ("mine", conv(work.mine)),
            ("recent", conv(work.recent)),
        ];
        let mut c = Context::new();
        c.insert("sections", &sections);
        Ok(render(&ctx, &state, "index.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[get("/tickets")]
async fn ticket_list(ctx: PageCtx, state: web::Data<AppState>, q: web::Query<ListQuery>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let plan = api::ListPlan::new(&q)?;
        // One trip to the database pool for the page (this is the hot page).
        let (rows, next_cursor, names) = state
            .db(move |conn| {
                let (rows, next) = plan.run(conn, &reader)?;
                Ok((rows, next, reads::project_names(conn, &reader)?))
            })
            .await?;
        let mut c = Context::new();
        let rows: Vec<TicketRowHtml> = rows.into_iter().map(TicketRowHtml::from).collect();
        c.insert("tickets", &rows);
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
        let mut errors = BTreeMap::new();
        let revision = match form.svn_revision.trim() {
            "" => None,
            r => match r.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.insert("svn_revision".to_owned(), "must be a revision number".to_owned());
                    None
                }
            },
        };
        if form.project.trim().is_empty() {
            errors.insert("project".to_owned(), "choose a project".to_owned());
        }
        if !errors.is_empty() {
            return new_ticket_page(&ctx, &state, &form, errors, StatusCode::BAD_REQUEST).await;
        }
        let paths: Vec<String> = form
            .svn_paths
            .lines()
            .map(|l| l.trim_end_matches('\r').trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        let (project, reason) = (form.project.trim().to_owned(), form.reason.clone());
        let reader = state.reader(user.clone());
        let submitted = state
            .db_then_wake(move |conn| {
                reads::guard_project_name(conn, &reader, &project)?;
                Ok(ticket_service::submit(
                    conn,
                    ActorRef::User(user.id),
                    &NewRelease {
                        project: &project,
                        reason: &reason,
                        svn_paths: &paths,
                        svn_revision: revision,
                    },
                    Utc::now(),
                )?)
            })
            .await;
        match submitted {
            Ok(applied) => Ok(redirect(&format!("/tickets/{}", applied.ticket.id))),
            Err(e) => {
                let (_, status) = e.code();
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    return Err(e);
                }
                let field = e.field().unwrap_or_else(|| "form".to_owned());
                let field = if field == "name" { "project".to_owned() } else { field };
                errors.insert(field, e.public_message());
                new_ticket_page(&ctx, &state, &form, errors, status).await
            }
        }
    }
    .await;
    page(&ctx, &state, r)
}

async fn show_ticket(
    ctx: &PageCtx,
    state: &AppState,
    id: i64,
    action_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let detail = super::changes::ticket_detail(state, state.reader(ctx.user()?.clone()), id).await?;
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
        };
        let action = form.action.clone();
        let done = state
            .db_then_wake(move |conn| api::apply_action(conn, &reader, id, &action, body))
            .await;
        match done {
            Ok(_) => Ok(redirect(&format!("/tickets/{id}"))),
            Err(e @ (AppError::NotFound(_) | AppError::Internal(_))) => Err(e),
            Err(e) => {
                let status = e.code().1;
                show_ticket(&ctx, &state, id, Some(e.public_message()), status).await
            }
        }
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Serialize)]
struct Released {
    ticket: TicketSummary,
    tag: String,
    approvers: Vec<String>,
    shipped_at: Option<String>,
    can_roll_back: bool,
}

#[get("/projects/{name}")]
async fn project_page(ctx: PageCtx, state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        let reader = state.reader(user.clone());
        let name = name.into_inner();
        let (project, released, may_request, hosts) = state
            .db(move |conn| {
                let row = reader.project(conn, &name)?;
                let project = view::load_project(conn, &name)?;
                let format = crate::domain::VersionFormat::parse(&row.version_format).unwrap_or_default();
                let lookups::ReleaseHistory {
                    released: rows,
                    shipped_at: shipped,
                    approvers,
                } = lookups::release_history(conn, row.id, 100)?;
                let roles = lookups::roles_in_project(conn, user.id, row.id)?;
                let may_request = roles.iter().any(|r| r == "developer" || r == "lead");
                let released: Vec<Released> = rows
                    .into_iter()
                    .map(|r| {
                        let v = r.version.unwrap_or_default();
                        Released {
                            tag: format.render(v),
                            approvers: {
                                let mut a: Vec<String> = approvers
                                    .iter()
                                    .filter(|(t, _, _)| *t == r.id)
                                    .map(|(_, u, _)| u.clone())
                                    .collect();
                                a.dedup();
                                a
                            },
                            shipped_at: shipped
                                .iter()
                                .filter(|(t, _)| *t == r.id)
                                .map(|(_, at)| ts(*at))
                                .next_back(),
                            can_roll_back: row.production_version.is_some_and(|p| v < p),
                            ticket: TicketSummary::from(r),
                        }
                    })
                    .collect();
                let hosts = lookups::hosts_of(conn, row.id)?
                    .into_iter()
                    .map(|(g, h)| (g, h.name, h.target))
                    .collect::<Vec<_>>();
                Ok((project, released, may_request, hosts))
            })
            .await?;
        let mut c = Context::new();
        c.insert("p", &project);
        c.insert("released", &released);
        c.insert("may_request", &may_request);
        c.insert("hosts", &hosts);
        Ok(render(&ctx, &state, "project.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

#[post("/projects/{name}/rollback")]
async fn rollback(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<RollbackForm>,
) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let version: i64 = form
            .version
            .trim()
            .parse()
            .map_err(|_| AppError::bad("version", "must be a version number"))?;
        let (name, reason) = (name.into_inner(), form.reason.clone());
        let reader = state.reader(user.clone());
        let applied = state
            .db_then_wake(move |conn| {
                reads::guard_project_name(conn, &reader, &name)?;
                Ok(ticket_service::request_rollback(
                    conn,
                    ActorRef::User(user.id),
                    &name,
                    version,
                    &reason,
                    Utc::now(),
                )?)
            })
            .await?;
        Ok(redirect(&format!("/tickets/{}", applied.ticket.id)))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
struct AuditQuery {
    project: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    ticket: Option<String>,
    cursor: Option<i64>,
}

async fn audit_rows(
    state: &AppState,
    reader: &Reader,
    q: &AuditQuery,
    cursor: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditOut>, bool), AppError> {
    let q = q.clone();
    let ticket_id = match q.ticket.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(
            t.trim_start_matches('#')
                .parse::<i64>()
                .map_err(|_| AppError::bad("ticket", "must be a ticket number"))?,
        ),
        None => None,
    };
    if let Some(a) = q.action.as_deref().filter(|a| !a.is_empty()) {
        a.parse::<Action>()
            .map_err(|e: crate::domain::UnknownName| AppError::bad("action", e.to_string()))?;
    }
    let reader = reader.clone();
    state
        .db(move |conn| {
            let project_id = match q.project.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => match lookups::project_id(conn, p)? {
                    Some(id) => Some(id),
                    None => return Ok((vec![], false)),
                },
                None => None,
            };
            let actor_id = match q.actor.as_deref().filter(|p| !p.is_empty()) {
                Some(a) => match lookups::user_id(conn, a)? {
                    Some(id) => Some(id),
                    None => return Ok((vec![], false)),
                },
                None => None,
            };
            let filter = AuditFilter {
                project_id,
                actor_id,
                action: q.action.clone().filter(|a| !a.is_empty()),
                ticket_id,
                cursor,
                limit,
                projects: None,
            };
            let (rows, more) = reads::audit(conn, &reader, filter)?;
            Ok((rows.into_iter().map(AuditOut::from).collect(), more))
        })
        .await
}

#[get("/audit")]
async fn audit(ctx: PageCtx, state: web::Data<AppState>, q: web::Query<AuditQuery>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let (rows, more) = audit_rows(&state, &reader, &q, q.cursor, 100).await?;
        let filters = format!(
            "project={}&actor={}&action={}&ticket={}",
            urlencode(q.project.as_deref().unwrap_or("")),
            urlencode(q.actor.as_deref().unwrap_or("")),
            urlencode(q.action.as_deref().unwrap_or("")),
            urlencode(q.ticket.as_deref().unwrap_or("")),
        );
        let next = if more {
            rows.last().map(|r| format!("/audit?{filters}&cursor={}", r.event.id))
        } else {
            None
        };
        let names = state.db(move |conn| Ok(reads::project_names(conn, &reader)?)).await?;
        let mut c = Context::new();
        c.insert("rows", &rows);
        c.insert("q", &*q);
        c.insert("projects", &names);
        c.insert("actions", &Action::ALL.map(|a| a.as_str()));
        c.insert("next", &next);
        c.insert("csv", &format!("/audit.csv?{filters}"));
        Ok(render(&ctx, &state, "audit.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

/// A CSV cell: quoted, and a leading `=`, `+`, `-`, `@` defused for spreadsheets.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[get("/audit.csv")]
async fn audit_csv(ctx: PageCtx, state: web::Data<AppState>, q: web::Query<AuditQuery>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let mut out =
            String::from("event_id,at,project,ticket,actor,action,from_state,to_state,emergency_override,note\n");
        let mut cursor = None;
        for _ in 0..100 {
            let (rows, more) = audit_rows(&state, &reader, &q, cursor, 1000).await?;
            for r in &rows {
                let e = &r.event;
                out.push_str(
                    &[
                        e.id.to_string(),
                        csv_cell(&e.at),
                        csv_cell(&r.project),
                        e.ticket_id.to_string(),
                        csv_cell(e.actor.as_deref().unwrap_or("slipway")),
                        csv_cell(&e.action),
                        csv_cell(e.from_state.as_deref().unwrap_or("")),
                        csv_cell(&e.to_state),
                        e.emergency_override.to_string(),
                        csv_cell(e.note.as_deref().unwrap_or("")),
                    ]
                    .join(","),
                );
                out.push('\n');
            }
            cursor = rows.last().map(|r| r.event.id);
            if !more {
                break;
            }
        }
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"slipway-audit.csv\"",
            ))
            .body(out))
    }
    .await;
    page(&ctx, &state, r)
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
    let user = ctx.user()?.clone();
    let uid = user.id;
    let (toks, roles) = state
        .db(move |conn| Ok((lookups::tokens_of(conn, uid)?, lookups::memberships(conn, uid)?)))
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
                show_profile(&ctx, &state, None, Some(e.public_message()), StatusCode::BAD_REQUEST).await
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
        let mut res = redirect(&super::redirect::safe_local_path(Some(&form.back)));
        let _ = res.add_cookie(&lang_cookie(&state, lang.code()));
        Ok(res)
    }
    .await;
    page(&ctx, &state, r)
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(super::csv_cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(super::csv_cell("=cmd()"), "\"'=cmd()\"");
    }
}
