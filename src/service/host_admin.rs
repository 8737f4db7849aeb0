//! Host groups and hosts as admins change them: add, rename or retarget,
//! delete. Each change is checked first, then written in one transaction
//! together with its line in the admin audit trail (`admin_events`).

use super::error::codes as codes_error;
use crate::domain::validate::codes;
use crate::domain::{InvalidInput, ProjectName};
use crate::store::admin_events::{self, AdminEventRow};
use crate::store::{admin as store_admin, projects, timestamp_now, write_tx, DbConn};

use super::error::{ServiceError, ServiceResult};
use super::settings::{check_target, check_word};

/// Audit actions (translation keys under `admin_action`).
pub mod actions {
    /// A host group was added.
    pub const GROUP_CREATE: &str = "host_group_create";
    /// A host group was renamed.
    pub const GROUP_UPDATE: &str = "host_group_update";
    /// A host group was deleted with its hosts.
    pub const GROUP_DELETE: &str = "host_group_delete";
    /// A host was added.
    pub const HOST_CREATE: &str = "host_create";
    /// A host was renamed or retargeted.
    pub const HOST_UPDATE: &str = "host_update";
    /// A host was deleted.
    pub const HOST_DELETE: &str = "host_delete";
    /// An ssh host key was added to Slipway's known_hosts.
    pub const HOST_KEY_TRUST: &str = "host_key_trust";
}

fn group_name(name: &str) -> ServiceResult<ProjectName> {
    ProjectName::parse(name.trim()).map_err(|e| ServiceError::from(e.on("name")))
}

fn host_name(name: &str) -> ServiceResult<String> {
    let host = check_word("name", name, 100)?;
    if host.contains('/') {
        return Err(InvalidInput::new("name", codes::SLASH, "must not contain `/`").into());
    }
    Ok(host)
}

fn group_taken(name: &str) -> ServiceError {
    ServiceError::Conflict(
        codes_error::HOST_GROUP_EXISTS,
        format!("host group `{name}` already exists"),
    )
}

fn host_taken<'a>(host: &'a str, group: &'a str) -> impl FnOnce(crate::store::StoreError) -> ServiceError + 'a {
    move |e| {
        if e.is_unique_violation() {
            ServiceError::Conflict(
                codes_error::HOST_EXISTS,
                format!("host `{host}` already exists in `{group}`"),
            )
        } else {
            e.into()
        }
    }
}

/// Records an admin change (inside the caller's transaction).
pub(crate) fn audit(conn: &mut DbConn, actor: i64, action: &str, subject: &str, detail: &str) -> ServiceResult<()> {
    Ok(admin_events::insert(
        conn,
        Some(actor),
        action,
        subject,
        detail,
        timestamp_now(),
    )?)
}

/// Creates a host group; returns its id.
pub fn add_host_group(conn: &mut DbConn, actor: i64, name: &str) -> ServiceResult<i64> {
    let name = group_name(name)?;
    write_tx(conn, |conn| {
        if projects::host_group_by_name(conn, name.as_str())?.is_some() {
            return Err(group_taken(name.as_str()));
        }
        let id = projects::insert_host_group(conn, name.as_str())?;
        audit(conn, actor, actions::GROUP_CREATE, name.as_str(), "")?;
        Ok(id)
    })
}

/// Renames host group `id`.
pub fn rename_host_group(conn: &mut DbConn, actor: i64, id: i64, name: &str) -> ServiceResult<()> {
    let name = group_name(name)?;
    write_tx(conn, |conn| {
        let old = store_admin::host_group_name(conn, id)?.ok_or_else(|| ServiceError::not_found("host group", id))?;
        if old == name.as_str() {
            return Ok(());
        }
        if projects::host_group_by_name(conn, name.as_str())?.is_some() {
            return Err(group_taken(name.as_str()));
        }
        store_admin::rename_host_group(conn, id, name.as_str())?;
        audit(
            conn,
            actor,
            actions::GROUP_UPDATE,
            name.as_str(),
            &format!("renamed from {old}"),
        )
    })
}

