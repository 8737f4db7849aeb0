//! The audit log page and its CSV export.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::domain::Action;
use crate::service::rows::AuditFilter;
use crate::service::{host_admin, lookups};
use crate::service::{reads, Reader};

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, render, urlencode};
use crate::web::view::AuditOut;
use crate::web::AppState;

/// Registers these pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(audit).service(audit_csv);
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
struct AuditQuery {
    project: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    ticket: Option<String>,
    cursor: Option<i64>,
    admin_cursor: Option<i64>,
}

/// A line of the admin trail (host and group changes, trusted host keys).
#[derive(Debug, Serialize)]
struct AdminEventOut {
    id: i64,
    at: String,
    actor: Option<String>,
    action: String,
    subject: String,
    detail: String,
}

/// Whether `q` shows the admin trail: to admins, unless the filters ask for
/// ticket events only (a project, an action or a ticket).
fn shows_admin_trail(q: &AuditQuery, is_admin: bool) -> bool {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    is_admin && !set(&q.project) && !set(&q.action) && !set(&q.ticket)
}

/// One page of the admin trail below `cursor`, the actor filter applied;
/// whether more follow.
async fn admin_page(
    state: &AppState,
    q: &AuditQuery,
    cursor: Option<i64>,
    limit: i64,
) -> Result<(Vec<AdminEventOut>, bool), AppError> {
    let actor = q.actor.clone().filter(|a| !a.is_empty());
    let (rows, more) = state
        .db(move |conn| {
            let actor_id = match actor {
                Some(a) => match lookups::user_id(conn, &a)? {
                    Some(id) => Some(id),
                    None => return Ok((vec![], false)),
                },
                None => None,
            };
            Ok(host_admin::admin_events(conn, actor_id, cursor, limit)?)
        })
        .await?;
    let rows = rows
        .into_iter()
        .map(|r| AdminEventOut {
            id: r.id,
            at: crate::web::view::ts(r.created_at),
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            detail: r.detail,
        })
        .collect();
    Ok((rows, more))
}

/// Admins see host and group changes too (see [`shows_admin_trail`]).
async fn admin_rows(
    state: &AppState,
    q: &AuditQuery,
    is_admin: bool,
) -> Result<Option<(Vec<AdminEventOut>, Option<String>)>, AppError> {
    if !shows_admin_trail(q, is_admin) {
        return Ok(None);
    }
    let (rows, more) = admin_page(state, q, q.admin_cursor, 50).await?;
    let next = if more {
        rows.last().map(|r| {
            format!(
                "/audit?actor={}&admin_cursor={}#admin-changes",
                urlencode(q.actor.as_deref().unwrap_or("")),
                r.id
            )
        })
    } else {
        None
    };
    Ok(Some((rows, next)))
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
    if let Some(a) = q
        .action
        .as_deref()
        .filter(|a| !a.is_empty() && !crate::service::schedules::EVENTS.contains(a))
    {
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
        let admin = admin_rows(&state, &q, ctx.user()?.is_admin).await?;
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
        let actions: Vec<&str> = Action::ALL
            .map(|a| a.as_str())
            .into_iter()
            .chain(crate::service::schedules::EVENTS)
            .collect();
        c.insert("actions", &actions);
        c.insert("next", &next);
        c.insert("csv", &format!("/audit.csv?{filters}"));
        if let Some((admin_rows, admin_next)) = admin {
            c.insert("admin_rows", &admin_rows);
            c.insert("admin_next", &admin_next);
        }
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
        let is_admin = ctx.user()?.is_admin;
        // `subject` and `detail` are the admin trail's (issue 12): its lines
        // follow the ticket events, their ids prefixed `admin-`.
        let mut out = String::from(
            "event_id,at,project,ticket,actor,action,from_state,to_state,emergency_override,note,subject,detail\n",
        );
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
                        csv_cell(""),
                        csv_cell(""),
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
        if shows_admin_trail(&q, is_admin) {
            let mut cursor = None;
            for _ in 0..100 {
                let (rows, more) = admin_page(&state, &q, cursor, 1000).await?;
                for r in &rows {
                    out.push_str(
                        &[
                            format!("admin-{}", r.id),
                            csv_cell(&r.at),
                            csv_cell(""),
                            String::new(),
                            csv_cell(r.actor.as_deref().unwrap_or("slipway")),
                            csv_cell(&r.action),
                            csv_cell(""),
                            csv_cell(""),
                            String::new(),
                            csv_cell(""),
                            csv_cell(&r.subject),
                            csv_cell(&r.detail),
                        ]
                        .join(","),
                    );
                    out.push('\n');
                }
                cursor = rows.last().map(|r| r.id);
                if !more {
                    break;
                }
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

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(super::csv_cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(super::csv_cell("=cmd()"), "\"'=cmd()\"");
    }
}
