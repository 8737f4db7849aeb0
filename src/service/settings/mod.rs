//! The one check of a project's settings, whichever way they arrive: the
//! import file (`service::import`), the admin form and `POST/PUT
//! /api/v1/projects` (`service::admin`). Every entry point converts its
//! input to [`ProjectSettings`] and calls [`validate`], so the limits (e.g.
//! 1–20 approvals, no `..` in `staging_dir`) are the same everywhere.
//!
//! [`validate`] needs no database: it reports every problem it finds (the
//! import file shows them all with their lines; the form and the API show
//! the first). Names of users and host groups are resolved by the caller.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

use crate::domain::validate::codes;
use crate::domain::{InvalidInput, ProjectName, Role, Username, VersionFormat, WeekTime};
use crate::store::admin::ProjectChanges;
use crate::store::models::FreezeWindowRow;

/// Most distinct lead approvals a project may require.
pub const MAX_APPROVALS: u32 = 20;
/// Longest approval expiry, in hours (a year).
pub const MAX_EXPIRY_HOURS: u32 = 24 * 365;
/// Most build-command arguments.
pub const MAX_BUILD_ARGS: usize = 100;
/// Most exclude patterns.
pub const MAX_EXCLUDES: usize = 200;

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
    /// A tester must confirm files a release changes outside its ticket's
    /// SVN paths before it can be approved.
    #[serde(default)]
    pub require_outside_paths_confirmation: bool,
    /// Approvals expire after this many hours.
    #[serde(default)]
    pub approval_expiry_hours: Option<u32>,
    /// IANA time zone of the project's freeze windows, e.g. `Asia/Shanghai`
    /// or `Europe/Berlin` (empty: `UTC`, or the zone for `utc_offset_minutes`).
    #[serde(default)]
    pub time_zone: String,
    /// Deprecated: a fixed offset from UTC in minutes, used only when
    /// `time_zone` is empty (converted like the migration does).
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
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
    /// Weekly maintenance windows (scheduled releases go into them).
    #[serde(default)]
    pub maintenance: Vec<MaintenanceSetting>,
    /// Services per host group (supervisor or custom argument vectors).
    #[serde(default)]
    pub services: Vec<crate::deploy::ServiceSpec>,
    /// Who may start, stop and restart services besides admins: `leads`
    /// (default) or `developers` (leads and developers).
    #[serde(default)]
    pub service_actions: String,
    /// When to verify the hosts for drift: a cron expression with seconds
    /// (`sec min hour day month weekday`, UTC); empty: never.
    #[serde(default)]
    pub verify_cron: String,
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

/// Which part of a list item a problem is about (the import file points at it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The item as a whole.
    Whole,
    /// A freeze window's start.
    From,
    /// A freeze window's end.
    To,
}

/// One problem found by [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// What is wrong; `error.field` names the setting.
    pub error: InvalidInput,
    /// Which item of a list setting (`excludes`, `freeze`, `leads`, …).
    pub index: Option<usize>,
    /// Which part of that item.
    pub part: Part,
}

