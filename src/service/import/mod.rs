//! Batch import of host groups and projects from a TOML file (the CLI's
//! `project import` and the admin page's import box). All or nothing: every
//! problem is reported with its line and column, and nothing is written
//! unless the whole file is good.

use std::fmt;

use serde_spanned::Spanned;

use crate::domain::{ProjectName, Role};
use crate::store::models::{FreezeWindowRow, NewProject};
use crate::store::{admin_events, projects, timestamp_now, users, write_tx, DbConn, StoreError};

use super::host_admin::actions as host_actions;

mod map;
mod spec;

use map::{as_settings, locate};
use spec::{ImportFile, ProjectSpec};

use super::settings;

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has problems; nothing was written.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<ImportProblem>),
    /// The database failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Store(StoreError::Query(e))
    }
}

/// What was imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Host groups created.
    pub host_groups: usize,
    /// Hosts created.
    pub hosts: usize,
    /// Projects created.
    pub projects: usize,
}

/// Collects problems against the source text.
struct Problems<'a> {
    source: &'a str,
    found: Vec<ImportProblem>,
}

impl<'a> Problems<'a> {
    fn at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let before = &self.source[..span.start.min(self.source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.found.push(ImportProblem {
            line,
            column,
            message: message.into(),
        });
    }

    fn check<T>(&mut self, value: &Spanned<T>, result: Result<(), String>) {
        if let Err(message) = result {
            self.at(value.span(), message);
        }
    }
}

/// A project checked against the file's rules, ready to insert.
struct Checked<'f> {
    spec: &'f ProjectSpec,
    row: NewProject,
    windows: Vec<FreezeWindowRow>,
}

fn check_project<'f>(spec: &'f ProjectSpec, p: &mut Problems<'_>) -> Option<Checked<'f>> {
    let before = p.found.len();
    let valid = settings::validate(&as_settings(spec), timestamp_now())
        .map_err(|problems| {
            for problem in &problems {
                let (span, key) = locate(spec, problem);
                p.at(span, format!("{key} {}", problem.error.problem));
            }
        })
        .ok();
    if let Some(deploy) = &spec.deploy {
        if let Err(e) = deploy.get_ref().validate() {
            p.at(deploy.span(), e.to_string());
        }
    }
    check_notify(spec, p);
    let valid = valid?;
    if p.found.len() > before {
        return None;
    }
    let now = valid.changes.updated_at;
    let c = valid.changes;
    Some(Checked {
        spec,
        windows: valid.windows,
        row: NewProject {
            name: valid.name.into_string(),
            description: c.description,
            svn_url: c.svn_url,
            svn_credentials: c.svn_credentials,
            staging_dir: c.staging_dir,
            staging_url: c.staging_url,
            build_command: c.build_command,
            excludes: c.excludes,
            version_format: c.version_format,
            approvals_required: c.approvals_required,
            allow_self_approval: c.allow_self_approval,
            tested_by_may_approve: c.tested_by_may_approve,
            require_outside_paths_confirmation: c.require_outside_paths_confirmation,
            services: c.services,
            service_actions: c.service_actions,
            verify_cron: c.verify_cron,
            approval_expiry_minutes: c.approval_expiry_minutes,
            time_zone: c.time_zone,
            maintenance_windows: c.maintenance_windows,
            created_at: now,
            updated_at: now,
        },
    })
}

