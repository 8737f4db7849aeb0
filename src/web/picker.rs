//! The SVN path picker behind the new-ticket form: `GET /svn/list?project=&path=`
//! lists one level of the project's repository (`svn list` with the
//! project's credentials) as JSON for `static/app.js`. The form works
//! without it: paths can always be typed.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::domain::SvnPath;
use crate::service::lookups;

use super::error::AppError;
use super::extract::PageCtx;
use super::AppState;

/// Registers the picker's endpoint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(svn_list);
}

#[derive(Deserialize)]
struct ListQuery {
    project: String,
    #[serde(default)]
    path: String,
}

/// One entry of the listing.
#[derive(Serialize)]
struct Entry {
    name: String,
    /// The path relative to the project's URL (what the form takes).
    path: String,
    is_dir: bool,
}

/// At most this many entries are returned per directory.
const MAX_ENTRIES: usize = 2000;

#[get("/svn/list")]
async fn svn_list(
    ctx: PageCtx,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.viewer.clone().ok_or(AppError::Unauthorized)?;
    let svn = state
        .svn
        .clone()
        .ok_or_else(|| AppError::NotFound("the SVN path picker is not configured".into()))?;
    let dir = match q.path.trim().trim_end_matches('/') {
        "" => None,
        p => Some(SvnPath::parse(p).map_err(|e| AppError::bad("path", e.to_string()))?),
    };
    let name = q.project.clone();
    let reader = state.reader(user.clone());
    let project = state
        .db(move |conn| {
            let project = reader.project(conn, &name)?;
            let member = lookups::has_role(conn, user.id, project.id, "developer")?;
            if !member && !user.is_admin {
                return Err(AppError::Forbidden(
                    "only the project's developers browse its SVN tree".into(),
                ));
            }
            Ok(project)
        })
        .await?;
    // `svn list` runs on the blocking pool with the project's credentials,
    // and with no database connection held: slow SVN must not starve the
    // other pages of connections.
    let entries = web::block(move || {
        let client = svn
            .client_for(&project)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let listed = client.list(&project.svn_url, dir.as_ref()).map_err(|e| {
            tracing::warn!(project = %project.name, error = %e, "svn list failed");
            AppError::bad("path", format!("svn list failed: {e}"))
        })?;
        let prefix = dir.as_ref().map(|d| format!("{}/", d.as_str())).unwrap_or_default();
        let mut out: Vec<Entry> = listed
            .into_iter()
            .take(MAX_ENTRIES)
            .map(|e| Entry {
                path: format!("{prefix}{}", e.name),
                name: e.name,
                is_dir: e.is_dir,
            })
            .collect();
        out.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
        Ok::<_, AppError>(out)
    })
    .await
    .map_err(|e| AppError::Internal(format!("blocking task: {e}")))??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "entries": entries })))
}
