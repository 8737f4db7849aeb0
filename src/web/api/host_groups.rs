//! Host groups (admins): list them with their hosts and relays, and set or
//! clear a group's relay (issue 14). Changes are audited by the service
//! ([`crate::service::host_admin`]) like the admin page's.

use actix_web::{get, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::host_admin::{self, RelayInput};
use crate::service::lookups;

use crate::web::error::{AppError, ErrorBody};
use crate::web::extract::ApiUser;
use crate::web::AppState;

use super::{json_body, require_admin};

/// Registers the host group endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_host_groups).service(put_relay);
}

/// One host of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupHostOut {
    /// Name within the group.
    pub name: String,
    /// Where its releases go.
    pub target: String,
}

/// A host group with its relay and hosts.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostGroupOut {
    /// Unique name.
    pub name: String,
    /// Its relay (an empty `target`: releases go to the hosts directly).
    pub relay: RelayInput,
    /// Its hosts, by name.
    pub hosts: Vec<GroupHostOut>,
}

fn groups(conn: &mut crate::service::DbConn, only: Option<&str>) -> Result<Vec<HostGroupOut>, AppError> {
    Ok(lookups::host_groups(conn)?
        .into_iter()
        .filter(|(g, _)| only.is_none_or(|o| o == g.name))
        .map(|(g, hosts)| HostGroupOut {
            relay: host_admin::relay_input(&g),
            name: g.name,
            hosts: hosts
                .into_iter()
                .map(|h| GroupHostOut {
                    name: h.name,
                    target: h.target,
                })
                .collect(),
        })
        .collect())
}

/// Lists the host groups with their relays and hosts (admins).
#[utoipa::path(get, path = "/api/v1/host-groups",
    responses((status = 200, body = [HostGroupOut]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/host-groups")]
pub(super) async fn list_host_groups(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let out = state.db(move |conn| groups(conn, None)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Sets a group's relay, or clears it with an empty `target` (admins).
#[utoipa::path(put, path = "/api/v1/host-groups/{name}/relay", params(("name" = String, Path, description = "host group name")),
    request_body = RelayInput,
    responses((status = 200, body = HostGroupOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/host-groups/{name}/relay")]
pub(super) async fn put_relay(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let (name, actor) = (name.into_inner(), user.0.id);
    let input: RelayInput = json_body(&body, false)?;
    let out = state
        .db(move |conn| {
            host_admin::set_group_relay_by_name(conn, actor, &name, &input)?;
            groups(conn, Some(&name))?
                .pop()
                .ok_or_else(|| AppError::from(crate::service::ServiceError::not_found("host group", name.as_str())))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
