//! Row types: what the tables hold, and what inserts write.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json::Json;
use super::schema::{approvals, freeze_windows, host_groups, hosts, jobs, projects, ticket_events, tickets, users};

/// A user account.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown on pages.
    pub display_name: String,
    /// Where notifications go.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Manages projects, hosts and users.
    pub is_admin: bool,
    /// A disabled user can neither sign in nor act.
    pub disabled: bool,
    /// Preferred language (`en`, `zh-CN`).
    pub locale: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A new user account.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Name shown on pages.
    pub display_name: &'a str,
    /// Where notifications go.
    pub email: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Admin flag.
    pub is_admin: bool,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A project: where its code comes from, how it is approved, where it ships.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// SVN URL of the tree to ship.
    pub svn_url: String,
    /// Name of the SVN credentials entry in the config.
    pub svn_credentials: Option<String>,
    /// Working copy that testers try.
    pub staging_dir: String,
    /// Where testers open the staged build.
    pub staging_url: String,
    /// JSON argv of the build command.
    #[diesel(deserialize_as = String)]
    pub build_command: Json<Vec<String>>,
    /// JSON list of rsync excludes.
    #[diesel(deserialize_as = String)]
    pub excludes: Json<Vec<String>>,
    /// Tag format, e.g. `v{n}`.
    pub version_format: String,
    /// Distinct approvals needed.
    pub approvals_required: i32,
    /// Whether a lead may approve their own ticket.
    pub allow_self_approval: bool,
    /// Whether the tester may approve what they tested.
    pub tested_by_may_approve: bool,
    /// Approvals expire after this many minutes.
    pub approval_expiry_minutes: Option<i32>,
    /// IANA time zone name (e.g. `Asia/Shanghai`).
    pub time_zone: String,
    /// Last version number handed out.
    pub last_version: Option<i64>,
    /// Counter ordering staged snapshots.
    pub stage_seq: i64,
    /// Version production runs.
    pub production_version: Option<i64>,
    /// Snapshot order of what production runs.
    pub production_snapshot_seq: Option<i64>,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// The job holding the project's pipeline lock.
    pub lock_job_id: Option<i64>,
    /// When that lock expires (UTC).
    pub lock_until: Option<NaiveDateTime>,
    /// Deploy settings (JSON; see `deploy::settings`).
    pub deploy: String,
}

/// A new project.
#[derive(Debug, Insertable)]
#[diesel(table_name = projects)]
pub struct NewProject {
    /// Unique name.
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
    /// JSON argv.
    pub build_command: String,
    /// JSON list.
    pub excludes: String,
    /// Tag format.
    pub version_format: String,
    /// Distinct approvals needed.
    pub approvals_required: i32,
    /// Self-approval allowed.
    pub allow_self_approval: bool,
    /// Tester may approve.
    pub tested_by_may_approve: bool,
    /// Approval expiry in minutes.
    pub approval_expiry_minutes: Option<i32>,
    /// IANA time zone name.
    pub time_zone: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A named group of hosts.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = host_groups)]
pub struct HostGroupRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
}

/// A production host target.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = hosts)]
pub struct HostRow {
    /// Id.
    pub id: i64,
    /// Its group.
    pub group_id: i64,
    /// Name within the group.
    pub name: String,
    /// `user@host:/path`, `rsync://host/module` or a local path.
    pub target: String,
    /// The version the host runs now.
    pub running_version: Option<i64>,
}

/// A stored freeze window.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = freeze_windows)]
pub struct FreezeWindowRow {
    /// Project.
    pub project_id: i64,
    /// `range` or `weekly`.
    pub kind: String,
    /// Range start.
    pub starts_at: Option<NaiveDateTime>,
    /// Range end.
    pub ends_at: Option<NaiveDateTime>,
    /// Weekly start, minutes since Monday 00:00.
    pub weekly_from: Option<i32>,
    /// Weekly end.
    pub weekly_to: Option<i32>,
    /// Label.
    pub label: String,
}

