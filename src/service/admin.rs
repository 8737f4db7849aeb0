//! What admins change besides tickets: user flags, projects (settings,
//! members, approval policy, freeze windows, host groups), host groups and
//! hosts; and what every user changes about themselves (language, personal
//! API tokens). Each call validates all input first and writes in one
//! transaction.

use chrono::{DateTime, NaiveDateTime};
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::domain::{InvalidInput, ProjectName, Role, Username, VersionFormat, WeekTime};
use crate::store::admin::{self as store_admin, ProjectChanges};
use crate::store::models::{FreezeWindowRow, NewProject};
use crate::store::{listing, projects, timestamp_now, tokens, users, write_tx, DbConn};

use super::error::{ServiceError, ServiceResult};

/// A project's settings as the admin form and `POST/PUT /api/v1/projects` give them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// a-z, 0-9, `-`; cannot be changed later.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// file:///, svn://, svn+ssh://, http:// or https:// URL.
    pub svn_url: String,
    /// Name of a credentials entry in the config (never the secret).
    #[serde(default)]
    pub svn_credentials: Option<String>,
    /// Absolute path of the staging working copy.
    pub staging_dir: String,
    /// Where testers open the staged build.
    #[serde(default)]
    pub staging_url: String,
    /// Build command as an argument vector (empty: no build).
    #[serde(default)]
    pub build_command: Vec<String>,
    /// rsync exclude patterns never overwritten on hosts.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Tag format, e.g. `v{n}`.
    #[serde(default = "default_version_format")]
    pub version_format: String,
    /// Distinct lead approvals needed (1–20).
    #[serde(default = "one")]
    pub approvals_required: u32,
    /// Whether a lead may approve their own ticket.
    #[serde(default)]
    pub allow_self_approval: bool,
    /// Whether whoever marked it tested may approve.
    #[serde(default = "yes")]
    pub tested_by_may_approve: bool,
    /// Approvals expire after this many hours.
    #[serde(default)]
    pub approval_expiry_hours: Option<u32>,
    /// Project local time minus UTC in minutes.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Lead user names.
    #[serde(default)]
    pub leads: Vec<String>,
    /// Developer user names.
    #[serde(default)]
    pub developers: Vec<String>,
    /// Tester user names.
    #[serde(default)]
    pub testers: Vec<String>,
    /// Host group names the project ships to.
    #[serde(default)]
    pub host_groups: Vec<String>,
    /// Freeze windows.
    #[serde(default)]
    pub freeze: Vec<FreezeSetting>,
}

/// A freeze window: either weekly (`weekly_from`/`weekly_to` like `Fri 18:00`)
/// or a date range (`from`/`to` in RFC 3339).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSetting {
    /// Weekly start, e.g. `Fri 18:00` (project local time).
    #[serde(default)]
    pub weekly_from: Option<String>,
    /// Weekly end, e.g. `Mon 09:00`.
    #[serde(default)]
    pub weekly_to: Option<String>,
    /// Range start, RFC 3339.
    #[serde(default)]
    pub from: Option<String>,
    /// Range end, RFC 3339.
    #[serde(default)]
    pub to: Option<String>,
    /// Label shown to users.
    #[serde(default)]
    pub label: String,
}

