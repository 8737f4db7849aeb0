//! Verify a project's hosts against the releases Slipway recorded on them:
//! export each recorded tag from the project's snapshot repository (as a
//! release does) and compare every host's live tree with it
//! ([`crate::deploy::drift`]). Used by `slipway verify` and by the
//! `service` job's `verify` operation, which records each host's drift.

use std::path::Path;

use crate::deploy::drift::{drift, Drift};
use crate::deploy::{Context, DeployHost, DeploySettings, HostEvent, OutputLine, Target};
use crate::domain::VersionFormat;
use chrono::NaiveDateTime;

use crate::store::admin_events;
use crate::store::services::{self, HostDriftRow};
use crate::store::{projects, write_tx, DbConn, Pool, StoreResult};

use super::job::DriftNoticeJob;
use crate::vcs::{snapshot_repo_path, SnapshotRepo};

use super::ship_record::DeployInputs;

/// One host's verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostVerify {
    /// The host.
    pub host: String,
    /// The release Slipway recorded on it (`None`: none).
    pub version: Option<String>,
    /// How its tree differs, or why it could not be compared.
    pub result: Result<Drift, String>,
}

/// Verifies the hosts of project `name` (only `only`, when given).
pub fn verify_project(pool: &Pool, data_dir: &Path, name: &str, only: Option<&str>) -> Result<Vec<HostVerify>, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let project = projects::by_name(&mut conn, name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no project `{name}`"))?;
    let settings = DeploySettings::from_json(&project.deploy).map_err(|e| e.to_string())?;
    let excludes = project.excludes.get().map_err(|e| e.to_string())?.clone();
    let format = VersionFormat::parse(&project.version_format).map_err(|e| e.to_string())?;
    let hosts = projects::hosts_of(&mut conn, project.id).map_err(|e| e.to_string())?;
    let relays = super::relays::of_project(&mut conn, project.id).map_err(|e| e.to_string())?;
    drop(conn);
    let chosen: Vec<_> = hosts
        .into_iter()
        .filter(|(_, h)| only.is_none_or(|o| o == h.name))
        .collect();
    if chosen.is_empty() {
        return Err(match only {
            Some(h) => format!("project `{name}` has no host `{h}`"),
            None => format!("project `{name}` has no hosts"),
        });
    }
    let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(data_dir, &project.name)).map_err(|e| e.to_string())?;
    let known_hosts = DeployInputs::known_hosts(data_dir);
    let on_event = |_: HostEvent| {};
    let on_line = |_: &str, _: OutputLine| {};
    let should_abort = || false;
    let ctx = Context {
        settings: &settings,
        excludes: &excludes,
        env: &[],
        known_hosts: &known_hosts,
        on_event: &on_event,
        on_line: &on_line,
        should_abort: &should_abort,
        cancel: None,
    };
    Ok(chosen
        .into_iter()
        .map(|(group, h)| {
            // Behind a relay the comparison is refused, never made around it.
            let via = relays.get(&group).cloned().flatten();
            let version = h.running_version.map(|v| format.render(v));
            let result = match &version {
                None => Err("Slipway recorded no release on this host".to_owned()),
                Some(tag) => Target::parse(&h.target).map_err(|e| e.to_string()).and_then(|target| {
                    let dir = super::export::export(&repo, data_dir, &project.name, tag, tag, &mut |_| {})
                        .map_err(|e| e.to_string())?;
                    let host = DeployHost {
                        name: h.name.clone(),
                        target,
                        via,
                    };
                    drift(&ctx, &host, &dir).map_err(|e| e.to_string())
                }),
            };
            HostVerify {
                host: h.name,
                version,
                result,
            }
        })
        .collect())
}

/// The drift row of a verified host (`None`: clean).
pub fn drift_row(project_id: i64, host: &str, version: &str, d: &Drift, now: NaiveDateTime) -> Option<HostDriftRow> {
    if d.is_clean() {
        return None;
    }
    let mut paths = Vec::new();
    for (mark, list) in [("changed", &d.changed), ("missing", &d.missing), ("added", &d.added)] {
        paths.extend(list.iter().map(|p| format!("{mark} {p}")));
    }
    Some(HostDriftRow {
        project_id,
        host: host.to_owned(),
        version: version.to_owned(),
        changed: i32::try_from(d.changed.len()).unwrap_or(i32::MAX),
        missing: i32::try_from(d.missing.len()).unwrap_or(i32::MAX),
        added: i32::try_from(d.added.len()).unwrap_or(i32::MAX),
        paths: paths.into_iter().take(50).collect::<Vec<_>>().join("\n"),
        found_at: now,
    })
}

/// Records a verified host's drift (`None`: clean, which clears it), in one
/// transaction. Drift that is new or differs from the recorded one is a
/// project event: a line `drift` in the admin audit trail and a
/// `drift-notice` job (leads, watchers, webhooks). Returns whether it was.
pub fn note_drift(
    conn: &mut DbConn,
    project_id: i64,
    project: &str,
    host: &str,
    row: Option<&HostDriftRow>,
) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let before = services::drift_of(conn, project_id, host)?;
        let same = |b: &HostDriftRow, r: &HostDriftRow| {
            (&b.version, b.changed, b.missing, b.added, &b.paths)
                == (&r.version, r.changed, r.missing, r.added, &r.paths)
        };
        let news = match (&before, row) {
            (_, None) => false,
            (Some(b), Some(r)) => !same(b, r),
            (None, Some(_)) => true,
        };
        if !news && row.is_some() {
            // The same drift again: keep the first finding and its time.
            return Ok(false);
        }
        services::put_drift(conn, project_id, host, row)?;
        let Some(r) = row.filter(|_| news) else {
            return Ok(false);
        };
        let detail = format!(
            "{}: {} changed, {} missing, {} added",
            r.version, r.changed, r.missing, r.added
        );
        admin_events::insert(
            conn,
            None,
            DRIFT_ACTION,
            &format!("{project}/{host}"),
            &detail,
            r.found_at,
        )?;
        let notice = DriftNoticeJob {
            project_id,
            host: host.to_owned(),
            version: r.version.clone(),
            changed: r.changed,
            missing: r.missing,
            added: r.added,
            paths: r.paths.lines().take(20).map(str::to_owned).collect(),
            found_at: r.found_at.and_utc().to_rfc3339(),
            user_id: None,
            webhook_id: None,
        };
        super::announce::enqueue_drift(conn, &notice, r.found_at)?;
        Ok(true)
    })
}

