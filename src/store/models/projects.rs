//! Rows of users, projects, host groups, hosts and freeze windows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::json::Json;
use crate::store::schema::{freeze_windows, host_groups, hosts, projects, users};
use crate::store::stored_time::StoredTime;

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
    /// How the account signs in: `local` (its password) or `ldap` (the directory).
    pub source: String,
    /// Mobile number chat messages @-mention (may be empty).
    pub chat_mobile: String,
    /// Chat user id (DingTalk, WeCom, Feishu or Slack) messages @-mention (may be empty).
    pub chat_user_id: String,
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
    /// `local` or `ldap`.
    pub source: &'a str,
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
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
    /// The job holding the project's pipeline lock.
    pub lock_job_id: Option<i64>,
    /// When that lock expires (UTC).
    pub lock_until: Option<NaiveDateTime>,
    /// Deploy settings (JSON; see `deploy::settings`).
    pub deploy: String,
    /// A tester must confirm files a release changes outside its ticket's
    /// SVN paths before it can be approved.
    pub require_outside_paths_confirmation: bool,
    /// Weekly maintenance windows (JSON; see `service::schedules`).
    pub maintenance_windows: String,
    /// JSON list of the project's services (`deploy::ServiceSpec`).
    pub services: String,
    /// Who may start, stop and restart services: `leads` or `developers`.
    pub service_actions: String,
    /// When to verify the hosts (drift): a six-field cron expression, UTC (empty: never).
    pub verify_cron: String,
    /// When the verify cron last enqueued a verify (UTC).
    pub verify_cron_at: Option<NaiveDateTime>,
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
    /// Outside files need a tester's confirmation.
    pub require_outside_paths_confirmation: bool,
    /// JSON list of services.
    pub services: String,
    /// `leads` or `developers`.
    pub service_actions: String,
    /// Verify cron (empty: off).
    pub verify_cron: String,
    /// Approval expiry in minutes.
    pub approval_expiry_minutes: Option<i32>,
    /// IANA time zone name.
    pub time_zone: String,
    /// Weekly maintenance windows (JSON).
    pub maintenance_windows: String,
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
    /// The relay its releases go through (`[user@]host:/path`), if any.
    pub relay: Option<String>,
    /// The hosts' ssh port as the relay reaches them.
    pub relay_port: Option<i32>,
    /// A private key file on the relay for reaching the hosts.
    pub relay_identity: Option<String>,
    /// A known_hosts file on the relay pinning the hosts' keys.
    pub relay_known_hosts: Option<String>,
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
