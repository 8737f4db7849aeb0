//! Server-rendered pages.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use tera::Tera;

use crate::domain::VersionFormat;
use crate::store::{projects, tickets, Pool};

use super::error::AppError;

#[derive(Serialize)]
struct ProjectSummary {
    name: String,
    description: String,
    approvals_required: i32,
    production: Option<String>,
    open_tickets: i64,
}

/// `GET /`: the projects and what production runs.
#[get("/")]
pub async fn index(pool: web::Data<Pool>, tera: web::Data<Tera>) -> Result<HttpResponse, AppError> {
    let pool = pool.get_ref().clone();
    let summaries = web::block(move || -> Result<Vec<ProjectSummary>, AppError> {
        let mut conn = pool.get().map_err(|e| AppError::Internal(e.to_string()))?;
        let rows = projects::list(&mut conn).map_err(|e| AppError::Internal(e.to_string()))?;
        rows.into_iter()
            .map(|p| {
                let format = VersionFormat::parse(&p.version_format).unwrap_or_default();
                Ok(ProjectSummary {
                    open_tickets: tickets::count_open(&mut conn, p.id)
                        .map_err(|e| AppError::Internal(e.to_string()))?,
                    production: p.production_version.map(|v| format.render(v)),
                    name: p.name,
                    description: p.description,
                    approvals_required: p.approvals_required,
                })
            })
            .collect()
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let mut context = tera::Context::new();
    context.insert("projects", &summaries);
    let html = tera
        .render("index.html", &context)
        .map_err(|e| AppError::Internal(format!("render index.html: {e:?}")))?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}