fn default_version_format() -> String {
    "v{n}".to_owned()
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ServiceError {
    InvalidInput::new(field, problem).into()
}

/// Checks free text: at most `max` characters, no control characters
/// (newlines allowed when `multiline`).
pub fn check_text(field: &'static str, value: &str, max: usize, multiline: bool) -> ServiceResult<String> {
    if value.chars().count() > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(value.trim().to_owned())
}

fn check_word(field: &'static str, value: &str, max: usize) -> ServiceResult<String> {
    let value = check_text(field, value, max, false)?;
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.starts_with('-') {
        return Err(invalid(field, "must not start with `-`"));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(invalid(field, "must not contain spaces"));
    }
    Ok(value)
}

/// Checks a host target: `user@host:/path`, `rsync://host/module` or an
/// absolute local path; no spaces, no leading `-`, no `..`.
pub fn check_target(value: &str) -> ServiceResult<String> {
    let value = check_word("target", value, 500)?;
    if value.split('/').any(|p| p == "..") {
        return Err(invalid("target", "must not contain `..`"));
    }
    let ok = value.starts_with('/') || value.starts_with("rsync://") || value.contains(":/");
    if !ok {
        return Err(invalid(
            "target",
            "must be user@host:/path, rsync://host/module or an absolute path",
        ));
    }
    Ok(value)
}

struct Checked {
    name: String,
    changes: ProjectChanges,
    members: Vec<(i64, Role)>,
    groups: Vec<i64>,
    windows: Vec<FreezeWindowRow>,
}

fn check_settings(conn: &mut DbConn, s: &ProjectSettings, now: NaiveDateTime) -> ServiceResult<Checked> {
    let name = ProjectName::parse(&s.name)?.into_string();
    let description = check_text("description", &s.description, 1000, true)?;
    if crate::domain::svn_url::has_password(&s.svn_url) {
        // Checked first: the other messages would echo the URL.
        return Err(invalid(
            "svn_url",
            crate::domain::svn_url::SvnUrlError::Password.to_string(),
        ));
    }
    let svn_url = check_word("svn_url", &s.svn_url, 1000)?;
    crate::domain::svn_url::check(&svn_url).map_err(|e| invalid("svn_url", e.to_string()))?;
    let svn_credentials = match s.svn_credentials.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(check_word("svn_credentials", c, 100)?),
    };
    let staging_dir = check_word("staging_dir", &s.staging_dir, 1000)?;
    if !staging_dir.starts_with('/') || staging_dir.split('/').any(|p| p == "..") {
        return Err(invalid("staging_dir", "must be an absolute path without `..`"));
    }
    let staging_url = check_text("staging_url", &s.staging_url, 1000, false)?;
    if !(staging_url.is_empty() || staging_url.starts_with("http://") || staging_url.starts_with("https://")) {
        return Err(invalid("staging_url", "must be an http:// or https:// URL"));
    }
    if s.build_command.len() > 100 {
        return Err(invalid("build_command", "at most 100 arguments"));
    }
    for (i, arg) in s.build_command.iter().enumerate() {
        check_text("build_command", arg, 1000, false)?;
        if i == 0 && (arg.trim().is_empty() || arg.starts_with('-')) {
            return Err(invalid(
                "build_command",
                "the program must be named and not start with `-`",
            ));
        }
    }
    if s.excludes.len() > 200 {
        return Err(invalid("excludes", "at most 200 patterns"));
    }
    let excludes = s
        .excludes
        .iter()
        .map(|e| check_word("excludes", e, 500))
        .collect::<ServiceResult<Vec<_>>>()?;
    let version_format = VersionFormat::parse(s.version_format.trim())
        .map_err(|e| invalid("version_format", e.to_string()))?
        .as_str()
        .to_owned();
    if !(1..=20).contains(&s.approvals_required) {
        return Err(invalid("approvals_required", "must be between 1 and 20"));
    }
    if s.approval_expiry_hours.is_some_and(|h| !(1..=8760).contains(&h)) {
        return Err(invalid("approval_expiry_hours", "must be between 1 and 8760 hours"));
    }
    if !(-840..=840).contains(&s.utc_offset_minutes) {
        return Err(invalid("utc_offset_minutes", "must be between -840 and 840"));
    }
    let mut members = Vec::new();
    for (field, role, names) in [
        ("leads", Role::Lead, &s.leads),
        ("developers", Role::Developer, &s.developers),
        ("testers", Role::Tester, &s.testers),
    ] {
        for n in names {
            let user = Username::parse(n.trim()).map_err(|e| invalid(field, e.problem))?;
            let id =
                listing::user_id(conn, user.as_str())?.ok_or_else(|| invalid(field, format!("no user `{user}`")))?;
            if !members.contains(&(id, role)) {
                members.push((id, role));
            }
        }
    }
    let mut groups = Vec::new();
    for g in &s.host_groups {
        let g = check_word("host_groups", g, 100)?;
        let row = projects::host_group_by_name(conn, &g)?
            .ok_or_else(|| invalid("host_groups", format!("no host group `{g}`")))?;
        if !groups.contains(&row.id) {
            groups.push(row.id);
        }
    }
    let mut windows = Vec::new();
    for f in &s.freeze {
        let label = check_text("freeze", &f.label, 100, false)?;
        let row = match (&f.weekly_from, &f.weekly_to, &f.from, &f.to) {
            (Some(a), Some(b), None, None) => {
                let a: WeekTime = a
                    .parse()
                    .map_err(|e: crate::domain::freeze::BadWeekTime| invalid("freeze", e.to_string()))?;
                let b: WeekTime = b
                    .parse()
                    .map_err(|e: crate::domain::freeze::BadWeekTime| invalid("freeze", e.to_string()))?;
                FreezeWindowRow {
                    project_id: 0,
                    kind: "weekly".into(),
                    starts_at: None,
                    ends_at: None,
                    weekly_from: Some(a.minutes() as i32),
                    weekly_to: Some(b.minutes() as i32),
                    label,
                }
            }
            (None, None, Some(a), Some(b)) => {
                let parse = |t: &str| {
                    DateTime::parse_from_rfc3339(t.trim())
                        .map(|d| d.naive_utc())
                        .map_err(|_| invalid("freeze", format!("`{}` is not an RFC 3339 time", t.escape_debug())))
                };
                let (a, b) = (parse(a)?, parse(b)?);
                if b <= a {
                    return Err(invalid("freeze", "a freeze window must end after it starts"));
                }
                FreezeWindowRow {
                    project_id: 0,
                    kind: "range".into(),
                    starts_at: Some(a),
                    ends_at: Some(b),
                    weekly_from: None,
                    weekly_to: None,
                    label,
                }
            }
            _ => {
                return Err(invalid(
                    "freeze",
                    "give either weekly_from and weekly_to, or from and to",
                ))
            }
        };
        windows.push(row);
    }
    Ok(Checked {
        name,
        changes: ProjectChanges {
            description,
            svn_url,
            svn_credentials,
            staging_dir,
            staging_url,
            build_command: serde_json::to_string(&s.build_command).unwrap_or_else(|_| "[]".into()),
            excludes: serde_json::to_string(&excludes).unwrap_or_else(|_| "[]".into()),
            version_format,
            approvals_required: s.approvals_required as i32,
            allow_self_approval: s.allow_self_approval,
            tested_by_may_approve: s.tested_by_may_approve,
            approval_expiry_minutes: s.approval_expiry_hours.map(|h| h as i32 * 60),
            utc_offset_minutes: s.utc_offset_minutes,
            updated_at: now,
        },
        members,
        groups,
        windows,
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
            return Err(ServiceError::Conflict(format!("project `{}` already exists", c.name)));
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
                approval_expiry_minutes: ch.approval_expiry_minutes,
                utc_offset_minutes: ch.utc_offset_minutes,
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
            return Err(invalid("name", "a project cannot be renamed"));
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
            return Err(ServiceError::Conflict(format!(
                "project `{name}` has {n} tickets; a project with history cannot be deleted"
            )));
        }
        store_admin::delete_project(conn, project.id)?;
        Ok(())
    })
}

