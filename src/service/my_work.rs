//! "My work": what waits on a user (tickets to approve, to test, to
//! release), their own open tickets and recent releases of their projects.
//!
//! Each section looks only where its action may be available: in the
//! states the action starts from and, per project, at anyone's tickets or
//! only the user's own, as the user's roles allow ([`crate::domain::reach`]).
//! It reads those tickets newest first across the user's projects, in
//! batches of bounded size, until the section is full; the domain decides
//! each ticket. So the page costs a few indexed queries per section,
//! whatever the number of projects and tickets: per batch, the streams'
//! ids (small cached statements on SQLite), the candidates' list rows with
//! what the domain needs (one query) and their approvals (one query).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::domain::{available_actions, reach, states_for, Action, Actor, ProjectRules, Reach, Role, UserActor};
use crate::domain::{ApprovalPolicy, FreezeCalendar, TicketState};
use crate::store::listing::{self, Owner, Stream, TicketListRow};
use crate::store::models::{ApprovalRow, ProjectRow};
use crate::store::DbConn;

use super::error::{ServiceError, ServiceResult};
use super::facts;
use super::visibility::Reader;

/// The most tickets a section lists; the ticket list (filters) shows the rest.
pub const SECTION_MAX: usize = 50;
/// Candidates read per batch of a section after the first.
const BATCH: usize = 64;
/// The most candidates a section examines (when the domain refuses most).
const MAX_EXAMINED: usize = 640;
/// Released tickets per project among the recent releases.
const RECENT_PER_PROJECT: i64 = 5;
/// Recent releases listed.
const RECENT_MAX: usize = 10;

/// What waits on a user; each list newest first.
#[derive(Debug, Clone, Default)]
pub struct MyWork {
    /// Staged builds the user may mark tested.
    pub to_test: Vec<TicketListRow>,
    /// Tickets the user may approve.
    pub to_approve: Vec<TicketListRow>,
    /// Approved tickets the user may release, or rollbacks to execute.
    pub to_release: Vec<TicketListRow>,
    /// The user's own open tickets.
    pub mine: Vec<TicketListRow>,
    /// Recent releases in the user's projects.
    pub recent: Vec<TicketListRow>,
}

/// One of the user's projects, as the domain needs it to decide.
struct Project {
    policy: ApprovalPolicy,
    freeze: FreezeCalendar,
    production_snapshot_seq: Option<i64>,
    user: UserActor,
    actor: Actor,
}

impl Project {
    fn rules(&self) -> ProjectRules<'_> {
        ProjectRules {
            policy: &self.policy,
            freeze: &self.freeze,
            production_snapshot_seq: self.production_snapshot_seq,
        }
    }
}

/// The user's projects (where they hold a role), keyed by id.
fn projects(conn: &mut DbConn, reader: &Reader) -> ServiceResult<BTreeMap<i64, Project>> {
    let user = &reader.user;
    let mut roles: BTreeMap<i64, BTreeSet<Role>> = BTreeMap::new();
    let mut rows: Vec<ProjectRow> = Vec::new();
    for (project, role) in listing::member_projects(conn, user.id)? {
        let role = role
            .parse::<Role>()
            .map_err(|e| ServiceError::Store(crate::store::StoreError::Corrupt(e.to_string())))?;
        roles.entry(project.id).or_default().insert(role);
        if rows.last().is_none_or(|last| last.id != project.id) {
            rows.push(project);
        }
    }
    if roles.is_empty() {
        return Ok(BTreeMap::new());
    }
    if user.disabled {
        return Err(ServiceError::Disabled(user.username.clone()));
    }
    let ids: Vec<i64> = roles.keys().copied().collect();
    let mut windows: HashMap<i64, Vec<_>> = HashMap::new();
    for w in listing::freeze_windows_of(conn, &ids)? {
        windows.entry(w.project_id).or_default().push(w);
    }
    let floors = facts::production_floors(conn, &rows)?;
    let mut out = BTreeMap::new();
    for row in rows {
        let user = UserActor {
            id: user.id,
            is_admin: user.is_admin,
            roles: roles.remove(&row.id).unwrap_or_default(),
        };
        let project = Project {
            policy: facts::policy(&row),
            freeze: facts::freeze_calendar(&row, windows.get(&row.id).map_or(&[][..], Vec::as_slice))?,
            production_snapshot_seq: floors.get(&row.id).and_then(|f| f.snapshot_seq),
            actor: Actor::User(user.clone()),
            user,
        };
        out.insert(row.id, project);
    }
    Ok(out)
}

/// Where any of `actions` may wait for the user: per state, every ticket of
/// the projects where they may act on anyone's, and their own tickets in
/// the projects where they may act only on those.
fn streams(projects: &BTreeMap<i64, Project>, user_id: i64, actions: &[Action]) -> Vec<Stream> {
    let mut any: BTreeMap<TicketState, BTreeSet<i64>> = BTreeMap::new();
    let mut own: BTreeMap<TicketState, BTreeSet<i64>> = BTreeMap::new();
    for (&id, project) in projects {
        for &action in actions {
            let into = match reach(action, &project.user) {
                Reach::Any => &mut any,
                Reach::Own => &mut own,
                Reach::Nothing => continue,
            };
            for state in states_for(action) {
                into.entry(state).or_default().insert(id);
            }
        }
    }
    let mut out = Vec::new();
    for (state, ids) in &any {
        out.extend(ids.iter().map(|&id| Stream {
            owner: Owner::Project(id),
            state: state.as_str(),
        }));
    }
    for (state, ids) in own {
        let ids: Vec<i64> = ids
            .difference(any.get(&state).unwrap_or(&BTreeSet::new()))
            .copied()
            .collect();
        if !ids.is_empty() {
            out.push(Stream {
                owner: Owner::Submitter {
                    user_id,
                    projects: Some(ids),
                },
                state: state.as_str(),
            });
        }
    }
    out
}

