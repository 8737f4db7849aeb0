//! What runs where: for each host of a project, the release its `current`
//! pointed at when last read (with the time read), the ticket and approvers
//! of that release, what Slipway recorded (`hosts.running_version`), and
//! flags when the host differs from the record or the hosts of its group
//! disagree, and the drift last found. A refresh reads every host in a
//! `service` job (`op = "where"`); a verify checks drift (`op = "verify"`).

use chrono::NaiveDateTime;

use super::error::ServiceResult;
use super::project_page::project_page;
use super::Reader;
use crate::domain::VersionFormat;
use crate::jobs::job::{enqueue, Placement};
use crate::jobs::service_job::ServiceJob;
use crate::store::services::{self as store, NewServiceAction};
use crate::store::{projects, write_tx, DbConn};

/// One host in the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRuns {
    /// Its group.
    pub group: String,
    /// The host.
    pub host: String,
    /// What `current` pointed at when read (`None`: nothing, or not answering).
    pub live: Option<String>,
    /// When it was read (`None`: never).
    pub read_at: Option<NaiveDateTime>,
    /// What Slipway recorded as running there.
    pub recorded: Option<String>,
    /// The ticket that released `live`.
    pub ticket_id: Option<i64>,
    /// Who approved that ticket.
    pub approvers: Vec<String>,
    /// The host was read and runs something else than recorded.
    pub differs_from_recorded: bool,
    /// Read hosts of its group run different releases.
    pub group_disagrees: bool,
    /// The drift last found against the recorded release (`changed`,
    /// `missing`, `added` counts and the first paths), until a clean verify
    /// or another release.
    pub drift: Option<(i32, i32, i32, Vec<String>)>,
}

/// What runs where in project `name`, by group and host.
pub fn what_runs_where(conn: &mut DbConn, reader: &Reader, name: &str) -> ServiceResult<Vec<HostRuns>> {
    let page = project_page(conn, reader, name, 1000)?;
    let project = &page.facts.project;
    let format = VersionFormat::parse(&project.version_format).unwrap_or_default();
    let reads = store::host_reads(conn, project.id)?;
    let drifts = store::drifts(conn, project.id)?;
    let mut out: Vec<HostRuns> = projects::hosts_of(conn, project.id)?
        .into_iter()
        .map(|(group, h)| {
            let read = reads.iter().find(|r| r.host == h.name);
            let live = read.and_then(|r| r.version.clone());
            let released = live.as_ref().and_then(|l| page.released.iter().find(|r| &r.tag == l));
            let recorded = h.running_version.map(|v| format.render(v));
            let drift = drifts
                .iter()
                .find(|d| d.host == h.name && Some(&d.version) == recorded.as_ref())
                .map(|d| {
                    (
                        d.changed,
                        d.missing,
                        d.added,
                        d.paths.lines().map(str::to_owned).collect(),
                    )
                });
            HostRuns {
                drift,
                differs_from_recorded: read.is_some() && live != recorded,
                group,
                host: h.name,
                read_at: read.map(|r| r.read_at),
                ticket_id: released.map(|r| r.ticket.id),
                approvers: released.map(|r| r.approvers.clone()).unwrap_or_default(),
                live,
                recorded,
                group_disagrees: false,
            }
        })
        .collect();
    let groups: Vec<String> = out.iter().map(|h| h.group.clone()).collect();
    for group in groups {
        let mut seen: Vec<&Option<String>> = out
            .iter()
            .filter(|h| h.group == group && h.read_at.is_some())
            .map(|h| &h.live)
            .collect();
        seen.dedup();
        let disagree = seen.len() > 1;
        for h in out.iter_mut().filter(|h| h.group == group && h.read_at.is_some()) {
            h.group_disagrees = disagree;
        }
    }
    Ok(out)
}

/// A function that enqueues one of a project's host jobs ([`refresh`], [`verify`]).
pub type Enqueue = fn(&mut DbConn, &Reader, &str, NaiveDateTime) -> ServiceResult<i64>;

/// Enqueues a read of `current` on every host of project `name` (anyone
/// who sees the project may ask); returns the job's id.
pub fn refresh(conn: &mut DbConn, reader: &Reader, name: &str, now: NaiveDateTime) -> ServiceResult<i64> {
    enqueue_op(conn, reader, name, "where", now)
}

/// Enqueues a drift check of every host of project `name` against the
/// release recorded on it; returns the job's id.
pub fn verify(conn: &mut DbConn, reader: &Reader, name: &str, now: NaiveDateTime) -> ServiceResult<i64> {
    enqueue_op(conn, reader, name, "verify", now)
}

fn enqueue_op(conn: &mut DbConn, reader: &Reader, name: &str, op: &str, now: NaiveDateTime) -> ServiceResult<i64> {
    let project = reader.project(conn, name)?;
    let hosts: Vec<String> = projects::hosts_of(conn, project.id)?
        .into_iter()
        .map(|(_, h)| h.name)
        .collect();
    let job = ServiceJob::over(op, hosts);
    let actor = reader.user.id;
    write_tx(conn, |conn| {
        let action = store::insert_action(
            conn,
            &NewServiceAction {
                project_id: project.id,
                job_id: None,
                actor_id: Some(actor),
                service: String::new(),
                action: op.into(),
                scope: format!("all {} hosts", job.hosts.len()),
                reason: String::new(),
                created_at: now,
            },
        )?;
        let id = enqueue(
            conn,
            &job,
            Placement {
                project_id: Some(project.id),
                ticket_id: None,
                run_after: now,
            },
        )?;
        store::set_action_job(conn, action, id)?;
        Ok(id)
    })
}
