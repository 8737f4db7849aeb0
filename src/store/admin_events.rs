//! The admin audit trail: changes admins make outside tickets (host groups,
//! hosts, trusted ssh host keys). Written by `service::admin` and
//! `service::host_check` inside their transactions; read by the audit page.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::schema::{admin_events, users};

/// One admin change with the actor's user name.
#[derive(Debug, Clone)]
pub struct AdminEventRow {
    /// Row id (the page cursor).
    pub id: i64,
    /// Who (None: a deleted user, or Slipway itself).
    pub actor: Option<String>,
    /// What, e.g. `host.create` (a translation key under `admin_action`).
    pub action: String,
    /// What it was done to, e.g. `web/web1`.
    pub subject: String,
    /// Details, e.g. the target or a key fingerprint.
    pub detail: String,
    /// When.
    pub created_at: NaiveDateTime,
}

/// Records one admin change.
pub fn insert(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    action: &str,
    subject: &str,
    detail: &str,
    at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(admin_events::table)
        .values((
            admin_events::actor_id.eq(actor_id),
            admin_events::action.eq(action),
            admin_events::subject.eq(subject),
            admin_events::detail.eq(detail),
            admin_events::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` admin changes, newest first, with ids below `cursor`, by
/// `actor_id` when given; and whether more follow.
pub fn page(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    cursor: Option<i64>,
    limit: i64,
) -> StoreResult<(Vec<AdminEventRow>, bool)> {
    let mut query = admin_events::table
        .left_join(users::table.on(users::id.nullable().eq(admin_events::actor_id)))
        .select((
            admin_events::id,
            users::username.nullable(),
            admin_events::action,
            admin_events::subject,
            admin_events::detail,
            admin_events::created_at,
        ))
        .into_boxed();
    if let Some(a) = actor_id {
        query = query.filter(admin_events::actor_id.eq(a));
    }
    if let Some(c) = cursor {
        query = query.filter(admin_events::id.lt(c));
    }
    let rows: Vec<(i64, Option<String>, String, String, String, NaiveDateTime)> =
        query.order(admin_events::id.desc()).limit(limit + 1).load(conn)?;
    let more = rows.len() as i64 > limit;
    Ok((
        rows.into_iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(id, actor, action, subject, detail, created_at)| AdminEventRow {
                id,
                actor,
                action,
                subject,
                detail,
                created_at,
            })
            .collect(),
        more,
    ))
}
