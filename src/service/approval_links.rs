//! One-click approval links (invariant 8 of DESIGN.md): checking a verified
//! link against the database, and using it. Using a link marks its id used
//! and applies its action in ONE transaction: an action that fails leaves
//! the link unused, and of two concurrent uses only one acts.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Action;
use crate::notify::links::LinkClaims;
use crate::store::{projects, tickets, timestamp_now, tokens, users, DbConn};

use super::error::{ServiceError, ServiceResult};
use super::tickets::{apply_with, ActionInput, ActorRef};
use super::visibility::{Reader, Visibility};

/// What the confirmation page shows about the linked ticket.
#[derive(Debug, Clone, Serialize)]
pub struct LinkSummary {
    /// The ticket's id.
    pub id: i64,
    /// Its project's name.
    pub project: String,
    /// Why the ticket was filed.
    pub reason: String,
    /// Who filed it ("Display (username)").
    pub submitter: String,
    /// The ticket's state.
    pub state: String,
    /// The link's approver ("Display (username)").
    pub approver: String,
    /// The ticket's lock version when checked.
    pub lock_version: i32,
    /// Files the release changes outside the ticket's SVN paths (issue 12).
    pub outside_paths: Vec<super::outside::OutsidePath>,
    /// A tester confirmed them.
    pub outside_paths_confirmed: bool,
}

/// The answer of [`check`] and [`use_link`].
#[derive(Debug, Clone)]
pub enum LinkVerdict {
    /// The link may be used (or, from [`use_link`], was used).
    Usable(LinkSummary),
    /// Refused, nothing changed: the reason code (`other_user`, `used`,
    /// `gone`, `stale`) and the ticket to name, if the viewer may know it.
    Refused(&'static str, Option<i64>),
}

fn name_of(conn: &mut DbConn, id: i64) -> ServiceResult<Option<String>> {
    Ok(users::by_id(conn, id)?.map(|u| {
        if u.display_name.trim().is_empty() {
            u.username
        } else {
            format!("{} ({})", u.display_name, u.username)
        }
    }))
}

/// Checks a verified link against the database (read only); `viewer` is
/// the signed-in user opening it, if any.
pub fn check(
    conn: &mut DbConn,
    claims: &LinkClaims,
    viewer: Option<i64>,
    visibility: Visibility,
) -> ServiceResult<LinkVerdict> {
    if viewer.is_some_and(|v| v != claims.uid) {
        return Ok(LinkVerdict::Refused("other_user", Some(claims.tid)));
    }
    if tokens::token_used(conn, &claims.jti)? {
        return Ok(LinkVerdict::Refused("used", Some(claims.tid)));
    }
    let Some(ticket) = tickets::by_id(conn, claims.tid)? else {
        return Ok(LinkVerdict::Refused("gone", None));
    };
    let approver = match users::by_id(conn, claims.uid)? {
        Some(u) if !u.disabled => u,
        _ => return Ok(LinkVerdict::Refused("gone", Some(ticket.id))),
    };
    // An approver who no longer sees the project (removed from it) is told
    // nothing about the ticket, not even its number.
    if !Reader::new(approver, visibility).sees(conn, ticket.project_id)? {
        return Ok(LinkVerdict::Refused("gone", None));
    }
    if ticket.state != claims.st || ticket.stage_generation != claims.gen {
        return Ok(LinkVerdict::Refused("stale", Some(ticket.id)));
    }
    let project = projects::by_id(conn, ticket.project_id)?
        .ok_or_else(|| ServiceError::not_found("project", ticket.project_id))?;
    Ok(LinkVerdict::Usable(LinkSummary {
        id: ticket.id,
        project: project.name,
        reason: ticket.reason.clone(),
        submitter: name_of(conn, ticket.submitter_id)?.unwrap_or_default(),
        state: ticket.state.clone(),
        approver: name_of(conn, claims.uid)?.unwrap_or_default(),
        lock_version: ticket.lock_version,
        outside_paths: super::outside::stored(&ticket),
        outside_paths_confirmed: ticket.outside_paths_confirmed_by.is_some(),
    }))
}

/// Uses a verified link: checks it, then in one transaction records its id
/// as used and approves or rejects as the link's approver (with the lock
/// version the check read). A refused action is an `Err` and leaves the
/// link unused; a link used meanwhile by another request is `Refused("used")`.
pub fn use_link(
    conn: &mut DbConn,
    claims: &LinkClaims,
    viewer: Option<i64>,
    visibility: Visibility,
    note: Option<String>,
    now: DateTime<Utc>,
) -> ServiceResult<LinkVerdict> {
    let summary = match check(conn, claims, viewer, visibility)? {
        LinkVerdict::Usable(s) => s,
        refused @ LinkVerdict::Refused(..) => return Ok(refused),
    };
    let action = if claims.act == "reject" {
        Action::Reject
    } else {
        Action::Approve
    };
    let mut input = ActionInput::new(action, ActorRef::User(claims.uid));
    input.note = note;
    input.expected_lock_version = Some(summary.lock_version);
    let mut raced = false;
    let applied = apply_with(conn, claims.tid, &input, now, |conn| {
        if tokens::use_token(conn, &claims.jti, claims.tid, claims.uid, timestamp_now())? {
            Ok(())
        } else {
            raced = true;
            Err(ServiceError::Conflict(
                super::error::codes::LINK_USED,
                "approval link already used".into(),
            ))
        }
    });
    match applied {
        Ok(_) => {
            tracing::info!(ticket = claims.tid, user = claims.uid, action = %claims.act, "approval link used");
            Ok(LinkVerdict::Usable(summary))
        }
        Err(_) if raced => Ok(LinkVerdict::Refused("used", Some(claims.tid))),
        Err(e) => Err(e),
    }
}
