//! What pages and the API show: serialisable views of tickets, events and
//! projects, built from the service layer's rows and read models.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::service::lookups;
use crate::service::queries::TicketView;
use crate::service::rows::{AuditRow, ProjectRow, SvnRevisionRow, TicketListRow};

/// A UTC time as RFC 3339 (`2026-11-25T12:00:00Z`).
pub fn ts(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    if (0..=9999).contains(&t.year()) {
        // The common case without chrono's format machinery (hot in lists).
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    } else {
        t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// A UTC time as pages show it without JavaScript (`2026-11-25 12:00 UTC`).
pub fn utc_minutes(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A ticket in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketSummary {
    /// Id.
    pub id: i64,
    /// Project name.
    pub project: String,
    /// `release` or `rollback`.
    pub kind: String,
    /// State.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Who filed it.
    pub submitter: String,
    /// Release version number.
    pub version: Option<i64>,
    /// Rollback target version.
    pub target_version: Option<i64>,
    /// Filed (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
}

impl From<TicketListRow> for TicketSummary {
    fn from(r: TicketListRow) -> Self {
        Self {
            id: r.id,
            project: r.project,
            kind: r.kind,
            state: r.state,
            reason: r.reason,
            submitter: r.submitter,
            version: r.version,
            target_version: r.target_version,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
        }
    }
}

/// A ticket as the HTML lists show it: the reason shortened and the time
/// formatted in Rust, which is much cheaper than tera filters per cell
/// (the list page is the hot page).
#[derive(Debug, Clone, Serialize)]
pub struct TicketRowHtml {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: TicketSummary,
    /// At most 80 characters of the reason.
    pub reason_short: String,
    /// `created_at` as `2026-11-25 12:00 UTC` (app.js shows local time).
    pub created_utc: String,
}

/// The first `max` characters of `s`, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

impl From<TicketListRow> for TicketRowHtml {
    fn from(r: TicketListRow) -> Self {
        let reason_short = shorten(&r.reason, 80);
        let created_utc = utc_minutes(r.created_at);
        Self {
            ticket: TicketSummary::from(r),
            reason_short,
            created_utc,
        }
    }
}

impl From<TicketSummary> for TicketRowHtml {
    fn from(t: TicketSummary) -> Self {
        let created_utc = chrono::DateTime::parse_from_rfc3339(&t.created_at)
            .map(|d| d.to_utc().format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| t.created_at.clone());
        Self {
            reason_short: shorten(&t.reason, 80),
            created_utc,
            ticket: t,
        }
    }
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventOut {
    /// Id.
    pub id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// Action name.
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Who (absent: Slipway itself).
    pub actor: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// An admin overrode a freeze window.
    pub emergency_override: bool,
    /// When (UTC).
    pub at: String,
}

/// An approval that counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalOut {
    /// The lead.
    pub user: String,
    /// When (UTC).
    pub at: String,
}

/// A changed path of an SVN commit.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct PathChange {
    /// `A`, `M`, `D`, `R`.
    #[serde(default)]
    pub action: String,
    /// The path.
    #[serde(default)]
    pub path: String,
}

/// An SVN commit the ticket brings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitOut {
    /// Revision.
    pub revision: i64,
    /// Author.
    pub author: String,
    /// When (UTC).
    pub at: Option<String>,
    /// Log message.
    pub message: String,
    /// Changed paths.
    pub paths: Vec<PathChange>,
}

impl From<SvnRevisionRow> for CommitOut {
    fn from(r: SvnRevisionRow) -> Self {
        Self {
            revision: r.revision,
            author: r.author,
            at: r.committed_at.map(ts),
            message: r.message,
            paths: serde_json::from_str(&r.paths).unwrap_or_default(),
        }
    }
}

/// A job of the ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobOut {
    /// Id.
    pub id: i64,
    /// `stage`, `release`, `rollback`.
    pub kind: String,
    /// `queued`, `running`, `done`, `failed`, `cancelled`.
    pub state: String,
    /// Tries so far.
    pub attempts: i32,
    /// Last failure.
    pub last_error: Option<String>,
    /// Enqueued (UTC).
    pub created_at: String,
}

/// A production host and how this ticket went there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HostOut {
    /// Host group.
    pub group: String,
    /// Host name.
    pub name: String,
    /// rsync target.
    pub target: String,
    /// Per-host status (`pending` until the release pipeline reports).
    pub status: String,
}

