//! Rows of tickets, their events and approvals.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::json::Json;
use crate::store::schema::{approvals, ticket_events, tickets};
use crate::store::stored_time::StoredTime;

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
    /// JSON list of the files outside the ticket's SVN paths that its
    /// snapshot changes on production (`service::outside::OutsidePath`),
    /// written by staging.
    pub outside_paths: String,
    /// Who confirmed those files when marking the snapshot tested.
    pub outside_paths_confirmed_by: Option<i64>,
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
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
}
