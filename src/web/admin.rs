//! Admin pages: users (add, disable/enable, reset password, admin flag),
//! projects (add, edit, delete: settings, members, approval policy, freeze
//! windows, host groups), host groups and hosts, and batch import (the TOML
//! of `slipway project import`). Admins only; every form carries the CSRF token.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::admin::{self as admin_service, FreezeSetting, ProjectSettings};
use crate::service::lookups;
use crate::service::users::{self as user_service, NewAccount};

use super::auth::PageCtx;
use super::error::AppError;
use super::pages::{page, redirect, render};
use super::view;
use super::AppState;

/// Registers the admin pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(users_page)
        .service(add_user)
        .service(change_user)
        .service(projects_page)
        .service(project_form_new)
        .service(project_create)
        .service(project_form_edit)
        .service(project_update)
        .service(project_delete)
        .service(hosts_page)
        .service(add_group)
        .service(delete_group)
        .service(add_host)
        .service(delete_host)
        .service(import_page)
        .service(import);
}

/// Runs an admin form action: checks that the user is an admin and the CSRF
/// token, does `work` in the database, then redirects to `to`.
async fn admin_action<T, F>(ctx: &PageCtx, state: &AppState, csrf: &str, to: &str, work: F) -> HttpResponse
where
    F: FnOnce(&mut crate::service::DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let r = async {
        ctx.admin()?;
        ctx.check_csrf(csrf)?;
        state.db(work).await?;
        Ok(redirect(to))
    }
    .await;
    page(ctx, state, r)
}

#[derive(Serialize)]
struct UserOut {
    username: String,
    display_name: String,
    email: String,
    is_admin: bool,
    disabled: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    is_admin: Option<String>,
    #[serde(default)]
    op: String,
}

async fn show_users(
    ctx: &PageCtx,
    state: &AppState,
    form: &UserForm,
    error: Option<(String, String)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    ctx.admin()?;
    let users: Vec<UserOut> = state
        .db(|conn| {
            Ok(lookups::users(conn)?
                .into_iter()
                .map(|u| UserOut {
                    username: u.username,
                    display_name: u.display_name,
                    email: u.email,
                    is_admin: u.is_admin,
                    disabled: u.disabled,
                })
                .collect())
        })
        .await?;
    let mut c = Context::new();
    c.insert("users", &users);
    c.insert(
        "form",
        &UserForm {
            password: String::new(),
            csrf: String::new(),
            ..clone_form(form)
        },
    );
    let errors: BTreeMap<String, String> = error.into_iter().collect();
    c.insert("errors", &errors);
    Ok(render(ctx, state, "admin_users.html", c, status))
}

fn clone_form(f: &UserForm) -> UserForm {
    UserForm {
        csrf: String::new(),
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        email: f.email.clone(),
        password: String::new(),
        is_admin: f.is_admin.clone(),
        op: String::new(),
    }
}

#[get("/admin/users")]
async fn users_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = show_users(&ctx, &state, &UserForm::default(), None, StatusCode::OK).await;
    page(&ctx, &state, r)
}

fn check_password(p: &str) -> Result<(), AppError> {
    Ok(crate::service::password::check(p).map_err(crate::service::ServiceError::from)?)
}