/// The newest tickets of `streams` whose available actions pass `keep`
/// (at most [`SECTION_MAX`]), newest first.
fn section(
    conn: &mut DbConn,
    projects: &BTreeMap<i64, Project>,
    streams: &[Stream],
    now: DateTime<Utc>,
    keep: impl Fn(&[Action]) -> bool,
) -> ServiceResult<Vec<TicketListRow>> {
    let mut chosen: Vec<TicketListRow> = Vec::new();
    let mut before = None;
    let mut examined = 0;
    while !streams.is_empty() {
        // The first batch is as many as the section shows (most often all
        // it needs), later ones larger; never past MAX_EXAMINED.
        let want = if examined == 0 { SECTION_MAX } else { BATCH }.min(MAX_EXAMINED - examined);
        let per_batch = i64::try_from(want).unwrap_or(i64::MAX);
        let ids = listing::newest_ids(conn, streams, before, per_batch, per_batch)?;
        let candidates = if ids.is_empty() {
            Vec::new()
        } else {
            listing::candidates_by_ids(conn, &ids)?
        };
        let mut approvals: HashMap<i64, Vec<ApprovalRow>> = HashMap::new();
        if !ids.is_empty() {
            for a in listing::approvals_of_tickets(conn, &ids)? {
                approvals.entry(a.ticket_id).or_default().push(a);
            }
        }
        for (row, decide) in candidates {
            let Some(project) = projects.get(&decide.project_id) else {
                continue;
            };
            let approvals = approvals.get(&row.id).map_or(&[][..], Vec::as_slice);
            let facts = facts::listed_facts(&row, &decide, approvals)?;
            if keep(&available_actions(&facts, project.rules(), &project.actor, now)) {
                chosen.push(row);
                if chosen.len() >= SECTION_MAX {
                    break;
                }
            }
        }
        examined += ids.len();
        if chosen.len() >= SECTION_MAX || ids.len() < want || examined >= MAX_EXAMINED {
            break;
        }
        before = ids.last().copied();
    }
    Ok(chosen)
}

/// The "my work" page of `reader`: only projects the reader sees. Its
/// queries read one snapshot (see [`crate::store::read_tx`]).
pub fn my_work(conn: &mut DbConn, reader: &Reader, now: DateTime<Utc>) -> ServiceResult<MyWork> {
    crate::store::read_tx(conn, |conn| read(conn, reader, now))
}

/// [`my_work`] inside its snapshot.
fn read(conn: &mut DbConn, reader: &Reader, now: DateTime<Utc>) -> ServiceResult<MyWork> {
    let user_id = reader.user.id;
    let projects = projects(conn, reader)?;
    let has = |actions: &[Action], wanted: Action| actions.contains(&wanted);
    let to_approve = streams(&projects, user_id, &[Action::Approve]);
    let to_test = streams(&projects, user_id, &[Action::MarkTested]);
    let to_release = streams(&projects, user_id, &[Action::Release, Action::Execute]);
    let mut work = MyWork {
        to_approve: section(conn, &projects, &to_approve, now, |a| has(a, Action::Approve))?,
        to_test: section(conn, &projects, &to_test, now, |a| {
            !has(a, Action::Approve) && has(a, Action::MarkTested)
        })?,
        to_release: section(conn, &projects, &to_release, now, |a| {
            !has(a, Action::Approve)
                && !has(a, Action::MarkTested)
                && (has(a, Action::Release) || has(a, Action::Execute))
        })?,
        ..MyWork::default()
    };

    // Recent releases: the newest few of each project, the latest changed first.
    let released: Vec<Stream> = projects
        .keys()
        .map(|&id| Stream {
            owner: Owner::Project(id),
            state: TicketState::Released.as_str(),
        })
        .collect();
    let limit = RECENT_PER_PROJECT * i64::try_from(released.len()).unwrap_or(i64::MAX / RECENT_PER_PROJECT);
    let ids = if released.is_empty() {
        Vec::new()
    } else {
        listing::newest_ids(conn, &released, None, RECENT_PER_PROJECT, limit)?
    };
    let shown = i64::try_from(RECENT_MAX).unwrap_or(i64::MAX);
    work.recent = listing::latest_changed_by_ids(conn, &ids, shown)?;

    // The user's own open tickets, in the projects they see.
    let scope = reader.scope(conn)?.ids();
    let mine: Vec<Stream> = TicketState::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .map(|s| Stream {
            owner: Owner::Submitter {
                user_id,
                projects: scope.clone(),
            },
            state: s.as_str(),
        })
        .collect();
    let limit = i64::try_from(SECTION_MAX).unwrap_or(i64::MAX);
    let ids = listing::newest_ids(conn, &mine, None, limit, limit)?;
    work.mine = listing::list_rows_by_ids(conn, &ids)?;
    Ok(work)
}
