//! Admin: batch import of host groups, hosts and projects (the TOML of
//! `slipway project import`).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use tera::Context;

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, render};
use crate::web::AppState;

/// Registers the import page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(import_page).service(import);
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    toml: String,
}

fn show_import(
    ctx: &PageCtx,
    state: &AppState,
    text: &str,
    problems: Vec<String>,
    done: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let mut c = Context::new();
    c.insert("text", text);
    c.insert("problems", &problems);
    c.insert("done", &done);
    render(ctx, state, "admin_import.html", c, status)
}

#[get("/admin/import")]
async fn import_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        Ok(show_import(&ctx, &state, "", vec![], None, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/import")]
async fn import(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<ImportForm>) -> HttpResponse {
    let r = async {
        let actor = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let text = form.toml.clone();
        if text.trim().is_empty() {
            return Ok(show_import(
                &ctx,
                &state,
                "",
                vec!["paste the TOML to import".into()],
                None,
                StatusCode::BAD_REQUEST,
            ));
        }
        let outcome = state
            .db(move |conn| Ok(crate::service::import::import_by(conn, &text, Some(actor))))
            .await?;
        Ok(match outcome {
            Ok(s) => show_import(
                &ctx,
                &state,
                "",
                vec![],
                Some(format!(
                    "{} host groups, {} hosts, {} projects",
                    s.host_groups, s.hosts, s.projects
                )),
                StatusCode::OK,
            ),
            Err(crate::service::import::ImportError::Problems(p)) => show_import(
                &ctx,
                &state,
                &form.toml,
                p.iter().map(ToString::to_string).collect(),
                None,
                StatusCode::BAD_REQUEST,
            ),
            Err(e) => return Err(AppError::Internal(e.to_string())),
        })
    }
    .await;
    page(&ctx, &state, r)
}