/// Creates a host group; returns its id.
pub fn add_host_group(conn: &mut DbConn, name: &str) -> ServiceResult<i64> {
    let name = ProjectName::parse(name.trim()).map_err(|e| invalid("name", e.problem))?;
    write_tx(conn, |conn| {
        if projects::host_group_by_name(conn, name.as_str())?.is_some() {
            return Err(ServiceError::Conflict(format!("host group `{name}` already exists")));
        }
        Ok(projects::insert_host_group(conn, name.as_str())?)
    })
}

/// Deletes a host group with its hosts.
pub fn delete_host_group(conn: &mut DbConn, id: i64) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        if !store_admin::delete_host_group(conn, id)? {
            return Err(ServiceError::not_found("host group", id));
        }
        Ok(())
    })
}

/// Adds a host to group `group`.
pub fn add_host(conn: &mut DbConn, group: &str, name: &str, target: &str) -> ServiceResult<()> {
    let host = check_word("name", name, 100)?;
    if host.contains('/') {
        return Err(invalid("name", "must not contain `/`"));
    }
    let target = check_target(target)?;
    write_tx(conn, |conn| {
        let g =
            projects::host_group_by_name(conn, group)?.ok_or_else(|| ServiceError::not_found("host group", group))?;
        projects::insert_host(conn, g.id, &host, &target).map_err(|e| {
            if e.is_unique_violation() {
                ServiceError::Conflict(format!("host `{host}` already exists in `{group}`"))
            } else {
                e.into()
            }
        })
    })
}

/// Deletes a host.
pub fn delete_host(conn: &mut DbConn, id: i64) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        if !store_admin::delete_host(conn, id)? {
            return Err(ServiceError::not_found("host", id));
        }
        Ok(())
    })
}

/// Grants or removes admin rights; an admin cannot demote themselves.
pub fn set_admin(conn: &mut DbConn, acting_user: i64, username: &str, is_admin: bool) -> ServiceResult<()> {
    let user = users::by_username(conn, username)?.ok_or_else(|| ServiceError::not_found("user", username))?;
    if user.id == acting_user && !is_admin {
        return Err(ServiceError::Conflict("you cannot remove your own admin rights".into()));
    }
    store_admin::set_admin(conn, username, is_admin)?;
    Ok(())
}

/// Disables or enables an account; an admin cannot disable themselves.
pub fn set_disabled(conn: &mut DbConn, acting_user: i64, username: &str, disabled: bool) -> ServiceResult<()> {
    let user = users::by_username(conn, username)?.ok_or_else(|| ServiceError::not_found("user", username))?;
    if user.id == acting_user && disabled {
        return Err(ServiceError::Conflict("you cannot disable your own account".into()));
    }
    users::set_disabled(conn, username, disabled)?;
    Ok(())
}

/// The languages Slipway speaks.
pub const LOCALES: [&str; 2] = ["en", "zh-CN"];

/// Sets a user's language.
pub fn set_locale(conn: &mut DbConn, user_id: i64, locale: &str) -> ServiceResult<()> {
    if !LOCALES.contains(&locale) {
        return Err(invalid("locale", "must be en or zh-CN"));
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
        return Err(invalid("name", "must not be empty"));
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