/// A host group's relay as an admin (form, API, import) gives it: an
/// empty `target` means none (the other fields are then ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RelayInput {
    /// `[user@]host:/path` over ssh (`""`: no relay).
    pub target: String,
    /// The hosts' ssh port as the relay reaches them (`""`: ssh's default).
    pub port: String,
    /// A private key file on the relay for reaching the hosts (`""`: the relay user's own).
    pub identity: String,
    /// A known_hosts file on the relay (`""`: the relay user's own).
    pub known_hosts: String,
}

/// What the store keeps for a relay: (target, port, identity, known_hosts).
type RelayColumns = (String, Option<i32>, Option<String>, Option<String>);

/// Checks a relay: an ssh target, a port 1–65535, absolute paths on the
/// relay within the deploy layer's character fences (`deploy::Relay::parse`).
pub fn check_relay(input: &RelayInput) -> ServiceResult<Option<RelayColumns>> {
    let target = input.target.trim();
    if target.is_empty() {
        return Ok(None);
    }
    let port = match input.port.trim() {
        "" => None,
        p => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            InvalidInput::new("relay_port", codes::OUT_OF_RANGE, "must be between 1 and 65535")
                .with("min", 1)
                .with("max", 65535)
        })?),
    };
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (identity, known_hosts) = (opt(&input.identity), opt(&input.known_hosts));
    crate::deploy::Relay::parse(target, port, identity.as_deref(), known_hosts.as_deref()).map_err(|e| {
        let field = match &e {
            crate::deploy::DeployError::BadTarget { target: t, .. } if identity.as_deref() == Some(t.as_str()) => {
                "relay_identity"
            }
            crate::deploy::DeployError::BadTarget { target: t, .. } if known_hosts.as_deref() == Some(t.as_str()) => {
                "relay_known_hosts"
            }
            _ => "relay",
        };
        InvalidInput::new(field, codes::TARGET, e.to_string()).with("detail", e)
    })?;
    Ok(Some((target.to_owned(), port.map(i32::from), identity, known_hosts)))
}

/// The relay of a stored group as its admin input (for forms and exports).
pub fn relay_input(group: &crate::store::models::HostGroupRow) -> RelayInput {
    RelayInput {
        target: group.relay.clone().unwrap_or_default(),
        port: group.relay_port.map(|p| p.to_string()).unwrap_or_default(),
        identity: group.relay_identity.clone().unwrap_or_default(),
        known_hosts: group.relay_known_hosts.clone().unwrap_or_default(),
    }
}

/// Sets (or with an empty target clears) the relay of host group `id`,
/// audited as a group change (`relay … → …`).
pub fn set_group_relay(conn: &mut DbConn, actor: i64, id: i64, input: &RelayInput) -> ServiceResult<()> {
    let relay = check_relay(input)?;
    write_tx(conn, |conn| {
        let name = store_admin::host_group_name(conn, id)?.ok_or_else(|| ServiceError::not_found("host group", id))?;
        let old = projects::host_group_by_name(conn, &name)?
            .map(|g| relay_input(&g))
            .unwrap_or_default();
        let new = match &relay {
            Some((t, p, i, k)) => RelayInput {
                target: t.clone(),
                port: p.map(|p| p.to_string()).unwrap_or_default(),
                identity: i.clone().unwrap_or_default(),
                known_hosts: k.clone().unwrap_or_default(),
            },
            None => RelayInput::default(),
        };
        if old == new {
            return Ok(());
        }
        projects::set_group_relay(
            conn,
            id,
            relay
                .as_ref()
                .map(|(t, p, i, k)| (t.as_str(), *p, i.as_deref(), k.as_deref())),
        )?;
        let show = |r: &RelayInput| {
            if r.target.is_empty() {
                "none".to_owned()
            } else {
                let mut s = r.target.clone();
                for (k, v) in [
                    ("port", &r.port),
                    ("identity", &r.identity),
                    ("known_hosts", &r.known_hosts),
                ] {
                    if !v.is_empty() {
                        s.push_str(&format!(" {k}={v}"));
                    }
                }
                s
            }
        };
        audit(
            conn,
            actor,
            actions::GROUP_UPDATE,
            &name,
            &format!("relay {} → {}", show(&old), show(&new)),
        )
    })
}

