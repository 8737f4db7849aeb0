//! Filing tickets: a release ([`submit`]) or a rollback
//! ([`request_rollback`]); each writes the ticket, its first event and its
//! job in one transaction.

use chrono::{DateTime, Utc};

use crate::domain::transition::{create_action, rollback_target_ok};
use crate::domain::validate::codes;
use crate::domain::{decide_create, Reason, TicketKind};
use crate::store::models::{NewEvent, NewTicket, ProjectRow};
use crate::store::{tickets, write_tx, DbConn};

use super::{enqueue, load_actor, load_project, to_naive, write_event, ActorRef, Applied, NewRelease};
use crate::service::error::ServiceResult;
use crate::service::facts;

/// Files a release ticket as `actor`; it starts `submitted` with a stage job.
pub fn submit(
    conn: &mut DbConn,
    actor: ActorRef,
    input: &NewRelease<'_>,
    now: DateTime<Utc>,
) -> ServiceResult<Applied> {
    let (reason, paths_json) =
        crate::service::ticket_input::check(input).map_err(crate::service::ticket_input::first)?;
    write_tx(conn, |conn| {
        let project = load_project(conn, input.project)?;
        create(
            conn,
            &project,
            actor,
            TicketKind::Release,
            reason,
            paths_json,
            input.svn_revision,
            None,
            now,
        )
    })
}

/// Requests a rollback of `project` to released `version`.
pub fn request_rollback(
    conn: &mut DbConn,
    actor: ActorRef,
    project: &str,
    version: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Applied> {
    let reason = Reason::parse("reason", reason)?;
    write_tx(conn, |conn| {
        let project = load_project(conn, project)?;
        let was_released = tickets::by_version(conn, project.id, version)?
            .is_some_and(|t| matches!(t.state.as_str(), "released" | "rolled_back"));
        if !was_released {
            let problem = format!("version {version} was never released");
            return Err(
                crate::domain::InvalidInput::new("version", codes::VERSION_NEVER_RELEASED, problem)
                    .with("version", version)
                    .into(),
            );
        }
        if !rollback_target_ok(facts::production_floor(conn, &project)?.version, version) {
            return Err(crate::domain::InvalidInput::new(
                "version",
                codes::ROLLBACK_NOT_OLDER,
                "a rollback goes back to a version older than the one production runs",
            )
            .into());
        }
        create(
            conn,
            &project,
            actor,
            TicketKind::Rollback,
            reason,
            "[]".to_owned(),
            None,
            Some(version),
            now,
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn create(
    conn: &mut DbConn,
    project: &ProjectRow,
    actor: ActorRef,
    kind: TicketKind,
    reason: Reason,
    svn_paths: String,
    svn_revision: Option<i64>,
    target_version: Option<i64>,
    now: DateTime<Utc>,
) -> ServiceResult<Applied> {
    let domain_actor = load_actor(conn, actor, project.id)?;
    let decision = decide_create(kind, &domain_actor)?;
    let now = to_naive(now);
    let ticket = tickets::insert(
        conn,
        &NewTicket {
            project_id: project.id,
            kind: kind.as_str().to_owned(),
            state: decision.to.as_str().to_owned(),
            reason: reason.into_string(),
            svn_paths,
            svn_revision,
            target_version,
            submitter_id: domain_actor.user_id().unwrap_or_default(),
            created_at: now,
            updated_at: now,
        },
    )?;
    let event_id = write_event(
        conn,
        project.id,
        &NewEvent {
            ticket_id: ticket.id,
            actor_id: domain_actor.user_id(),
            action: create_action(kind).as_str().to_owned(),
            from_state: None,
            to_state: decision.to.as_str().to_owned(),
            note: None,
            emergency_override: false,
            created_at: now,
        },
    )?;
    let job_id = decision
        .enqueue
        .map(|kind| enqueue(conn, kind, &ticket, now))
        .transpose()?;
    Ok(Applied {
        ticket,
        event_id,
        job_id,
    })
}
