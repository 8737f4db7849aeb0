//! What admins change besides tickets: user flags, projects (settings,
//! members, approval policy, freeze windows, host groups; host groups and
//! hosts themselves are in [`super::host_admin`]); and what every user changes about themselves (language, personal
//! API tokens). Each call validates all input first and writes in one
//! transaction.

use super::error::codes as codes_error;
use crate::domain::validate::codes;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::domain::{InvalidInput, Role};
use crate::store::admin::{self as store_admin, ProjectChanges};
use crate::store::models::{FreezeWindowRow, NewProject};
use crate::store::{listing, projects, timestamp_now, tokens, users, write_tx, DbConn};

use super::error::{ServiceError, ServiceResult};
use super::settings::validate;
pub use super::settings::{check_target, FreezeSetting, ProjectSettings};

fn invalid(field: &'static str, code: &'static str, problem: impl Into<String>) -> ServiceError {
    InvalidInput::new(field, code, problem).into()
}

/// Checks free text: at most `max` characters, no control characters
/// (newlines allowed when `multiline`).
pub fn check_text(field: &'static str, value: &str, max: usize, multiline: bool) -> ServiceResult<String> {
    Ok(super::settings::check_text(field, value, max, multiline)?)
}

struct Checked {
    name: String,
    changes: ProjectChanges,
    members: Vec<(i64, Role)>,
    groups: Vec<i64>,
    windows: Vec<FreezeWindowRow>,
}

/// Checks `s` with the one settings check ([`validate`]; the first problem
/// is the answer) and resolves user and host group names.
fn check_settings(conn: &mut DbConn, s: &ProjectSettings, now: chrono::NaiveDateTime) -> ServiceResult<Checked> {
    let valid = validate(s, now).map_err(|problems| match problems.into_iter().next() {
        Some(p) => ServiceError::from(p.error),
        None => invalid("name", codes::SETTINGS, "invalid settings"),
    })?;
    let mut members = Vec::new();
    for (field, role, user) in &valid.members {
        let id = listing::user_id(conn, user.as_str())?.ok_or_else(|| {
            ServiceError::from(InvalidInput::new(field, codes::NO_USER, format!("no user `{user}`")).with("name", user))
        })?;
        if !members.contains(&(id, *role)) {
            members.push((id, *role));
        }
    }
    let mut groups = Vec::new();
    for g in &valid.host_groups {
        let row = projects::host_group_by_name(conn, g)?.ok_or_else(|| {
            ServiceError::from(
                InvalidInput::new("host_groups", codes::NO_HOST_GROUP, format!("no host group `{g}`")).with("name", g),
            )
        })?;
        if !groups.contains(&row.id) {
            groups.push(row.id);
        }
    }
    Ok(Checked {
        name: valid.name.into_string(),
        changes: valid.changes,
        members,
        groups,
        windows: valid.windows,
    })
}

fn write_links(conn: &mut DbConn, project_id: i64, checked: &Checked) -> ServiceResult<()> {
    store_admin::clear_project_links(conn, project_id)?;
    for (user, role) in &checked.members {
        projects::add_member(conn, project_id, *user, role.as_str())?;
    }
    for group in &checked.groups {
        projects::link_host_group(conn, project_id, *group)?;
    }
    for window in &checked.windows {
        projects::add_freeze_window(
            conn,
            &FreezeWindowRow {
                project_id,
                ..window.clone()
            },
        )?;
    }
    Ok(())
}

/// Creates a project; returns its id.
pub fn create_project(conn: &mut DbConn, settings: &ProjectSettings) -> ServiceResult<i64> {
    write_tx(conn, |conn| {
        let now = timestamp_now();
        let c = check_settings(conn, settings, now)?;
        if projects::by_name(conn, &c.name)?.is_some() {
            return Err(ServiceError::Conflict(
                codes_error::PROJECT_EXISTS,
                format!("project `{}` already exists", c.name),
            ));
        }
        let ch = &c.changes;
        let id = projects::insert(
            conn,
            &NewProject {
                name: c.name.clone(),
                description: ch.description.clone(),
                svn_url: ch.svn_url.clone(),
                svn_credentials: ch.svn_credentials.clone(),
                staging_dir: ch.staging_dir.clone(),
                staging_url: ch.staging_url.clone(),
                build_command: ch.build_command.clone(),
                excludes: ch.excludes.clone(),
                version_format: ch.version_format.clone(),
                approvals_required: ch.approvals_required,
                allow_self_approval: ch.allow_self_approval,
                tested_by_may_approve: ch.tested_by_may_approve,
                require_outside_paths_confirmation: ch.require_outside_paths_confirmation,
                services: ch.services.clone(),
                service_actions: ch.service_actions.clone(),
                verify_cron: ch.verify_cron.clone(),
                approval_expiry_minutes: ch.approval_expiry_minutes,
                time_zone: ch.time_zone.clone(),
                maintenance_windows: ch.maintenance_windows.clone(),
                created_at: now,
                updated_at: now,
            },
        )?;
        write_links(conn, id, &c)?;
        Ok(id)
    })
}