/// [`set_group_relay`] for the group named `name`.
pub fn set_group_relay_by_name(conn: &mut DbConn, actor: i64, name: &str, input: &RelayInput) -> ServiceResult<()> {
    let group = projects::host_group_by_name(conn, name)?.ok_or_else(|| ServiceError::not_found("host group", name))?;
    set_group_relay(conn, actor, group.id, input)
}

/// Deletes a host group with its hosts.
pub fn delete_host_group(conn: &mut DbConn, actor: i64, id: i64) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        let name = store_admin::host_group_name(conn, id)?.ok_or_else(|| ServiceError::not_found("host group", id))?;
        store_admin::delete_host_group(conn, id)?;
        audit(conn, actor, actions::GROUP_DELETE, &name, "")
    })
}

/// Adds a host to group `group`.
pub fn add_host(conn: &mut DbConn, actor: i64, group: &str, name: &str, target: &str) -> ServiceResult<()> {
    let host = host_name(name)?;
    let target = check_target(target)?;
    write_tx(conn, |conn| {
        let g =
            projects::host_group_by_name(conn, group)?.ok_or_else(|| ServiceError::not_found("host group", group))?;
        projects::insert_host(conn, g.id, &host, &target).map_err(host_taken(&host, group))?;
        audit(conn, actor, actions::HOST_CREATE, &format!("{group}/{host}"), &target)
    })
}

/// Renames or retargets host `id`.
pub fn update_host(conn: &mut DbConn, actor: i64, id: i64, name: &str, target: &str) -> ServiceResult<()> {
    let host = host_name(name)?;
    let target = check_target(target)?;
    write_tx(conn, |conn| {
        let (group, old) =
            store_admin::host_with_group(conn, id)?.ok_or_else(|| ServiceError::not_found("host", id))?;
        if old.name == host && old.target == target {
            return Ok(());
        }
        store_admin::update_host(conn, id, &host, &target).map_err(host_taken(&host, &group))?;
        let mut detail = Vec::new();
        if old.name != host {
            detail.push(format!("renamed from {}", old.name));
        }
        if old.target != target {
            detail.push(format!("target {} → {target}", old.target));
        }
        audit(
            conn,
            actor,
            actions::HOST_UPDATE,
            &format!("{group}/{host}"),
            &detail.join("; "),
        )
    })
}

/// Deletes a host.
pub fn delete_host(conn: &mut DbConn, actor: i64, id: i64) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        let (group, host) =
            store_admin::host_with_group(conn, id)?.ok_or_else(|| ServiceError::not_found("host", id))?;
        store_admin::delete_host(conn, id)?;
        audit(
            conn,
            actor,
            actions::HOST_DELETE,
            &format!("{group}/{}", host.name),
            &host.target,
        )
    })
}

/// Host `id` as (group name, host name, target).
pub fn host(conn: &mut DbConn, id: i64) -> ServiceResult<(String, String, String)> {
    let (group, h) = store_admin::host_with_group(conn, id)?.ok_or_else(|| ServiceError::not_found("host", id))?;
    Ok((group, h.name, h.target))
}

/// The name of host group `id`.
pub fn host_group(conn: &mut DbConn, id: i64) -> ServiceResult<String> {
    store_admin::host_group_name(conn, id)?.ok_or_else(|| ServiceError::not_found("host group", id))
}

/// One page of admin changes, newest first (for admins: the web layer checks).
pub fn admin_events(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    cursor: Option<i64>,
    limit: i64,
) -> ServiceResult<(Vec<AdminEventRow>, bool)> {
    Ok(admin_events::page(conn, actor_id, cursor, limit)?)
}
