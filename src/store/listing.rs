//! Read-only queries behind the web pages and the JSON API: filtered,
//! keyset-paginated ticket and event lists, names for ids, SVN history,
//! job logs and the figures `/metrics` reports.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::{ApprovalRow, EventRow, HostGroupRow, HostRow, JobRow, TicketRow, UserRow};
use super::schema::{
    approvals, host_groups, hosts, job_logs, jobs, project_members, projects, svn_revisions, ticket_events, tickets,
    users,
};

/// A ticket as lists show it.
#[derive(Debug, Clone, Queryable)]
pub struct TicketListRow {
    /// Id.
    pub id: i64,
    /// Project name.
    pub project: String,
    /// `release` or `rollback`.
    pub kind: String,
    /// State name.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Submitter's user name.
    pub submitter: String,
    /// Release version number.
    pub version: Option<i64>,
    /// Rollback target.
    pub target_version: Option<i64>,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Filters of the ticket list (ids already resolved from names).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only this project.
    pub project_id: Option<i64>,
    /// Only these states.
    pub states: Vec<String>,
    /// Only tickets filed by this user.
    pub submitter_id: Option<i64>,
    /// Keyset cursor: ids below (newest first) or above (oldest first) this.
    pub cursor: Option<i64>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Page size.
    pub limit: i64,
    /// Only tickets of these projects (the reader's visible ones); `None`: any.
    pub projects: Option<Vec<i64>>,
}

/// One page of tickets; `more` tells whether another page follows.
pub fn tickets(conn: &mut DbConn, filter: &TicketFilter) -> StoreResult<(Vec<TicketListRow>, bool)> {
    let mut query = tickets::table
        .inner_join(projects::table)
        .inner_join(users::table.on(users::id.eq(tickets::submitter_id)))
        .select((
            tickets::id,
            projects::name,
            tickets::kind,
            tickets::state,
            tickets::reason,
            users::username,
            tickets::version,
            tickets::target_version,
            tickets::created_at,
            tickets::updated_at,
        ))
        .into_boxed();
    if let Some(p) = filter.project_id {
        query = query.filter(tickets::project_id.eq(p));
    }
    if let Some(ids) = &filter.projects {
        query = query.filter(tickets::project_id.eq_any(ids.clone()));
    }
    if !filter.states.is_empty() {
        query = query.filter(tickets::state.eq_any(filter.states.clone()));
    }
    if let Some(s) = filter.submitter_id {
        query = query.filter(tickets::submitter_id.eq(s));
    }
    match (filter.cursor, filter.oldest_first) {
        (Some(c), false) => query = query.filter(tickets::id.lt(c)),
        (Some(c), true) => query = query.filter(tickets::id.gt(c)),
        (None, _) => {}
    }
    query = if filter.oldest_first {
        query.order(tickets::id.asc())
    } else {
        query.order(tickets::id.desc())
    };
    let mut rows: Vec<TicketListRow> = query.limit(filter.limit + 1).load(conn)?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(filter.limit as usize);
    Ok((rows, more))
}

/// An event with the actor's user name (None: Slipway itself).
#[derive(Debug, Clone)]
pub struct EventWithActor {
    /// The event.
    pub event: EventRow,
    /// Who.
    pub actor: Option<String>,
}

