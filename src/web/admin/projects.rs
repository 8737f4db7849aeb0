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

/// A form as posted: (name, value) pairs, repeated names kept (multi-selects).
type Pairs = Vec<(String, String)>;

/// Registers the project pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(projects_page)
        .service(project_form_new)
        .service(project_create)
        .service(project_form_edit)
        .service(project_update);
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
    choices: &Choices,
    editing: bool,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> HttpResponse {
    let mut c = Context::new();
    let shown = form.with_blank_rows();
    c.insert("form", &shown.fields);
    c.insert(
        "roles",
        &[
            ("leads", &shown.leads),
            ("developers", &shown.developers),
            ("testers", &shown.testers),
        ],
    );
    c.insert("chosen_groups", &shown.host_groups);
    c.insert("weekly", &shown.weekly);
    c.insert("ranges", &shown.ranges);
    c.insert("days", &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    c.insert("users", &choices.users);
    c.insert("groups", &choices.groups);
    c.insert("editing", &editing);
    c.insert("errors", &errors);
    render(ctx, state, "admin_project_form.html", c, status)
}

/// What the form's selects offer: enabled users (and current members, even
/// disabled ones) and host groups, by name.
struct Choices {
    users: Vec<String>,
    groups: Vec<String>,
}

async fn choices(state: &AppState, form: &ProjectForm) -> Result<Choices, AppError> {
    let mut chosen: Vec<String> = form
        .leads
        .iter()
        .chain(&form.developers)
        .chain(&form.testers)
        .cloned()
        .collect();
    state
        .db(move |conn| {
            let mut users: Vec<String> = lookups::users(conn)?
                .into_iter()
                .filter(|u| !u.disabled || chosen.contains(&u.username))
                .map(|u| u.username)
                .collect();
            // A name typed that is no user stays out: the select offers users only.
            chosen.retain(|c| users.contains(c));
            users.sort();
            let groups = lookups::host_groups(conn)?.into_iter().map(|(g, _)| g.name).collect();
            Ok(Choices { users, groups })
        })
        .await
}

#[get("/admin/projects/new")]
async fn project_form_new(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let mut form = ProjectForm::default();
        for (k, v) in [
            ("version_format", "v{n}"),
            ("approvals_required", "1"),
            ("tested_by_may_approve", "on"),
            ("time_zone", "UTC"),
        ] {
            form.fields.insert(k.to_owned(), v.to_owned());
        }
        let choices = choices(&state, &form).await?;
        Ok(show_project_form(
            &ctx,
            &state,
            &form,
            &choices,
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
    ctx.check_csrf(form.get("csrf"))?;
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
            let choices = choices(state, &form).await?;
            Ok(show_project_form(ctx, state, &form, &choices, editing, errors, status))
        }
        Err(e) => Err(e),
    }
}

#[post("/admin/projects/new")]
async fn project_create(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<Pairs>) -> HttpResponse {
    let r = save_project(&ctx, &state, ProjectForm::from_pairs(form.into_inner()), None).await;
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
        let choices = choices(&state, &form).await?;
        Ok(show_project_form(
            &ctx,
            &state,
            &form,
            &choices,
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
    form: web::Form<Pairs>,
) -> HttpResponse {
    let r = save_project(
        &ctx,
        &state,
        ProjectForm::from_pairs(form.into_inner()),
        Some(name.into_inner()),
    )
    .await;
    page(&ctx, &state, r)
}