/// Checks watchers, webhooks and the reminder interval.
fn check_notify(spec: &ProjectSpec, p: &mut Problems<'_>) {
    let mut seen = std::collections::BTreeSet::new();
    for watcher in &spec.watchers {
        if !seen.insert(watcher.get_ref().as_str()) {
            p.at(
                watcher.span(),
                format!("`{}` is listed twice as watcher", watcher.get_ref()),
            );
        }
    }
    for hook in &spec.webhooks {
        if let Err(e) = crate::notify::webhook::check_url(hook.url.get_ref()) {
            p.at(hook.url.span(), format!("webhook url: {e}"));
        }
        if let Some(language) = &hook.language {
            if crate::notify::chat::Lang::parse(language.get_ref()).is_none() {
                p.at(language.span(), "webhook language must be `en` or `zh-CN`");
            }
        }
        if let Some(preset) = &hook.preset {
            if !crate::notify::webhook::PRESETS.contains(&preset.get_ref().as_str()) {
                p.at(
                    preset.span(),
                    format!(
                        "webhook preset must be one of {}",
                        crate::notify::webhook::PRESETS.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(hours) = &spec.reminder_hours {
        if !(1..=720).contains(hours.get_ref()) {
            p.at(hours.span(), "reminder_hours must be between 1 and 720");
        }
    }
}

/// Parses and checks `source` (no database access): the problems, if any.
fn parse(source: &str) -> Result<ImportFile, ImportError> {
    toml::from_str::<ImportFile>(source).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| {
                let mut p = Problems {
                    source,
                    found: Vec::new(),
                };
                p.at(span, "");
                (p.found[0].line, p.found[0].column)
            })
            .unwrap_or((1, 1));
        ImportError::Problems(vec![ImportProblem {
            line,
            column,
            message: e.message().to_owned(),
        }])
    })
}

/// Imports `source` (the TOML text) in one transaction.
pub fn import(conn: &mut DbConn, source: &str) -> Result<ImportSummary, ImportError> {
    import_by(conn, source, None)
}

/// Like [`import`]; when an admin (`actor`) imports from the admin pages,
/// the host groups and hosts it creates are recorded in the admin audit
/// like those created one by one there (issue 12).
pub fn import_by(conn: &mut DbConn, source: &str, actor: Option<i64>) -> Result<ImportSummary, ImportError> {
    let file = parse(source)?;
    let mut p = Problems {
        source,
        found: Vec::new(),
    };
    let mut group_names = std::collections::BTreeSet::new();
    for group in &file.host_group {
        p.check(
            &group.name,
            ProjectName::parse(group.name.get_ref())
                .map(drop)
                .map_err(|e| format!("host group name {}", e.problem)),
        );
        if !group_names.insert(group.name.get_ref().clone()) {
            p.at(
                group.name.span(),
                format!("host group `{}` is defined twice in this file", group.name.get_ref()),
            );
        }
        if let Some(relay) = &group.relay {
            if let Err(e) = crate::service::host_admin::check_relay(&group.relay_input()) {
                p.at(
                    relay.span(),
                    format!("host group `{}` relay: {e}", group.name.get_ref()),
                );
            }
        } else if group.relay_port.is_some() || group.relay_identity.is_some() || group.relay_known_hosts.is_some() {
            p.at(
                group.name.span(),
                format!("host group `{}`: relay_* settings need a relay", group.name.get_ref()),
            );
        }
        let mut host_names = std::collections::BTreeSet::new();
        for host in &group.hosts {
            p.check(
                &host.name,
                ProjectName::parse(host.name.get_ref())
                    .map(drop)
                    .map_err(|e| format!("host name {}", e.problem)),
            );
            if !host_names.insert(host.name.get_ref().clone()) {
                p.at(
                    host.name.span(),
                    format!(
                        "host `{}` is listed twice in group `{}`",
                        host.name.get_ref(),
                        group.name.get_ref()
                    ),
                );
            }
            p.check(
                &host.target,
                settings::check_target(host.target.get_ref())
                    .map(drop)
                    .map_err(|e| format!("host target `{}` {}", host.target.get_ref().escape_debug(), e.problem)),
            );
        }
    }
    let mut project_names = std::collections::BTreeSet::new();
    let checked: Vec<Checked<'_>> = file
        .project
        .iter()
        .filter_map(|spec| {
            if !project_names.insert(spec.name.get_ref().clone()) {
                p.at(
                    spec.name.span(),
                    format!("project `{}` is defined twice in this file", spec.name.get_ref()),
                );
            }
            check_project(spec, &mut p)
        })
        .collect();
    if !p.found.is_empty() {
        return Err(ImportError::Problems(p.found));
    }
    write_tx(conn, |conn| {
        let mut summary = ImportSummary::default();
        for group in &file.host_group {
            if projects::host_group_by_name(conn, group.name.get_ref())?.is_some() {
                p.at(
                    group.name.span(),
                    format!("host group `{}` already exists", group.name.get_ref()),
                );
                continue;
            }
            let id = projects::insert_host_group(conn, group.name.get_ref())?;
            if let Ok(Some((t, port, i, k))) = crate::service::host_admin::check_relay(&group.relay_input()) {
                projects::set_group_relay(conn, id, Some((&t, port, i.as_deref(), k.as_deref())))?;
            }
            summary.host_groups += 1;
            let audit = |conn: &mut DbConn, action: &str, subject: &str, detail: &str| match actor {
                Some(actor) => admin_events::insert(conn, Some(actor), action, subject, detail, timestamp_now()),
                None => Ok(()),
            };
            audit(conn, host_actions::GROUP_CREATE, group.name.get_ref(), "")?;
            for host in &group.hosts {
                projects::insert_host(conn, id, host.name.get_ref(), host.target.get_ref())?;
                summary.hosts += 1;
                audit(
                    conn,
                    host_actions::HOST_CREATE,
                    &format!("{}/{}", group.name.get_ref(), host.name.get_ref()),
                    host.target.get_ref(),
                )?;
            }
        }
        for project in &checked {
            insert_project(conn, project, &mut p)?;
            summary.projects += 1;
        }
        if p.found.is_empty() {
            Ok(summary)
        } else {
            // Returning an error rolls the transaction back: all or nothing.
            Err(ImportError::Problems(std::mem::take(&mut p.found)))
        }
    })
}

fn insert_project(conn: &mut DbConn, project: &Checked<'_>, p: &mut Problems<'_>) -> Result<(), ImportError> {
    let spec = project.spec;
    if projects::by_name(conn, spec.name.get_ref())?.is_some() {
        p.at(
            spec.name.span(),
            format!("project `{}` already exists", spec.name.get_ref()),
        );
        return Ok(());
    }
    let id = projects::insert(conn, &project.row)?;
    if let Some(deploy) = &spec.deploy {
        let json = serde_json::to_string(deploy.get_ref()).unwrap_or_else(|_| "{}".to_owned());
        projects::set_deploy(conn, id, &json)?;
    }
    for (role, names) in [
        (Role::Lead, &spec.leads),
        (Role::Developer, &spec.developers),
        (Role::Tester, &spec.testers),
    ] {
        for name in names {
            match users::by_username(conn, name.get_ref())? {
                Some(user) => projects::add_member(conn, id, user.id, role.as_str()).or_else(|e| {
                    if e.is_unique_violation() {
                        p.at(name.span(), format!("`{}` is listed twice as {role}", name.get_ref()));
                        Ok(())
                    } else {
                        Err(e)
                    }
                })?,
                None => p.at(
                    name.span(),
                    format!("no user `{}` (add it with `slipway user add` first)", name.get_ref()),
                ),
            }
        }
    }
    for name in &spec.watchers {
        match users::by_username(conn, name.get_ref())? {
            Some(user) => crate::store::subscriptions::add_watcher(conn, id, user.id)?,
            None => p.at(
                name.span(),
                format!("no user `{}` (add it with `slipway user add` first)", name.get_ref()),
            ),
        }
    }
    for hook in &spec.webhooks {
        let preset = hook.preset.as_ref().map_or("json", |p| p.get_ref().as_str());
        crate::store::subscriptions::insert_webhook(
            conn,
            id,
            hook.url.get_ref(),
            &hook.secret,
            preset,
            hook.language.as_ref().map_or("en", |l| l.get_ref().as_str()),
            timestamp_now(),
        )?;
    }
    if let Some(hours) = &spec.reminder_hours {
        let minutes = i32::try_from(*hours.get_ref() * 60).unwrap_or(i32::MAX);
        crate::store::subscriptions::set_reminder_minutes(conn, id, minutes)?;
    }
    for group in &spec.host_groups {
        match projects::host_group_by_name(conn, group.get_ref())? {
            Some(g) => projects::link_host_group(conn, id, g.id)?,
            None => p.at(group.span(), format!("no host group `{}`", group.get_ref())),
        }
    }
    for window in &project.windows {
        projects::add_freeze_window(
            conn,
            &FreezeWindowRow {
                project_id: id,
                ..window.clone()
            },
        )?;
    }
    Ok(())
}