/// Everything about one ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketDetail {
    /// Id.
    pub id: i64,
    /// Project name.
    pub project: String,
    /// `release` or `rollback`.
    pub kind: String,
    /// State.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Who filed it.
    pub submitter: String,
    /// SVN paths (empty: the whole working copy).
    pub svn_paths: Vec<String>,
    /// Pinned SVN revision.
    pub svn_revision: Option<i64>,
    /// Revision staging was at before.
    pub base_revision: Option<i64>,
    /// Revision staged.
    pub staged_revision: Option<i64>,
    /// git commit of the staged snapshot.
    pub snapshot_commit: Option<String>,
    /// Release version number.
    pub version: Option<i64>,
    /// Its tag.
    pub version_tag: Option<String>,
    /// Rollback target version.
    pub target_version: Option<i64>,
    /// Its tag.
    pub target_tag: Option<String>,
    /// Who marked it tested.
    pub tested_by: Option<String>,
    /// The last job failure.
    pub last_error: Option<String>,
    /// Optimistic concurrency counter (send back as `lock_version` to act only on what you saw).
    pub lock_version: i32,
    /// Filed (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
    /// Timeline, oldest first.
    pub events: Vec<EventOut>,
    /// Approvals that count for the current snapshot.
    pub approvals: Vec<ApprovalOut>,
    /// Approvals needed.
    pub approvals_required: u32,
    /// What the caller may do now.
    pub actions: Vec<String>,
    /// Why the caller may not approve, when approval is due.
    pub approve_refusal: Option<String>,
    /// Its stable code (self_approval, tester_approval, …), for translation.
    pub approve_refusal_code: Option<String>,
    /// What the caller (an admin) may do only with `emergency_override` and a
    /// note, because a freeze window is in force.
    pub override_actions: Vec<String>,
    /// Freeze window in force now.
    pub freeze: Option<String>,
    /// Actions the caller would expect but may not take now, and why.
    pub blocked: Vec<super::why_not::BlockedOut>,
    /// SVN commits brought by this ticket.
    pub svn_commits: Vec<CommitOut>,
    /// Jobs, newest first.
    pub jobs: Vec<JobOut>,
    /// Production hosts.
    pub hosts: Vec<HostOut>,
    /// Where testers try the staged build: the project's staging URL, once
    /// the ticket is `staged` or later (absent before, for rollbacks, and
    /// when the project has none).
    pub staging_url: Option<String>,
    /// Whether `staging_url` is an `http(s)://` URL the page may link to.
    pub staging_url_is_link: bool,
    /// The files that will change on production if this ticket ships
    /// (staged, tested or approved release tickets).
    pub production_changes: Option<super::changes::ProductionChanges>,
    /// A failed release that switched hosts: which, and what retry and
    /// revert would do.
    pub recovery: Option<RecoveryOut>,
}

/// What a failed release left on the hosts (see [`crate::service::recovery`]).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryOut {
    /// The failed release's tag.
    pub version_tag: String,
    /// Hosts that run it (switched).
    pub switched: Vec<String>,
    /// Hosts still on their earlier release.
    pub not_switched: Vec<String>,
    /// The tag a revert (rollback) goes back to.
    pub revert_tag: Option<String>,
    /// Its version number (for the rollback request form).
    pub revert_version: Option<i64>,
}

/// Whether a release ticket in `state` has been staged (staging shows its
/// snapshot, or did when it moved on): `staged` or any later state.
pub fn staged_or_later(kind: &str, state: &str, snapshot_commit: Option<&str>) -> bool {
    kind == "release"
        && match state {
            "staged" | "tested" | "approved" | "releasing" | "released" | "rolled_back" => true,
            // A failed release job: the ticket was staged before.
            "failed" => snapshot_commit.is_some(),
            _ => false,
        }
}

