//! Admin: projects (list, add, edit, delete).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use tera::Context;

use crate::service::admin as admin_service;
use crate::service::lookups;
use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render, urlencode};
use crate::web::view;
use crate::web::AppState;

use super::project_form::ProjectForm;
use super::{admin_action, CsrfOnly};

/// Registers the project pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(projects_page)
        .service(project_form_new)
        .service(project_create)
        .service(project_form_edit)
        .service(project_update)
        .service(project_delete);
}

#[get("/admin/projects")]
async fn projects_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let projects = state
            .db(|conn| {
                lookups::project_names(conn)?
                    .iter()
                    .map(|n| Ok(view::ProjectOut::from(lookups::project_facts(conn, n)?)))
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .await?;
        let mut c = Context::new();
        c.insert("projects", &projects);
        Ok(render(&ctx, &state, "admin_projects.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

fn show_project_form(
    ctx: &PageCtx,
    state: &AppState,
    form: &ProjectForm,
    editing: bool,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> HttpResponse {
    let mut c = Context::new();
    let mut f = form.clone();
    f.csrf = String::new();
    c.insert("form", &f);
    c.insert("editing", &editing);
    c.insert("errors", &errors);
    render(ctx, state, "admin_project_form.html", c, status)
}

#[get("/admin/projects/new")]
async fn project_form_new(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let form = ProjectForm {
            version_format: "v{n}".into(),
            approvals_required: "1".into(),
            tested_by_may_approve: Some("on".into()),
            time_zone: "UTC".into(),
            ..ProjectForm::default()
        };
        Ok(show_project_form(
            &ctx,
            &state,
            &form,
            false,
            BTreeMap::new(),
            StatusCode::OK,
        ))
    }
    .await;
    page(&ctx, &state, r)
}

async fn save_project(
    ctx: &PageCtx,
    state: &AppState,
    form: ProjectForm,
    existing: Option<String>,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    ctx.check_csrf(&form.csrf)?;
    let editing = existing.is_some();
    let result = match form.settings() {
        Ok(settings) => {
            let name = settings.name.clone();
            state
                .db(move |conn| {
                    match &existing {
                        Some(old) => admin_service::update_project(conn, old, &settings)?,
                        None => {
                            admin_service::create_project(conn, &settings)?;
                        }
                    }
                    Ok(name)
                })
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(name) => Ok(redirect(&format!("/projects/{}", urlencode(&name)))),
        Err(e) if matches!(e.code().1, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let mut errors = BTreeMap::new();
            let message = super::super::error_text::page_text(&state.i18n, ctx.lang, &e);
            errors.insert(e.field().unwrap_or_else(|| "name".into()), message);
            let status = e.code().1;
            Ok(show_project_form(ctx, state, &form, editing, errors, status))
        }
        Err(e) => Err(e),
    }
}

#[post("/admin/projects/new")]
async fn project_create(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<ProjectForm>) -> HttpResponse {
    let r = save_project(&ctx, &state, form.into_inner(), None).await;
    page(&ctx, &state, r)
}

#[get("/admin/projects/{name}/edit")]
async fn project_form_edit(ctx: PageCtx, state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let name = name.into_inner();
        let form = state
            .db(move |conn| {
                let facts = lookups::project_facts(conn, &name)?;
                let rows = facts.freeze_windows.clone();
                Ok(ProjectForm::from_project(&view::ProjectOut::from(facts), &rows))
            })
            .await?;
        Ok(show_project_form(
            &ctx,
            &state,
            &form,
            true,
            BTreeMap::new(),
            StatusCode::OK,
        ))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/projects/{name}/edit")]
async fn project_update(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<ProjectForm>,
) -> HttpResponse {
    let r = save_project(&ctx, &state, form.into_inner(), Some(name.into_inner())).await;
    page(&ctx, &state, r)
}

#[post("/admin/projects/{name}/delete")]
async fn project_delete(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let name = name.into_inner();
    admin_action(&ctx, &state, &form.csrf, "/admin/projects", move |conn| {
        Ok(admin_service::delete_project(conn, &name)?)
    })
    .await
}
