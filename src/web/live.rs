//! Job logs: `GET /api/v1/tickets/{id}/log` (a page of lines) and the live
//! server-sent event streams `GET /tickets/{id}/log/stream` (pages, cookie)
//! and `GET /api/v1/tickets/{id}/log/stream` (bearer). The stream polls the
//! `job_logs` table every 500 ms, sends new lines, and ends once no job of
//! the ticket is queued or running.

use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::{reads, ticket_stamp, Reader};

use super::error::{AppError, ErrorBody};
use super::extract::{ApiUser, PageCtx};
use super::view::ts;
use super::AppState;

/// Registers the page-side stream.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(page_log_stream).service(page_ticket_stamp);
}

/// One line of job output.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LogLineOut {
    /// Line id (increasing; pass the last as `after`).
    pub id: i64,
    /// Job.
    pub job_id: i64,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub line: String,
    /// When (UTC).
    pub at: String,
}

/// A page of job output.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    /// Lines after `after`, oldest first.
    pub lines: Vec<LogLineOut>,
    /// Whether no job of the ticket is queued or running.
    pub done: bool,
}

/// `?after=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AfterQuery {
    /// Only lines with a greater id.
    pub after: Option<i64>,
}

async fn page(state: &AppState, reader: &Reader, ticket: i64, after: i64, limit: i64) -> Result<LogPage, AppError> {
    let reader = reader.clone();
    state
        .db(move |conn| {
            let (lines, done) = reads::job_log(conn, &reader, ticket, after, limit)?;
            Ok(LogPage {
                lines: lines
                    .into_iter()
                    .map(|l| LogLineOut {
                        id: l.id,
                        job_id: l.job_id,
                        stream: l.stream,
                        line: l.line,
                        at: ts(l.created_at),
                    })
                    .collect(),
                done,
            })
        })
        .await
}

/// The ticket's job output after line `after` (at most 1000 lines).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/log", params(("id" = i64, Path, description = "ticket id"), AfterQuery),
    responses((status = 200, body = LogPage), (status = 404, body = ErrorBody)))]
#[get("/tickets/{id}/log")]
pub async fn api_log(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<i64>,
    q: web::Query<AfterQuery>,
) -> Result<HttpResponse, AppError> {
    let reader = state.reader(user.0);
    Ok(HttpResponse::Ok().json(page(&state, &reader, id.into_inner(), q.after.unwrap_or(0), 1000).await?))
}

/// Server-sent events: `line` events (JSON of a log line, id = line id) while a
/// job runs, then one `end` event.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/log/stream", params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"), (status = 404, body = ErrorBody)))]
#[get("/tickets/{id}/log/stream")]
pub async fn api_log_stream(
    state: web::Data<AppState>,
    user: ApiUser,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let reader = state.reader(user.0);
    stream(state, reader, &req, id.into_inner()).await
}

#[get("/tickets/{id}/log/stream")]
async fn page_log_stream(
    ctx: PageCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.viewer.clone().ok_or(AppError::Unauthorized)?;
    let reader = state.reader(user);
    stream(state, reader, &req, id.into_inner()).await
}

struct Cursor {
    state: web::Data<AppState>,
    reader: Reader,
    ticket: i64,
    after: i64,
    polls: u32,
    finished: bool,
}

/// Longest a stream stays open (the client reconnects with Last-Event-ID).
const MAX_POLLS: u32 = 2 * 60 * 30;

async fn stream(
    state: web::Data<AppState>,
    reader: Reader,
    req: &HttpRequest,
    ticket: i64,
) -> Result<HttpResponse, AppError> {
    let after = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // 404 before starting the stream.
    page(&state, &reader, ticket, i64::MAX, 1).await?;
    let start = Cursor {
        state,
        reader,
        ticket,
        after,
        polls: 0,
        finished: false,
    };
    let body = futures_util::stream::unfold(start, |mut c| async move {
        if c.finished {
            return None;
        }
        if c.polls > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        c.polls += 1;
        let mut out = String::new();
        match page(&c.state, &c.reader, c.ticket, c.after, 500).await {
            Ok(p) => {
                for l in &p.lines {
                    c.after = l.id;
                    out.push_str(&format!(
                        "id: {}\nevent: line\ndata: {}\n\n",
                        l.id,
                        serde_json::to_string(l).unwrap_or_default()
                    ));
                }
                if p.lines.is_empty() && (p.done || c.polls >= MAX_POLLS) {
                    out.push_str("event: end\ndata: {}\n\n");
                    c.finished = true;
                } else if out.is_empty() && c.polls % 30 == 0 {
                    out.push_str(": keep-alive\n\n");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.public_message(), "log stream stopped");
                out.push_str("event: end\ndata: {}\n\n");
                c.finished = true;
            }
        }
        Some((Ok::<_, actix_web::Error>(Bytes::from(out)), c))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// The ticket's fingerprint ([`ticket_stamp::TicketStamp`]) as JSON, never
/// cached; the ticket page re-reads itself when it changes.
#[get("/tickets/{id}/stamp")]
async fn page_ticket_stamp(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.viewer.clone().ok_or(AppError::Unauthorized)?;
    let reader = state.reader(user);
    let id = id.into_inner();
    let stamp = state
        .db(move |conn| Ok(ticket_stamp::ticket_stamp(conn, &reader, id)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(stamp))
}
