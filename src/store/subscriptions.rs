//! Subscriptions: who hears about what. Per-user mail opt-outs, project
//! watchers and webhooks, a project's approval-reminder interval and the
//! reminders sent (migration 7). The tables are declared here, like
//! `api_tokens`, so the shared schema file stays untouched.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;

diesel::table! {
    notification_prefs (user_id, kind) {
        user_id -> BigInt,
        kind -> Text,
        enabled -> Bool,
    }
}

diesel::table! {
    project_watchers (project_id, user_id) {
        project_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    project_webhooks (id) {
        id -> BigInt,
        project_id -> BigInt,
        url -> Text,
        secret -> Text,
        preset -> Text,
        created_at -> Timestamp,
        language -> Text,
    }
}

diesel::table! {
    project_notify_settings (project_id) {
        project_id -> BigInt,
        reminder_minutes -> Integer,
    }
}

diesel::table! {
    approval_reminders (event_id, level) {
        event_id -> BigInt,
        level -> Integer,
        sent_at -> Timestamp,
    }
}

/// Minutes a ticket waits for approval before a reminder, when a project sets none.
pub const DEFAULT_REMINDER_MINUTES: i32 = 240;

/// A project's webhook.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_webhooks)]
pub struct WebhookRow {
    /// Id.
    pub id: i64,
    /// Project.
    pub project_id: i64,
    /// Where to POST.
    pub url: String,
    /// HMAC key (may be empty: no signature header).
    pub secret: String,
    /// `json`, `dingtalk`, `wecom`, `feishu` or `slack`.
    pub preset: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Language of chat message texts (`en` or `zh-CN`).
    pub language: String,
}

/// The notification kinds `user_id` turned off.
pub fn disabled_kinds(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<String>> {
    Ok(notification_prefs::table
        .filter(notification_prefs::user_id.eq(user_id))
        .filter(notification_prefs::enabled.eq(false))
        .select(notification_prefs::kind)
        .order(notification_prefs::kind.asc())
        .load(conn)?)
}

/// Turns notification `kind` on or off for `user_id`.
pub fn set_pref(conn: &mut DbConn, user_id: i64, kind: &str, enabled: bool) -> StoreResult<()> {
    diesel::delete(
        notification_prefs::table
            .filter(notification_prefs::user_id.eq(user_id))
            .filter(notification_prefs::kind.eq(kind)),
    )
    .execute(conn)?;
    if !enabled {
        diesel::insert_into(notification_prefs::table)
            .values((
                notification_prefs::user_id.eq(user_id),
                notification_prefs::kind.eq(kind),
                notification_prefs::enabled.eq(false),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Makes `user_id` a watcher of `project_id`.
pub fn add_watcher(conn: &mut DbConn, project_id: i64, user_id: i64) -> StoreResult<()> {
    diesel::insert_into(project_watchers::table)
        .values((
            project_watchers::project_id.eq(project_id),
            project_watchers::user_id.eq(user_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// The watchers of `project_id` (user ids).
pub fn watchers(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<i64>> {
    Ok(project_watchers::table
        .filter(project_watchers::project_id.eq(project_id))
        .select(project_watchers::user_id)
        .order(project_watchers::user_id.asc())
        .load(conn)?)
}

/// Adds a webhook; returns its id.
pub fn insert_webhook(
    conn: &mut DbConn,
    project_id: i64,
    url: &str,
    secret: &str,
    preset: &str,
    language: &str,
    now: NaiveDateTime,
) -> StoreResult<i64> {
    Ok(diesel::insert_into(project_webhooks::table)
        .values((
            project_webhooks::project_id.eq(project_id),
            project_webhooks::url.eq(url),
            project_webhooks::secret.eq(secret),
            project_webhooks::preset.eq(preset),
            project_webhooks::language.eq(language),
            project_webhooks::created_at.eq(now),
        ))
        .returning(project_webhooks::id)
        .get_result(conn)?)
}

/// The webhooks of `project_id`.
pub fn webhooks(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<WebhookRow>> {
    Ok(project_webhooks::table
        .filter(project_webhooks::project_id.eq(project_id))
        .order(project_webhooks::id.asc())
        .select(WebhookRow::as_select())
        .load(conn)?)
}

/// Every webhook's URL and secret, of every project (the secrets scrubbed
/// from job output).
pub fn all_webhook_secrets(conn: &mut DbConn) -> StoreResult<Vec<(String, String)>> {
    Ok(project_webhooks::table
        .select((project_webhooks::url, project_webhooks::secret))
        .load(conn)?)
}

/// The webhook with `id`.
pub fn webhook(conn: &mut DbConn, id: i64) -> StoreResult<Option<WebhookRow>> {
    Ok(project_webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?)
}

/// The project's reminder interval in minutes.
pub fn reminder_minutes(conn: &mut DbConn, project_id: i64) -> StoreResult<i32> {
    Ok(project_notify_settings::table
        .find(project_id)
        .select(project_notify_settings::reminder_minutes)
        .first(conn)
        .optional()?
        .unwrap_or(DEFAULT_REMINDER_MINUTES))
}

/// Sets the project's reminder interval.
pub fn set_reminder_minutes(conn: &mut DbConn, project_id: i64, minutes: i32) -> StoreResult<()> {
    diesel::delete(project_notify_settings::table.find(project_id)).execute(conn)?;
    diesel::insert_into(project_notify_settings::table)
        .values((
            project_notify_settings::project_id.eq(project_id),
            project_notify_settings::reminder_minutes.eq(minutes),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records reminder `level` for `event_id`; false when it was already sent.
pub fn record_reminder(conn: &mut DbConn, event_id: i64, level: i32, now: NaiveDateTime) -> StoreResult<bool> {
    let exists: i64 = approval_reminders::table
        .filter(approval_reminders::event_id.eq(event_id))
        .filter(approval_reminders::level.eq(level))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(approval_reminders::table)
        .values((
            approval_reminders::event_id.eq(event_id),
            approval_reminders::level.eq(level),
            approval_reminders::sent_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}