/// Settings that passed [`validate`]: ready to write once the names in
/// `members` and `host_groups` are resolved.
#[derive(Debug, Clone)]
pub struct ValidSettings {
    /// The project name.
    pub name: ProjectName,
    /// The row's columns.
    pub changes: ProjectChanges,
    /// (field, role, user name), in the order given, duplicates kept.
    pub members: Vec<(&'static str, Role, Username)>,
    /// Host group names, in the order given.
    pub host_groups: Vec<String>,
    /// Freeze windows (`project_id` 0 until written).
    pub windows: Vec<FreezeWindowRow>,
}

mod fields;
pub mod maintenance;

pub use maintenance::MaintenanceSetting;
mod services;

use fields::{check_build_command, check_staging_dir, check_staging_url, check_svn_url};
pub use fields::{check_target, check_text, check_word};

/// Collects problems while checking.
#[derive(Default)]
struct Found(Vec<SettingProblem>);

impl Found {
    fn take<T>(&mut self, index: Option<usize>, part: Part, result: Result<T, InvalidInput>) -> Option<T> {
        result
            .map_err(|error| self.0.push(SettingProblem { error, index, part }))
            .ok()
    }
    fn whole<T>(&mut self, result: Result<T, InvalidInput>) -> Option<T> {
        self.take(None, Part::Whole, result)
    }
}

fn check_freeze(f: &FreezeSetting, i: usize, found: &mut Found) -> Option<FreezeWindowRow> {
    let at = Some(i);
    let label = found.take(at, Part::Whole, check_text("freeze", &f.label, 100, false))?;
    let row = FreezeWindowRow {
        project_id: 0,
        kind: String::new(),
        starts_at: None,
        ends_at: None,
        weekly_from: None,
        weekly_to: None,
        label,
    };
    match (&f.weekly_from, &f.weekly_to, &f.from, &f.to) {
        (Some(a), Some(b), None, None) => {
            let week = |t: &str| {
                t.parse::<WeekTime>()
                    .map_err(|e| InvalidInput::new("freeze", codes::WEEK_TIME, e.to_string()).with("value", e.0))
            };
            let a = found.take(at, Part::From, week(a));
            let b = found.take(at, Part::To, week(b));
            let (a, b) = (a?, b?);
            Some(FreezeWindowRow {
                kind: "weekly".into(),
                weekly_from: i32::try_from(a.minutes()).ok(),
                weekly_to: i32::try_from(b.minutes()).ok(),
                ..row
            })
        }
        (None, None, Some(a), Some(b)) => {
            let parse = |t: &str| {
                DateTime::parse_from_rfc3339(t.trim())
                    .map(|d| d.naive_utc())
                    .map_err(|_| {
                        InvalidInput::new(
                            "freeze",
                            codes::RFC3339,
                            format!(
                                "`{}` is not an RFC 3339 time like 2026-12-24T00:00:00+08:00",
                                t.escape_debug()
                            ),
                        )
                        .with("value", t.escape_debug())
                    })
            };
            let a = found.take(at, Part::From, parse(a));
            let b = found.take(at, Part::To, parse(b));
            let (a, b) = (a?, b?);
            if b <= a {
                found.take::<()>(
                    at,
                    Part::To,
                    Err(InvalidInput::new(
                        "freeze",
                        codes::FREEZE_ORDER,
                        "a freeze window must end after it starts",
                    )),
                );
                return None;
            }
            Some(FreezeWindowRow {
                kind: "range".into(),
                starts_at: Some(a),
                ends_at: Some(b),
                ..row
            })
        }
        _ => found.take(
            at,
            Part::Whole,
            Err(InvalidInput::new(
                "freeze",
                codes::FREEZE_SHAPE,
                "give either a weekly window (from and to like `Fri 18:00`) or a range (from and to in RFC 3339)",
            )),
        ),
    }
}

/// The one check of project settings (see the module docs): every problem
/// found, or the settings ready to write with `updated_at = now`.
pub fn validate(s: &ProjectSettings, now: NaiveDateTime) -> Result<ValidSettings, Vec<SettingProblem>> {
    let mut found = Found::default();
    let name = found.whole(ProjectName::parse(&s.name));
    let description = found.whole(check_text("description", &s.description, 1000, true));
    let svn_url = found.whole(check_svn_url(&s.svn_url));
    let svn_credentials = match s.svn_credentials.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => found.whole(check_word("svn_credentials", c, 100)),
    };
    let staging_dir = found.whole(check_staging_dir(&s.staging_dir));
    let staging_url = found.whole(check_staging_url(&s.staging_url));
    found.whole(check_build_command(&s.build_command));
    if s.excludes.len() > MAX_EXCLUDES {
        found.whole::<()>(Err(InvalidInput::new(
            "excludes",
            codes::TOO_MANY,
            format!("at most {MAX_EXCLUDES} patterns"),
        )
        .with("max", MAX_EXCLUDES)));
    }
    let excludes: Vec<String> = s
        .excludes
        .iter()
        .enumerate()
        .filter_map(|(i, e)| found.take(Some(i), Part::Whole, check_word("excludes", e, 500)))
        .collect();
    let version_format = found.whole(
        VersionFormat::parse(s.version_format.trim())
            .map_err(|e| InvalidInput::new("version_format", codes::VERSION_FORMAT, e.to_string()).with("detail", e)),
    );
    if !(1..=MAX_APPROVALS).contains(&s.approvals_required) {
        found.whole::<()>(Err(InvalidInput::new(
            "approvals_required",
            codes::OUT_OF_RANGE,
            format!("must be between 1 and {MAX_APPROVALS}"),
        )
        .with("min", 1)
        .with("max", MAX_APPROVALS)));
    }
    if s.approval_expiry_hours
        .is_some_and(|h| !(1..=MAX_EXPIRY_HOURS).contains(&h))
    {
        found.whole::<()>(Err(InvalidInput::new(
            "approval_expiry_hours",
            codes::OUT_OF_RANGE,
            format!("must be between 1 and {MAX_EXPIRY_HOURS} hours"),
        )
        .with("min", 1)
        .with("max", MAX_EXPIRY_HOURS)));
    }
    let time_zone = found.whole(fields::check_time_zone(&s.time_zone, s.utc_offset_minutes));
    let mut members = Vec::new();
    for (field, role, names) in [
        ("leads", Role::Lead, &s.leads),
        ("developers", Role::Developer, &s.developers),
        ("testers", Role::Tester, &s.testers),
    ] {
        for (i, n) in names.iter().enumerate() {
            let user = Username::parse(n.trim()).map_err(|e| e.on(field));
            if let Some(user) = found.take(Some(i), Part::Whole, user) {
                members.push((field, role, user));
            }
        }
    }
    let host_groups: Vec<String> = s
        .host_groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| found.take(Some(i), Part::Whole, check_word("host_groups", g, 100)))
        .collect();
    let services = found.whole(services::check_services(&s.services, &s.host_groups));
    let service_actions = found.whole(services::check_access(&s.service_actions));
    let verify_cron = found.whole(services::check_verify_cron(&s.verify_cron));
    let windows: Vec<FreezeWindowRow> = s
        .freeze
        .iter()
        .enumerate()
        .filter_map(|(i, f)| check_freeze(f, i, &mut found))
        .collect();
    let maintenance_windows = maintenance::check_all(&s.maintenance, &mut found);
    let (
        Some(name),
        Some(description),
        Some(svn_url),
        Some(staging_dir),
        Some(staging_url),
        Some(version_format),
        Some(time_zone),
        Some(services),
        Some(service_actions),
        Some(verify_cron),
        true,
    ) = (
        name,
        description,
        svn_url,
        staging_dir,
        staging_url,
        version_format,
        time_zone,
        services,
        service_actions,
        verify_cron,
        found.0.is_empty(),
    )
    else {
        return Err(found.0);
    };
    let json = |items: &[String]| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    Ok(ValidSettings {
        name,
        changes: ProjectChanges {
            description,
            svn_url,
            svn_credentials,
            staging_dir,
            staging_url,
            build_command: json(&s.build_command),
            excludes: json(&excludes),
            version_format: version_format.as_str().to_owned(),
            approvals_required: i32::try_from(s.approvals_required).unwrap_or(1),
            allow_self_approval: s.allow_self_approval,
            tested_by_may_approve: s.tested_by_may_approve,
            require_outside_paths_confirmation: s.require_outside_paths_confirmation,
            services,
            service_actions: service_actions.as_str().to_owned(),
            verify_cron,
            approval_expiry_minutes: s.approval_expiry_hours.and_then(|h| i32::try_from(h * 60).ok()),
            time_zone,
            maintenance_windows: maintenance::to_stored(&maintenance_windows),
            updated_at: now,
        },
        members,
        host_groups,
        windows,
    })
}
