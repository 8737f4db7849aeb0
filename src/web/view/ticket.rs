//! One ticket with everything about it ([`TicketDetail`]): timeline,
//! approvals, SVN commits, jobs, hosts, and what a failed release left.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::service::changes::{ProductionChanges, TicketFacts};
use crate::service::outside::OutsidePath;
use crate::service::queries::TicketView;
use crate::service::rows::{Json, StoredPathChange, SvnRevisionRow};

use super::hosts::HostOut;
use super::ts;

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
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PathChange {
    /// `A`, `M`, `D`, `R` (empty for the line that reports a malformed
    /// stored value).
    pub action: String,
    /// The path.
    pub path: String,
}

impl PathChange {
    /// The stored paths of a commit; a malformed stored value shows as one
    /// entry saying so (never as "no paths").
    fn list(stored: Json<Vec<StoredPathChange>>) -> Vec<Self> {
        match stored.into_inner() {
            Ok(paths) => paths
                .into_iter()
                .map(|p| PathChange {
                    action: p.action,
                    path: p.path,
                })
                .collect(),
            Err(e) => vec![PathChange {
                action: String::new(),
                path: format!("(malformed stored value: {})", e.reason),
            }],
        }
    }
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
            paths: PathChange::list(r.paths),
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
    pub blocked: Vec<crate::web::why_not::BlockedOut>,
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
    pub production_changes: Option<ProductionChanges>,
    /// Files this release changes on production outside the ticket's SVN
    /// paths, with the commits and tickets that brought them (issue 12).
    pub outside_paths: Vec<OutsidePath>,
    /// A tester confirmed them for this snapshot.
    pub outside_paths_confirmed: bool,
    /// The project requires that confirmation before approval.
    pub outside_paths_need_confirmation: bool,
    /// A failed release that switched hosts: which, and what retry and
    /// revert would do.
    pub recovery: Option<RecoveryOut>,
    /// Its scheduled release (the newest schedule, unless cancelled).
    pub schedule: Option<super::ScheduleOut>,
    /// Whether the caller may schedule (or change the schedule of) its release.
    pub can_schedule: bool,
    /// When the project's next maintenance window starts, in its time zone.
    pub next_maintenance_window: Option<String>,
    /// The project's IANA time zone (schedule times are typed in it).
    pub time_zone: String,
    /// The ticket's change fingerprint when it was read; the live page
    /// compares it with `/tickets/{id}/stamp`.
    #[serde(skip)]
    pub stamp: String,
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
        let outside_paths = crate::service::outside::stored(&t);
        let staging_url = Some(v.project.staging_url.trim().to_owned())
            .filter(|u| !u.is_empty() && staged_or_later(&t.kind, &t.state, t.snapshot_commit.as_deref()));
        let staging_url_is_link = staging_url
            .as_deref()
            .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
        Self {
            outside_paths,
            outside_paths_confirmed: t.outside_paths_confirmed_by.is_some(),
            outside_paths_need_confirmation: v.project.require_outside_paths_confirmation,
            stamp: String::new(),
            production_changes: None,
            recovery: None,
            schedule: v.schedule.map(super::ScheduleOut::from),
            can_schedule: v.may_schedule,
            next_maintenance_window: v.next_window,
            time_zone: v.time_zone.name().to_owned(),
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
            blocked: crate::web::why_not::blocked_out(&v.blocked, v.time_zone),
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
                    version: None,
                    error: None,
                    steps: Vec::new(),
                    files_sent: None,
                    bytes_sent: None,
                    bytes_sent_text: String::new(),
                })
                .collect(),
        }
    }
}

impl TicketDetail {
    /// The detail from what [`crate::service::changes::ticket_facts`] read
    /// and the production diff: hosts carry their shipping state, and a
    /// failed release that switched hosts its recovery.
    pub fn new(facts: TicketFacts, production_changes: Option<ProductionChanges>) -> Self {
        let TicketFacts {
            view,
            recovery,
            host_states,
            stamp,
            ..
        } = facts;
        let format = VersionFormat::parse(&view.project.version_format).unwrap_or_default();
        let mut detail = TicketDetail::from(view);
        super::hosts::merge(&mut detail.hosts, host_states, &format);
        detail.recovery = recovery.map(|r| RecoveryOut {
            version_tag: format.render(r.version),
            switched: r.switched,
            not_switched: r.not_switched,
            revert_tag: r.revert_to.map(|v| format.render(v)),
            revert_version: r.revert_to,
        });
        detail.production_changes = production_changes;
        detail.stamp = stamp;
        detail
    }
}