/// A ticket's events with actor names, oldest first.
pub fn events(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<EventWithActor>> {
    let rows: Vec<(EventRow, Option<String>)> = ticket_events::table
        .left_join(users::table.on(users::id.nullable().eq(ticket_events::actor_id)))
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .order(ticket_events::id.asc())
        .select((EventRow::as_select(), users::username.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(event, actor)| EventWithActor { event, actor })
        .collect())
}

/// An audit line: an event with its ticket's project and the actor.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// The event.
    pub event: EventRow,
    /// Project name.
    pub project: String,
    /// Who (None: Slipway).
    pub actor: Option<String>,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this project.
    pub project_id: Option<i64>,
    /// Only this actor.
    pub actor_id: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this ticket.
    pub ticket_id: Option<i64>,
    /// Events with ids below this.
    pub cursor: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Only events of these projects (the reader's visible ones); `None`: any.
    pub projects: Option<Vec<i64>>,
}

/// One page of the audit log, newest first.
pub fn audit(conn: &mut DbConn, filter: &AuditFilter) -> StoreResult<(Vec<AuditRow>, bool)> {
    let mut query = ticket_events::table
        .inner_join(tickets::table.inner_join(projects::table))
        .left_join(users::table.on(users::id.nullable().eq(ticket_events::actor_id)))
        .select((EventRow::as_select(), projects::name, users::username.nullable()))
        .into_boxed();
    if let Some(p) = filter.project_id {
        query = query.filter(tickets::project_id.eq(p));
    }
    if let Some(ids) = &filter.projects {
        query = query.filter(tickets::project_id.eq_any(ids.clone()));
    }
    if let Some(a) = filter.actor_id {
        query = query.filter(ticket_events::actor_id.eq(a));
    }
    if let Some(a) = &filter.action {
        query = query.filter(ticket_events::action.eq(a.clone()));
    }
    if let Some(t) = filter.ticket_id {
        query = query.filter(ticket_events::ticket_id.eq(t));
    }
    if let Some(c) = filter.cursor {
        query = query.filter(ticket_events::id.lt(c));
    }
    let rows: Vec<(EventRow, String, Option<String>)> = query
        .order(ticket_events::id.desc())
        .limit(filter.limit + 1)
        .load(conn)?;
    let more = rows.len() as i64 > filter.limit;
    Ok((
        rows.into_iter()
            .take(filter.limit as usize)
            .map(|(event, project, actor)| AuditRow { event, project, actor })
            .collect(),
        more,
    ))
}

/// An approval with the approver's name.
#[derive(Debug, Clone, Queryable)]
pub struct ApprovalWithName {
    /// Approver id.
    pub user_id: i64,
    /// Approver name.
    pub username: String,
    /// Generation approved.
    pub generation: i32,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A ticket's approvals with names, oldest first.
pub fn approvals(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<ApprovalWithName>> {
    Ok(approvals::table
        .inner_join(users::table.on(users::id.eq(approvals::user_id)))
        .filter(approvals::ticket_id.eq(ticket_id))
        .order(approvals::id.asc())
        .select((
            approvals::user_id,
            users::username,
            approvals::generation,
            approvals::created_at,
        ))
        .load(conn)?)
}

/// One SVN commit.
#[derive(Debug, Clone, Queryable)]
pub struct SvnRevisionRow {
    /// Revision number.
    pub revision: i64,
    /// Author.
    pub author: String,
    /// When (UTC).
    pub committed_at: Option<NaiveDateTime>,
    /// Log message.
    pub message: String,
    /// JSON list of {action, path}.
    pub paths: String,
}

/// The SVN commits of a project in (after, upto], oldest first (at most 500).
pub fn svn_revisions(conn: &mut DbConn, project_id: i64, after: i64, upto: i64) -> StoreResult<Vec<SvnRevisionRow>> {
    Ok(svn_revisions::table
        .filter(svn_revisions::project_id.eq(project_id))
        .filter(svn_revisions::revision.gt(after))
        .filter(svn_revisions::revision.le(upto))
        .order(svn_revisions::revision.asc())
        .limit(500)
        .select((
            svn_revisions::revision,
            svn_revisions::author,
            svn_revisions::committed_at,
            svn_revisions::message,
            svn_revisions::paths,
        ))
        .load(conn)?)
}

/// One line of job output.
#[derive(Debug, Clone, Queryable)]
pub struct LogLine {
    /// Id (the SSE event id; increasing).
    pub id: i64,
    /// Job.
    pub job_id: i64,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub line: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// Log lines of a ticket's jobs after line id `after`, oldest first.
pub fn log_lines(conn: &mut DbConn, ticket_id: i64, after: i64, limit: i64) -> StoreResult<Vec<LogLine>> {
    Ok(job_logs::table
        .filter(job_logs::ticket_id.eq(ticket_id))
        .filter(job_logs::id.gt(after))
        .order(job_logs::id.asc())
        .limit(limit)
        .select((
            job_logs::id,
            job_logs::job_id,
            job_logs::stream,
            job_logs::line,
            job_logs::created_at,
        ))
        .load(conn)?)
}

/// Whether a job of the ticket is queued or running.
pub fn ticket_job_active(conn: &mut DbConn, ticket_id: i64) -> StoreResult<bool> {
    let n: i64 = jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .filter(jobs::state.eq_any(["queued", "running"]))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A ticket's jobs, newest first.
pub fn ticket_jobs(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<JobRow>> {
    Ok(jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .order(jobs::id.desc())
        .select(JobRow::as_select())
        .load(conn)?)
}

/// Tickets per state.
pub fn ticket_counts(conn: &mut DbConn) -> StoreResult<Vec<(String, i64)>> {
    Ok(tickets::table
        .group_by(tickets::state)
        .select((tickets::state, count_star()))
        .load(conn)?)
}

/// Jobs per state, with the oldest `created_at` per state.
pub fn job_counts(conn: &mut DbConn) -> StoreResult<Vec<(String, i64, Option<NaiveDateTime>)>> {
    Ok(jobs::table
        .group_by(jobs::state)
        .select((jobs::state, count_star(), min(jobs::run_after)))
        .load(conn)?)
}

/// Names of users by id.
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)?)
}

/// The id of a user name.
pub fn user_id(conn: &mut DbConn, username: &str) -> StoreResult<Option<i64>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// The id of a project name.
pub fn project_id(conn: &mut DbConn, name: &str) -> StoreResult<Option<i64>> {
    Ok(projects::table
        .filter(projects::name.eq(name))
        .select(projects::id)
        .first(conn)
        .optional()?)
}

/// Every project name.
pub fn project_names(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    Ok(projects::table
        .order(projects::name.asc())
        .select(projects::name)
        .load(conn)?)
}

/// Members of a project as (username, role).
pub fn members(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<(String, String)>> {
    Ok(project_members::table
        .inner_join(users::table)
        .filter(project_members::project_id.eq(project_id))
        .order((project_members::role.asc(), users::username.asc()))
        .select((users::username, project_members::role))
        .load(conn)?)
}

/// Project names and roles of a user.
pub fn memberships(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<(i64, String, String)>> {
    Ok(project_members::table
        .inner_join(projects::table)
        .filter(project_members::user_id.eq(user_id))
        .order(projects::name.asc())
        .select((projects::id, projects::name, project_members::role))
        .load(conn)?)
}

/// Names of the host groups a project ships to.
pub fn project_host_groups(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<String>> {
    use super::schema::project_host_groups as phg;
    Ok(phg::table
        .inner_join(host_groups::table)
        .filter(phg::project_id.eq(project_id))
        .order(host_groups::name.asc())
        .select(host_groups::name)
        .load(conn)?)
}

/// Every host group with its hosts.
pub fn host_groups(conn: &mut DbConn) -> StoreResult<Vec<(HostGroupRow, Vec<HostRow>)>> {
    let groups: Vec<HostGroupRow> = host_groups::table
        .order(host_groups::name.asc())
        .select(HostGroupRow::as_select())
        .load(conn)?;
    let all: Vec<HostRow> = hosts::table
        .order(hosts::name.asc())
        .select(HostRow::as_select())
        .load(conn)?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let mine = all.iter().filter(|h| h.group_id == g.id).cloned().collect();
            (g, mine)
        })
        .collect())
}

/// Every user, by name.
pub fn users(conn: &mut DbConn) -> StoreResult<Vec<UserRow>> {
    super::users::list(conn)
}

/// A project's release tickets that got a version, newest first.
pub fn released(conn: &mut DbConn, project_id: i64, limit: i64) -> StoreResult<Vec<TicketListRow>> {
    Ok(tickets::table
        .inner_join(projects::table)
        .inner_join(users::table.on(users::id.eq(tickets::submitter_id)))
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::kind.eq("release"))
        .filter(tickets::state.eq_any(["released", "rolled_back"]))
        .order(tickets::version.desc())
        .limit(limit)
        .select((
            tickets::id,
            projects::name,
            tickets::kind,
            tickets::state,
            tickets::reason,
            users::username,
            tickets::version,
            tickets::target_version,
            tickets::created_at,
            tickets::updated_at,
        ))
        .load(conn)?)
}

/// When each of these tickets last shipped (the `ship-succeeded` event).
pub fn shipped_at(conn: &mut DbConn, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, NaiveDateTime)>> {
    Ok(ticket_events::table
        .filter(ticket_events::ticket_id.eq_any(ticket_ids))
        .filter(ticket_events::action.eq("ship-succeeded"))
        .select((ticket_events::ticket_id, ticket_events::created_at))
        .load(conn)?)
}

/// Approver names per ticket (all generations; the last counts).
pub fn approvers_of(conn: &mut DbConn, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, String, i32)>> {
    Ok(approvals::table
        .inner_join(users::table.on(users::id.eq(approvals::user_id)))
        .filter(approvals::ticket_id.eq_any(ticket_ids))
        .order(approvals::id.asc())
        .select((approvals::ticket_id, users::username, approvals::generation))
        .load(conn)?)
}

/// Tickets by id (any order), for pages that decide over many at once.
pub fn tickets_by_ids(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::id.eq_any(ids))
        .select(TicketRow::as_select())
        .load(conn)?)
}

/// The approvals of these tickets, oldest first.
pub fn approvals_of_tickets(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<ApprovalRow>> {
    Ok(approvals::table
        .filter(approvals::ticket_id.eq_any(ids))
        .order(approvals::id.asc())
        .select(ApprovalRow::as_select())
        .load(conn)?)
}

/// The oldest `run_after` of a queued job that is due by `now` (None: nothing waits).
pub fn oldest_due_job(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<Option<NaiveDateTime>> {
    Ok(jobs::table
        .filter(jobs::state.eq("queued"))
        .filter(jobs::run_after.le(now))
        .select(min(jobs::run_after))
        .first::<Option<NaiveDateTime>>(conn)?)
}

/// Running jobs whose lease has expired (their worker is gone; the sweep re-queues them).
pub fn expired_leases(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<i64> {
    Ok(jobs::table
        .filter(jobs::state.eq("running"))
        .filter(jobs::locked_until.lt(now))
        .count()
        .get_result(conn)?)
}