#[post("/admin/users")]
async fn add_user(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<UserForm>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        ctx.check_csrf(&form.csrf)?;
        let f = clone_form(&form);
        let password = form.password.clone();
        let result = async {
            check_password(&password)?;
            state
                .db(move |conn| {
                    Ok(user_service::add(
                        conn,
                        &NewAccount {
                            username: f.username.trim(),
                            display_name: &f.display_name,
                            email: &f.email,
                            password: &password,
                            is_admin: f.is_admin.is_some(),
                        },
                    )?)
                })
                .await
        }
        .await;
        match result {
            Ok(_) => Ok(redirect("/admin/users")),
            Err(e) if matches!(e.code().1, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
                let field = e.field().unwrap_or_else(|| "username".into());
                let status = e.code().1;
                let message = super::error_text::page_text(&state.i18n, ctx.lang, &e);
                show_users(&ctx, &state, &form, Some((field, message)), status).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/users/{name}")]
async fn change_user(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<UserForm>,
) -> HttpResponse {
    let r = async {
        let me = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let name = name.into_inner();
        let op = form.op.clone();
        let password = form.password.clone();
        if op == "password" {
            check_password(&password)?;
        }
        state
            .db(move |conn| {
                match op.as_str() {
                    "disable" => admin_service::set_disabled(conn, me, &name, true)?,
                    "enable" => admin_service::set_disabled(conn, me, &name, false)?,
                    "grant_admin" => admin_service::set_admin(conn, me, &name, true)?,
                    "revoke_admin" => admin_service::set_admin(conn, me, &name, false)?,
                    "password" => user_service::set_password(conn, &name, &password)?,
                    _ => return Err(AppError::bad("op", "unknown operation")),
                }
                Ok(())
            })
            .await?;
        Ok(redirect("/admin/users"))
    }
    .await;
    page(&ctx, &state, r)
}

#[get("/admin/projects")]
async fn projects_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let projects = state
            .db(|conn| {
                lookups::project_names(conn)?
                    .iter()
                    .map(|n| view::load_project(conn, n))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let mut c = Context::new();
        c.insert("projects", &projects);
        Ok(render(&ctx, &state, "admin_projects.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

/// The project form's fields, as typed.
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
struct ProjectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    svn_url: String,
    #[serde(default)]
    svn_credentials: String,
    #[serde(default)]
    staging_dir: String,
    #[serde(default)]
    staging_url: String,
    #[serde(default)]
    build_command: String,
    #[serde(default)]
    excludes: String,
    #[serde(default)]
    version_format: String,
    #[serde(default)]
    approvals_required: String,
    #[serde(default)]
    allow_self_approval: Option<String>,
    #[serde(default)]
    tested_by_may_approve: Option<String>,
    #[serde(default)]
    approval_expiry_hours: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    leads: String,
    #[serde(default)]
    developers: String,
    #[serde(default)]
    testers: String,
    #[serde(default)]
    host_groups: String,
    #[serde(default)]
    freeze: String,
}

fn words(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n', '\r', '\t'])
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

impl ProjectForm {
    fn settings(&self) -> Result<ProjectSettings, AppError> {
        let num = |field: &str, v: &str| -> Result<Option<i64>, AppError> {
            match v.trim() {
                "" => Ok(None),
                v => v
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| AppError::bad(field, "must be a whole number")),
            }
        };
        let required = num("approvals_required", &self.approvals_required)?.unwrap_or(1);
        let expiry = num("approval_expiry_hours", &self.approval_expiry_hours)?;
        let mut freeze = Vec::new();
        for line in lines(&self.freeze) {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            let label = parts.get(3).map(|s| (*s).to_owned()).unwrap_or_default();
            match parts.first().copied() {
                Some("weekly") if parts.len() >= 3 => freeze.push(FreezeSetting {
                    weekly_from: Some(parts[1].to_owned()),
                    weekly_to: Some(parts[2].to_owned()),
                    label,
                    ..FreezeSetting::default()
                }),
                Some("range") if parts.len() >= 3 => freeze.push(FreezeSetting {
                    from: Some(parts[1].to_owned()),
                    to: Some(parts[2].to_owned()),
                    label,
                    ..FreezeSetting::default()
                }),
                _ => {
                    return Err(AppError::bad(
                        "freeze",
                        format!(
                            "`{}`: write `weekly | Fri 18:00 | Mon 09:00 | label` or `range | FROM | TO | label`",
                            line.chars().take(80).collect::<String>()
                        ),
                    ))
                }
            }
        }
        let clamp = |field: &str, v: i64, lo: i64, hi: i64| -> Result<i64, AppError> {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(AppError::bad(field, format!("must be between {lo} and {hi}")))
            }
        };
        Ok(ProjectSettings {
            name: self.name.trim().to_owned(),
            description: self.description.clone(),
            svn_url: self.svn_url.trim().to_owned(),
            svn_credentials: Some(self.svn_credentials.trim().to_owned()).filter(|s| !s.is_empty()),
            staging_dir: self.staging_dir.trim().to_owned(),
            staging_url: self.staging_url.trim().to_owned(),
            build_command: lines(&self.build_command),
            excludes: lines(&self.excludes),
            version_format: match self.version_format.trim() {
                "" => "v{n}".to_owned(),
                v => v.to_owned(),
            },
            approvals_required: clamp("approvals_required", required, 1, 20)? as u32,
            allow_self_approval: self.allow_self_approval.is_some(),
            tested_by_may_approve: self.tested_by_may_approve.is_some(),
            approval_expiry_hours: expiry
                .map(|e| clamp("approval_expiry_hours", e, 1, 8760))
                .transpose()?
                .map(|e| e as u32),
            time_zone: self.time_zone.clone(),
            utc_offset_minutes: None,
            leads: words(&self.leads),
            developers: words(&self.developers),
            testers: words(&self.testers),
            host_groups: words(&self.host_groups),
            freeze,
        })
    }

    fn from_project(p: &view::ProjectOut, freeze_rows: &[crate::service::rows::FreezeWindowRow]) -> Self {
        let freeze = freeze_rows
            .iter()
            .map(|r| match r.kind.as_str() {
                "weekly" => {
                    let w = |m: Option<i32>| {
                        m.and_then(|m| u32::try_from(m).ok())
                            .and_then(crate::domain::WeekTime::from_minutes)
                            .map(|w| w.to_string())
                            .unwrap_or_default()
                    };
                    format!("weekly | {} | {} | {}", w(r.weekly_from), w(r.weekly_to), r.label)
                }
                _ => format!(
                    "range | {} | {} | {}",
                    r.starts_at.map(view::ts).unwrap_or_default(),
                    r.ends_at.map(view::ts).unwrap_or_default(),
                    r.label
                ),
            })
            .collect::<Vec<_>>()
            .join("\n");
        Self {
            csrf: String::new(),
            name: p.name.clone(),
            description: p.description.clone(),
            svn_url: p.svn_url.clone(),
            svn_credentials: p.svn_credentials.clone().unwrap_or_default(),
            staging_dir: p.staging_dir.clone(),
            staging_url: p.staging_url.clone(),
            build_command: p.build_command.join("\n"),
            excludes: p.excludes.join("\n"),
            version_format: p.version_format.clone(),
            approvals_required: p.approvals_required.to_string(),
            allow_self_approval: p.allow_self_approval.then(|| "on".into()),
            tested_by_may_approve: p.tested_by_may_approve.then(|| "on".into()),
            approval_expiry_hours: p.approval_expiry_hours.map(|h| h.to_string()).unwrap_or_default(),
            time_zone: p.time_zone.clone(),
            leads: p.leads.join(", "),
            developers: p.developers.join(", "),
            testers: p.testers.join(", "),
            host_groups: p.host_groups.join(", "),
            freeze,
        }
    }
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
        Ok(name) => Ok(redirect(&format!("/projects/{}", super::pages::urlencode(&name)))),
        Err(e) if matches!(e.code().1, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let mut errors = BTreeMap::new();
            let message = super::error_text::page_text(&state.i18n, ctx.lang, &e);
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
                let p = view::load_project(conn, &name)?;
                let id = lookups::project_id(conn, &name)?.unwrap_or_default();
                let rows = lookups::freeze_windows(conn, id)?;
                Ok(ProjectForm::from_project(&p, &rows))
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

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
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

#[derive(Serialize)]
struct GroupOut {
    id: i64,
    name: String,
    hosts: Vec<(i64, String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct HostForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    target: String,
}

#[get("/admin/hosts")]
async fn hosts_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let groups: Vec<GroupOut> = state
            .db(|conn| {
                Ok(lookups::host_groups(conn)?
                    .into_iter()
                    .map(|(g, hs)| GroupOut {
                        id: g.id,
                        name: g.name,
                        hosts: hs.into_iter().map(|h| (h.id, h.name, h.target)).collect(),
                    })
                    .collect())
            })
            .await?;
        let mut c = Context::new();
        c.insert("groups", &groups);
        Ok(render(&ctx, &state, "admin_hosts.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/hosts/groups")]
async fn add_group(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<HostForm>) -> HttpResponse {
    let name = form.name.clone();
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::add_host_group(conn, &name)?)
    })
    .await
}

#[post("/admin/hosts/groups/{id}/delete")]
async fn delete_group(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let id = id.into_inner();
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::delete_host_group(conn, id)?)
    })
    .await
}

#[post("/admin/hosts")]
async fn add_host(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<HostForm>) -> HttpResponse {
    let (g, n, t) = (form.group.clone(), form.name.clone(), form.target.clone());
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::add_host(conn, &g, &n, &t)?)
    })
    .await
}

#[post("/admin/hosts/{id}/delete")]
async fn delete_host(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let id = id.into_inner();
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::delete_host(conn, id)?)
    })
    .await
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
        ctx.admin()?;
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
            .db(move |conn| Ok(crate::service::import::import(conn, &text)))
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
