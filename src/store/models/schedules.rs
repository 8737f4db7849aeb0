//! Rows of scheduled releases (issue 14).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::schema::release_schedules;

/// A ticket's release (or rollback execution) scheduled for a time.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = release_schedules)]
pub struct ScheduleRow {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Its project.
    pub project_id: i64,
    /// When to release (UTC).
    pub run_at: NaiveDateTime,
    /// Who scheduled it (the release is theirs).
    pub scheduled_by: i64,
    /// `pending`, `started`, `done`, `failed` or `cancelled`.
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The job that started it.
    pub job_id: Option<i64>,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// The stable code of why it failed (a translation key), when it was refused.
    pub error_code: Option<String>,
}

/// A new schedule.
#[derive(Debug, Insertable)]
#[diesel(table_name = release_schedules)]
pub struct NewSchedule {
    /// The ticket.
    pub ticket_id: i64,
    /// Its project.
    pub project_id: i64,
    /// When (UTC).
    pub run_at: NaiveDateTime,
    /// Who.
    pub scheduled_by: i64,
    /// `pending`.
    pub state: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}