/// Replaces the settings, members, host groups and freeze windows of project `name`.
pub fn update_project(conn: &mut DbConn, name: &str, settings: &ProjectSettings) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        let project = projects::by_name(conn, name)?.ok_or_else(|| ServiceError::not_found("project", name))?;
        let c = check_settings(conn, settings, timestamp_now())?;
        if c.name != project.name {
            return Err(invalid("name", codes::NO_RENAME, "a project cannot be renamed"));
        }
        store_admin::update_project(conn, project.id, &c.changes)?;
        write_links(conn, project.id, &c)
    })
}

/// Deletes project `name`; refused (409) once it has tickets.
pub fn delete_project(conn: &mut DbConn, name: &str) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        let project = projects::by_name(conn, name)?.ok_or_else(|| ServiceError::not_found("project", name))?;
        let n = store_admin::ticket_count(conn, project.id)?;
        if n > 0 {
            return Err(ServiceError::Conflict(
                codes_error::PROJECT_HAS_HISTORY,
                format!("project `{name}` has {n} tickets; a project with history cannot be deleted"),
            ));
        }
        store_admin::delete_project(conn, project.id)?;
        Ok(())
    })
}

/// Grants or removes admin rights; an admin cannot demote themselves.
pub fn set_admin(conn: &mut DbConn, acting_user: i64, username: &str, is_admin: bool) -> ServiceResult<()> {
    let user = users::by_username(conn, username)?.ok_or_else(|| ServiceError::not_found("user", username))?;
    if user.id == acting_user && !is_admin {
        return Err(ServiceError::Conflict(
            codes_error::OWN_ADMIN,
            "you cannot remove your own admin rights".into(),
        ));
    }
    store_admin::set_admin(conn, username, is_admin)?;
    Ok(())
}

/// Disables or enables an account; an admin cannot disable themselves.
pub fn set_disabled(conn: &mut DbConn, acting_user: i64, username: &str, disabled: bool) -> ServiceResult<()> {
    let user = users::by_username(conn, username)?.ok_or_else(|| ServiceError::not_found("user", username))?;
    if user.id == acting_user && disabled {
        return Err(ServiceError::Conflict(
            codes_error::OWN_ACCOUNT,
            "you cannot disable your own account".into(),
        ));
    }
    users::set_disabled(conn, username, disabled)?;
    Ok(())
}

/// The languages Slipway speaks.
pub const LOCALES: [&str; 2] = ["en", "zh-CN"];

/// Sets a user's language.
pub fn set_locale(conn: &mut DbConn, user_id: i64, locale: &str) -> ServiceResult<()> {
    if !LOCALES.contains(&locale) {
        return Err(invalid("locale", codes::LOCALE, "must be en or zh-CN"));
    }
    store_admin::set_locale(conn, user_id, locale)?;
    Ok(())
}

/// hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Random bytes as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a personal API token named `name`; returns (id, token). The token
/// is shown once: only its hash is stored.
pub fn create_token(conn: &mut DbConn, user_id: i64, name: &str) -> ServiceResult<(i64, String)> {
    let name = check_text("name", name, 100, false)?;
    if name.is_empty() {
        return Err(invalid("name", codes::EMPTY, "must not be empty"));
    }
    let token = format!("slp_{}", random_hex(24));
    let id = tokens::insert(conn, user_id, &name, &token_hash(&token), timestamp_now())?;
    Ok((id, token))
}

/// Deletes one of the user's tokens.
pub fn revoke_token(conn: &mut DbConn, user_id: i64, id: i64) -> ServiceResult<()> {
    if !tokens::delete(conn, user_id, id)? {
        return Err(ServiceError::not_found("token", id));
    }
    Ok(())
}