/// A ticket as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    /// Id (the `#N` users see).
    pub id: i64,
    /// Project.
    pub project_id: i64,
    /// `release` or `rollback`.
    pub kind: String,
    /// State name.
    pub state: String,
    /// Why.
    pub reason: String,
    /// JSON list of SVN paths.
    #[diesel(deserialize_as = String)]
    pub svn_paths: Json<Vec<String>>,
    /// Pinned SVN revision.
    pub svn_revision: Option<i64>,
    /// Revision staging was updated to.
    pub staged_revision: Option<i64>,
    /// git commit of the staged tree.
    pub snapshot_commit: Option<String>,
    /// Snapshot order within the project.
    pub snapshot_seq: Option<i64>,
    /// Stage generation (approvals bind to it).
    pub stage_generation: i32,
    /// Who marked it tested.
    pub tested_by: Option<i64>,
    /// Where a failed job left from.
    pub failed_from: Option<String>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// Release version number.
    pub version: Option<i64>,
    /// Rollback target version.
    pub target_version: Option<i64>,
    /// Who filed it.
    pub submitter_id: i64,
    /// Optimistic concurrency counter.
    pub lock_version: i32,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Revision staging was at before this ticket's update.
    pub base_revision: Option<i64>,
    /// Someone asked the running release or rollback to stop.
    pub abort_requested: bool,
    /// …and to switch already-switched hosts back.
    pub abort_revert: bool,
}

/// A new ticket.
#[derive(Debug, Insertable)]
#[diesel(table_name = tickets)]
pub struct NewTicket {
    /// Project.
    pub project_id: i64,
    /// Kind name.
    pub kind: String,
    /// Initial state name.
    pub state: String,
    /// Why.
    pub reason: String,
    /// JSON list of SVN paths.
    pub svn_paths: String,
    /// Pinned SVN revision.
    pub svn_revision: Option<i64>,
    /// Rollback target.
    pub target_version: Option<i64>,
    /// Who files it.
    pub submitter_id: i64,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// One entry of a ticket's append-only history.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = ticket_events)]
pub struct EventRow {
    /// Id.
    pub id: i64,
    /// Ticket.
    pub ticket_id: i64,
    /// Who (None: Slipway).
    pub actor_id: Option<i64>,
    /// Action name.
    pub action: String,
    /// State before (None at creation).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Note or reason.
    pub note: Option<String>,
    /// An admin overrode a freeze window.
    pub emergency_override: bool,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A new event.
#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_events)]
pub struct NewEvent {
    /// Ticket.
    pub ticket_id: i64,
    /// Who.
    pub actor_id: Option<i64>,
    /// Action name.
    pub action: String,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Note.
    pub note: Option<String>,
    /// Freeze override.
    pub emergency_override: bool,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// An approval.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = approvals)]
pub struct ApprovalRow {
    /// Ticket.
    pub ticket_id: i64,
    /// Approver.
    pub user_id: i64,
    /// Stage generation approved.
    pub generation: i32,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A job to enqueue.
#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    /// Kind name.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Project it serialises on.
    pub project_id: Option<i64>,
    /// Ticket it works for.
    pub ticket_id: Option<i64>,
    /// Not before (UTC).
    pub run_after: NaiveDateTime,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A job as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    /// Id.
    pub id: i64,
    /// Kind name.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Project.
    pub project_id: Option<i64>,
    /// Ticket.
    pub ticket_id: Option<i64>,
    /// `queued`, `running`, `done`, `failed`, `cancelled`.
    pub state: String,
    /// Tries so far.
    pub attempts: i32,
    /// Tries allowed.
    pub max_attempts: i32,
    /// Not before (UTC).
    pub run_after: NaiveDateTime,
    /// Lease end (UTC).
    pub locked_until: Option<NaiveDateTime>,
    /// Worker holding the lease.
    pub locked_by: Option<String>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A line of job output to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = super::schema::job_logs)]
pub struct NewJobLog {
    /// The job.
    pub job_id: i64,
    /// Its ticket, for the ticket page.
    pub ticket_id: Option<i64>,
    /// `stdout`, `stderr` or `info` (Slipway's own lines).
    pub stream: String,
    /// The text, secrets scrubbed.
    pub line: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A stored line of job output.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = super::schema::job_logs)]
pub struct JobLogRow {
    /// Id (increasing; the SSE cursor).
    pub id: i64,
    /// The job.
    pub job_id: i64,
    /// Its ticket.
    pub ticket_id: Option<i64>,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub line: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}