impl From<TicketView> for TicketDetail {
    fn from(v: TicketView) -> Self {
        let t = v.ticket;
        let staging_url = Some(v.project.staging_url.trim().to_owned())
            .filter(|u| !u.is_empty() && staged_or_later(&t.kind, &t.state, t.snapshot_commit.as_deref()));
        let staging_url_is_link = staging_url
            .as_deref()
            .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
        Self {
            production_changes: None,
            recovery: None,
            staging_url,
            staging_url_is_link,
            id: t.id,
            project: v.project.name,
            kind: t.kind,
            state: t.state,
            reason: t.reason,
            submitter: v.submitter,
            svn_paths: t.svn_paths.shown(),
            svn_revision: t.svn_revision,
            base_revision: t.base_revision,
            staged_revision: t.staged_revision,
            snapshot_commit: t.snapshot_commit,
            version: t.version,
            version_tag: v.version_tag,
            target_version: t.target_version,
            target_tag: v.target_tag,
            tested_by: v.tested_by,
            last_error: t.last_error,
            lock_version: t.lock_version,
            created_at: ts(t.created_at),
            updated_at: ts(t.updated_at),
            events: v
                .events
                .into_iter()
                .map(|e| EventOut {
                    id: e.event.id,
                    ticket_id: e.event.ticket_id,
                    action: e.event.action,
                    from_state: e.event.from_state,
                    to_state: e.event.to_state,
                    actor: e.actor,
                    note: e.event.note,
                    emergency_override: e.event.emergency_override,
                    at: ts(e.event.created_at),
                })
                .collect(),
            approvals: v
                .approvals
                .into_iter()
                .map(|a| ApprovalOut {
                    user: a.username,
                    at: ts(a.created_at),
                })
                .collect(),
            approvals_required: v.approvals_required,
            actions: v.actions.iter().map(|a| a.as_str().to_owned()).collect(),
            approve_refusal: v.approve_refusal,
            approve_refusal_code: v.approve_refusal_code,
            override_actions: v.override_actions.iter().map(|a| a.as_str().to_owned()).collect(),
            freeze: v.freeze,
            blocked: super::why_not::blocked_out(&v.blocked, v.time_zone),
            svn_commits: v.svn_commits.into_iter().map(CommitOut::from).collect(),
            jobs: v
                .jobs
                .into_iter()
                .map(|j| JobOut {
                    id: j.id,
                    kind: j.kind,
                    state: j.state,
                    attempts: j.attempts,
                    last_error: j.last_error,
                    created_at: ts(j.created_at),
                })
                .collect(),
            hosts: v
                .hosts
                .into_iter()
                .map(|(group, h)| HostOut {
                    group,
                    name: h.name,
                    target: h.target,
                    status: "pending".into(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditOut {
    /// Project.
    pub project: String,
    /// The event.
    #[serde(flatten)]
    pub event: EventOut,
}

impl From<AuditRow> for AuditOut {
    fn from(r: AuditRow) -> Self {
        Self {
            project: r.project,
            event: EventOut {
                id: r.event.id,
                ticket_id: r.event.ticket_id,
                action: r.event.action,
                from_state: r.event.from_state,
                to_state: r.event.to_state,
                actor: r.actor,
                note: r.event.note,
                emergency_override: r.event.emergency_override,
                at: ts(r.event.created_at),
            },
        }
    }
}

/// A project and its settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectOut {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// SVN URL.
    pub svn_url: String,
    /// Credentials entry name.
    pub svn_credentials: Option<String>,
    /// Staging working copy.
    pub staging_dir: String,
    /// Staging URL.
    pub staging_url: String,
    /// Build argv.
    pub build_command: Vec<String>,
    /// rsync excludes.
    pub excludes: Vec<String>,
    /// Tag format.
    pub version_format: String,
    /// Approvals needed.
    pub approvals_required: i32,
    /// Self-approval allowed.
    pub allow_self_approval: bool,
    /// Tester may approve.
    pub tested_by_may_approve: bool,
    /// Approval expiry in hours.
    pub approval_expiry_hours: Option<i32>,
    /// Local time offset.
    pub time_zone: String,
    /// What production runs (tag).
    pub production: Option<String>,
    /// Production version number.
    pub production_version: Option<i64>,
    /// Leads.
    pub leads: Vec<String>,
    /// Developers.
    pub developers: Vec<String>,
    /// Testers.
    pub testers: Vec<String>,
    /// Host groups.
    pub host_groups: Vec<String>,
    /// Freeze windows, described.
    pub freeze: Vec<String>,
}

impl ProjectOut {
    /// Builds the view from a row, its members (username, role), groups and windows.
    pub fn new(p: ProjectRow, members: Vec<(String, String)>, host_groups: Vec<String>, freeze: Vec<String>) -> Self {
        let format = VersionFormat::parse(&p.version_format).unwrap_or_default();
        let of = |role: &str| {
            members
                .iter()
                .filter(|(_, r)| r == role)
                .map(|(u, _)| u.clone())
                .collect::<Vec<_>>()
        };
        Self {
            leads: of("lead"),
            developers: of("developer"),
            testers: of("tester"),
            production: p.production_version.map(|v| format.render(v)),
            production_version: p.production_version,
            name: p.name,
            description: p.description,
            svn_url: p.svn_url,
            svn_credentials: p.svn_credentials,
            staging_dir: p.staging_dir,
            staging_url: p.staging_url,
            build_command: p.build_command.shown(),
            excludes: p.excludes.shown(),
            version_format: p.version_format,
            approvals_required: p.approvals_required,
            allow_self_approval: p.allow_self_approval,
            tested_by_may_approve: p.tested_by_may_approve,
            approval_expiry_hours: p.approval_expiry_minutes.map(|m| m / 60),
            time_zone: p.time_zone,
            host_groups,
            freeze,
        }
    }
}

/// Loads a project with members, host groups and freeze windows.
pub fn load_project(conn: &mut crate::service::DbConn, name: &str) -> Result<ProjectOut, super::AppError> {
    let p = lookups::project_by_name(conn, name)?
        .ok_or_else(|| super::AppError::NotFound(format!("project `{name}` not found")))?;
    let members = lookups::members(conn, p.id)?;
    let groups = lookups::project_host_groups(conn, p.id)?;
    let rows = lookups::freeze_windows(conn, p.id)?;
    let cal = crate::service::facts::freeze_calendar(&p, &rows)?;
    let freeze = cal
        .windows
        .iter()
        .zip(rows.iter())
        .map(|(w, r)| {
            if r.label.is_empty() {
                w.to_string()
            } else {
                format!("{} ({w})", r.label)
            }
        })
        .collect();
    Ok(ProjectOut::new(p, members, groups, freeze))
}
