//! Batch import of host groups and projects from a TOML file (the CLI's
//! `project import` and the admin page's import box). All or nothing: every
//! problem is reported with its line and column, and nothing is written
//! unless the whole file is good.

use std::fmt;

use serde::Deserialize;
use serde_spanned::Spanned;

use crate::deploy::{DeploySettings, Target};
use crate::domain::{FreezeWindow, InvalidInput, ProjectName, Role, VersionFormat, WeekTime};
use crate::store::models::{FreezeWindowRow, NewProject};
use crate::store::{projects, timestamp_now, users, write_tx, DbConn, StoreError};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportFile {
    #[serde(default)]
    host_group: Vec<HostGroupSpec>,
    #[serde(default)]
    project: Vec<ProjectSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostGroupSpec {
    name: Spanned<String>,
    #[serde(default)]
    hosts: Vec<HostSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostSpec {
    name: Spanned<String>,
    target: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSpec {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    svn_url: Spanned<String>,
    svn_credentials: Option<Spanned<String>>,
    staging_dir: Spanned<String>,
    #[serde(default)]
    staging_url: String,
    #[serde(default)]
    build_command: Vec<String>,
    #[serde(default)]
    host_groups: Vec<Spanned<String>>,
    #[serde(default)]
    excludes: Vec<Spanned<String>>,
    #[serde(default)]
    leads: Vec<Spanned<String>>,
    #[serde(default)]
    developers: Vec<Spanned<String>>,
    #[serde(default)]
    testers: Vec<Spanned<String>>,
    version_format: Option<Spanned<String>>,
    #[serde(default)]
    utc_offset_minutes: i32,
    #[serde(default)]
    approval: ApprovalSpec,
    #[serde(default)]
    freeze: Vec<FreezeSpec>,
    /// Users told about releases, failures and rollbacks (no role needed).
    #[serde(default)]
    watchers: Vec<Spanned<String>>,
    /// Where each transition is posted.
    #[serde(default)]
    webhooks: Vec<WebhookSpec>,
    /// Hours a ticket may wait for approval before its approvers are reminded (default 4).
    reminder_hours: Option<Spanned<u32>>,
    /// `[project.deploy]`: mode, strategy, ssh, hooks, health… (stored as JSON).
    deploy: Option<Spanned<DeploySettings>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSpec {
    url: Spanned<String>,
    #[serde(default)]
    secret: String,
    preset: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalSpec {
    #[serde(default = "one")]
    required: Spanned<u32>,
    #[serde(default)]
    allow_self_approval: bool,
    #[serde(default = "yes")]
    tested_by_may_approve: bool,
    expiry_hours: Option<Spanned<u32>>,
}

impl Default for ApprovalSpec {
    fn default() -> Self {
        Self {
            required: one(),
            allow_self_approval: false,
            tested_by_may_approve: true,
            expiry_hours: None,
        }
    }
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeSpec {
    weekly: Option<WeeklySpec>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    #[serde(default)]
    label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeeklySpec {
    from: Spanned<String>,
    to: Spanned<String>,
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
    windows: Vec<(FreezeWindow, String)>,
}

fn check_target(target: &str) -> Result<(), String> {
    let ok_chars = !target.is_empty() && !target.chars().any(|c| c.is_control() || c.is_whitespace());
    if !ok_chars || target.starts_with('-') {
        return Err(format!(
            "host target `{}` must be non-empty, without spaces, and not start with `-`",
            target.escape_debug()
        ));
    }
    let ssh = target
        .split_once(':')
        .is_some_and(|(host, path)| !host.is_empty() && !host.contains('/') && path.starts_with('/'));
    if target.starts_with('/') || target.starts_with("rsync://") || ssh {
        Target::parse(target).map(drop).map_err(|e| e.to_string())
    } else {
        Err(format!(
            "host target `{target}` must be user@host:/path, rsync://host/module or an absolute local path"
        ))
    }
}

fn check_svn_url(url: &str) -> Result<(), String> {
    crate::domain::svn_url::check(url).map_err(|e| e.to_string())
}

fn check_project<'f>(spec: &'f ProjectSpec, p: &mut Problems<'_>) -> Option<Checked<'f>> {
    let before = p.found.len();
    p.check(
        &spec.name,
        ProjectName::parse(spec.name.get_ref())
            .map(drop)
            .map_err(|e: InvalidInput| format!("project name {}", e.problem)),
    );
    p.check(&spec.svn_url, check_svn_url(spec.svn_url.get_ref()));
    if !spec.staging_dir.get_ref().starts_with('/') {
        p.at(spec.staging_dir.span(), "staging_dir must be an absolute path");
    }
    for exclude in &spec.excludes {
        let e = exclude.get_ref();
        if e.is_empty() || e.starts_with('-') || e.chars().any(char::is_control) {
            p.at(
                exclude.span(),
                format!(
                    "exclude `{}` must be non-empty, not start with `-`, without control characters",
                    e.escape_debug()
                ),
            );
        }
    }
    if let Some(deploy) = &spec.deploy {
        if let Err(e) = deploy.get_ref().validate() {
            p.at(deploy.span(), e.to_string());
        }
    }
    let format = match &spec.version_format {
        Some(f) => VersionFormat::parse(f.get_ref())
            .map_err(|e| p.at(f.span(), e.to_string()))
            .ok(),
        None => Some(VersionFormat::default()),
    };
    let required = *spec.approval.required.get_ref();
    if required == 0 || required > 100 {
        p.at(
            spec.approval.required.span(),
            "approval.required must be between 1 and 100",
        );
    }
    let expiry_minutes = spec.approval.expiry_hours.as_ref().and_then(|h| {
        let hours = *h.get_ref();
        if hours == 0 || hours > 24 * 365 {
            p.at(h.span(), "approval.expiry_hours must be between 1 and 8760");
            None
        } else {
            i32::try_from(hours * 60).ok()
        }
    });
    if !(-14 * 60..=14 * 60).contains(&spec.utc_offset_minutes) {
        p.at(spec.name.span(), "utc_offset_minutes must be between -840 and 840");
    }
    let mut windows = Vec::new();
    for freeze in &spec.freeze {
        match (&freeze.weekly, &freeze.from, &freeze.to) {
            (Some(w), None, None) => {
                let from = w
                    .from
                    .get_ref()
                    .parse::<WeekTime>()
                    .map_err(|e| p.at(w.from.span(), e.to_string()));
                let to =
                    w.to.get_ref()
                        .parse::<WeekTime>()
                        .map_err(|e| p.at(w.to.span(), e.to_string()));
                if let (Ok(from), Ok(to)) = (from, to) {
                    windows.push((FreezeWindow::Weekly { from, to }, freeze.label.clone()));
                }
            }
            (None, Some(from), Some(to)) => {
                let parse = |s: &Spanned<String>, p: &mut Problems<'_>| {
                    chrono::DateTime::parse_from_rfc3339(s.get_ref())
                        .map(|t| t.to_utc())
                        .map_err(|_| {
                            p.at(
                                s.span(),
                                format!(
                                    "`{}` is not an RFC 3339 time like 2026-12-24T00:00:00+08:00",
                                    s.get_ref()
                                ),
                            )
                        })
                };
                if let (Ok(f), Ok(t)) = (parse(from, p), parse(to, p)) {
                    if f >= t {
                        p.at(to.span(), "freeze `to` must be after `from`");
                    } else {
                        windows.push((FreezeWindow::Range { from: f, to: t }, freeze.label.clone()));
                    }
                }
            }
            _ => p.at(
                spec.name.span(),
                "each [[project.freeze]] needs either `weekly = { from, to }` or `from` and `to`",
            ),
        }
    }
    check_notify(spec, p);
    let json = |items: Vec<&str>| serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned());
    if p.found.len() > before {
        return None;
    }
    let now = timestamp_now();
    Some(Checked {
        spec,
        windows,
        row: NewProject {
            name: spec.name.get_ref().clone(),
            description: spec.description.trim().to_owned(),
            svn_url: spec.svn_url.get_ref().clone(),
            svn_credentials: spec.svn_credentials.as_ref().map(|c| c.get_ref().clone()),
            staging_dir: spec.staging_dir.get_ref().clone(),
            staging_url: spec.staging_url.clone(),
            build_command: json(spec.build_command.iter().map(String::as_str).collect()),
            excludes: json(spec.excludes.iter().map(|e| e.get_ref().as_str()).collect()),
            version_format: format.map(|f| f.as_str().to_owned()).unwrap_or_default(),
            approvals_required: i32::try_from(required).unwrap_or(1),
            allow_self_approval: spec.approval.allow_self_approval,
            tested_by_may_approve: spec.approval.tested_by_may_approve,
            approval_expiry_minutes: expiry_minutes,
            utc_offset_minutes: spec.utc_offset_minutes,
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
            p.check(&host.target, check_target(host.target.get_ref()));
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
            summary.host_groups += 1;
            for host in &group.hosts {
                projects::insert_host(conn, id, host.name.get_ref(), host.target.get_ref())?;
                summary.hosts += 1;
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
            Some(user) => crate::store::notify::add_watcher(conn, id, user.id)?,
            None => p.at(
                name.span(),
                format!("no user `{}` (add it with `slipway user add` first)", name.get_ref()),
            ),
        }
    }
    for hook in &spec.webhooks {
        let preset = hook.preset.as_ref().map_or("json", |p| p.get_ref().as_str());
        crate::store::notify::insert_webhook(conn, id, hook.url.get_ref(), &hook.secret, preset, timestamp_now())?;
    }
    if let Some(hours) = &spec.reminder_hours {
        let minutes = i32::try_from(*hours.get_ref() * 60).unwrap_or(i32::MAX);
        crate::store::notify::set_reminder_minutes(conn, id, minutes)?;
    }
    for group in &spec.host_groups {
        match projects::host_group_by_name(conn, group.get_ref())? {
            Some(g) => projects::link_host_group(conn, id, g.id)?,
            None => p.at(group.span(), format!("no host group `{}`", group.get_ref())),
        }
    }
    for (window, label) in &project.windows {
        let row = match window {
            FreezeWindow::Range { from, to } => FreezeWindowRow {
                project_id: id,
                kind: "range".into(),
                starts_at: Some(from.naive_utc()),
                ends_at: Some(to.naive_utc()),
                weekly_from: None,
                weekly_to: None,
                label: label.clone(),
            },
            FreezeWindow::Weekly { from, to } => FreezeWindowRow {
                project_id: id,
                kind: "weekly".into(),
                starts_at: None,
                ends_at: None,
                weekly_from: i32::try_from(from.minutes()).ok(),
                weekly_to: i32::try_from(to.minutes()).ok(),
                label: label.clone(),
            },
        };
        projects::add_freeze_window(conn, &row)?;
    }
    Ok(())
}