/// Parses a project's verify cron (six fields, seconds first).
pub fn parse_cron(expr: &str) -> Option<croner::Cron> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .build()
        .parse(expr)
        .ok()
}

/// Whether a verify cron is due at `now`: a time it names has passed since
/// it last ran (`last`; never ran: since a minute before `now`).
pub fn cron_due(cron: &croner::Cron, last: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    let since = last.unwrap_or(now - chrono::TimeDelta::minutes(1)).and_utc();
    cron.find_next_occurrence(&since, false)
        .is_ok_and(|next| next <= now.and_utc())
}

/// The site cron entry: enqueues a verify (a `service` job, `op = verify`)
/// for each project whose `verify_cron` is due and that has hosts and no
/// service job waiting; records when. Returns how many it enqueued.
pub fn enqueue_due_verifies(pool: &Pool) -> Result<usize, crate::store::StoreError> {
    let mut conn = pool.get()?;
    let now = crate::store::timestamp_now();
    let mut queued = 0;
    for project in projects::list(&mut conn)? {
        let Some(cron) = Some(project.verify_cron.trim())
            .filter(|c| !c.is_empty())
            .and_then(parse_cron)
        else {
            continue;
        };
        if !cron_due(&cron, project.verify_cron_at, now) {
            continue;
        }
        let hosts: Vec<String> = projects::hosts_of(&mut conn, project.id)?
            .into_iter()
            .map(|(_, h)| h.name)
            .collect();
        write_tx(&mut conn, |conn| -> StoreResult<()> {
            projects::set_verify_cron_at(conn, project.id, now)?;
            let kind = <super::service_job::ServiceJob as super::job::Job>::KIND;
            if hosts.is_empty() || crate::store::jobs::pending_exists(conn, kind, project.id)? {
                return Ok(());
            }
            let job = super::service_job::ServiceJob::over("verify", hosts.clone());
            let at = super::job::Placement {
                project_id: Some(project.id),
                ticket_id: None,
                run_after: now,
            };
            super::job::enqueue(conn, &job, at)?;
            queued += 1;
            Ok(())
        })?;
    }
    Ok(queued)
}

/// The admin audit action of drift found (a translation key under `admin_action`).
pub const DRIFT_ACTION: &str = "drift";

/// The `verify` operation of a `service` job: verifies every host of the
/// project, logs the result and records each host's drift (a clean host's
/// record is removed).
pub(super) fn record(ctx: &mut super::JobContext, name: &str, project_id: i64) -> Result<(), super::JobError> {
    use super::log::LogStream;
    let report = verify_project(&ctx.pool, &ctx.data_dir, name, None).map_err(super::JobError::Permanent)?;
    let now = crate::store::timestamp_now();
    let mut conn = ctx.pool.get().map_err(|e| super::JobError::Retryable(e.to_string()))?;
    for h in &report {
        let version = h.version.clone().unwrap_or_default();
        match &h.result {
            Err(e) => ctx
                .log
                .line(LogStream::Stderr, &format!("[{}] not verified: {e}", h.host)),
            Ok(d) => {
                let row = drift_row(project_id, &h.host, &version, d, now);
                let said = match &row {
                    None => "clean".to_owned(),
                    Some(r) => format!("drift: {} changed, {} missing, {} added", r.changed, r.missing, r.added),
                };
                ctx.log
                    .line(LogStream::Info, &format!("[{}] {version}: {said}", h.host));
                if let Some(r) = &row {
                    for line in r.paths.lines() {
                        ctx.log.line(LogStream::Stdout, &format!("[{}] {line}", h.host));
                    }
                }
                if note_drift(&mut conn, project_id, name, &h.host, row.as_ref())
                    .map_err(|e| super::JobError::Retryable(e.to_string()))?
                {
                    ctx.log.line(
                        LogStream::Info,
                        &format!("[{}] new drift: recorded and announced", h.host),
                    );
                }
            }
        }
    }
    ctx.log.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verify_cron_is_due_once_its_time_passed_since_it_last_ran() {
        let at = |h, m, sec| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
                .and_then(|d| d.and_hms_opt(h, m, sec))
                .expect("time")
        };
        let cron = parse_cron("0 0 3 * * *").expect("cron");
        assert!(parse_cron("0 3 * * *").is_none(), "five fields: no seconds");
        assert!(parse_cron("nonsense").is_none());
        assert!(!cron_due(&cron, Some(at(2, 0, 0)), at(2, 59, 59)));
        assert!(cron_due(&cron, Some(at(2, 0, 0)), at(3, 0, 30)));
        assert!(!cron_due(&cron, Some(at(3, 0, 30)), at(3, 1, 30)), "ran already");
        assert!(cron_due(&cron, None, at(3, 0, 30)), "never ran: the last minute counts");
        assert!(!cron_due(&cron, None, at(4, 0, 0)));
    }
}
