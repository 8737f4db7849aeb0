//! `slipway verify PROJECT [--host NAME]`: compare each host's live tree
//! with the release Slipway recorded on it and print the files changed,
//! missing and added. Exits 1 when a host drifted or could not be compared.
//! Each compared host's drift is recorded as the project page's button does
//! (new drift is audited and announced; a clean host's record is cleared).

use crate::config::Config;

use super::{open_db, Failure};

/// Records each compared host's drift.
fn record(pool: &crate::store::Pool, project: &str, report: &[crate::jobs::verify::HostVerify]) -> Result<(), Failure> {
    use crate::jobs::verify::{drift_row, note_drift};
    let mut conn = pool.get().map_err(|e| Failure::op(e.to_string()))?;
    let Some(p) = crate::store::projects::by_name(&mut conn, project).map_err(|e| Failure::op(e.to_string()))? else {
        return Ok(());
    };
    let now = crate::store::timestamp_now();
    for h in report {
        if let Ok(d) = &h.result {
            let row = drift_row(p.id, &h.host, h.version.as_deref().unwrap_or(""), d, now);
            note_drift(&mut conn, p.id, &p.name, &h.host, row.as_ref()).map_err(|e| Failure::op(e.to_string()))?;
        }
    }
    Ok(())
}

/// Runs the verification and prints one block per host.
pub fn run(config: &Config, project: &str, host: Option<&str>) -> Result<(), Failure> {
    let pool = open_db(config)?;
    let report = crate::jobs::verify::verify_project(&pool, &config.data_dir, project, host).map_err(Failure::op)?;
    record(&pool, project, &report)?;
    let mut bad = 0;
    for h in &report {
        let version = h.version.as_deref().unwrap_or("-");
        match &h.result {
            Ok(d) if d.is_clean() => println!("{} {version}: clean", h.host),
            Ok(d) => {
                bad += 1;
                println!(
                    "{} {version}: drift: {} changed, {} missing, {} added",
                    h.host,
                    d.changed.len(),
                    d.missing.len(),
                    d.added.len()
                );
                for (mark, list) in [("changed", &d.changed), ("missing", &d.missing), ("added", &d.added)] {
                    for path in list {
                        println!("  {mark} {path}");
                    }
                }
            }
            Err(e) => {
                bad += 1;
                println!("{} {version}: not verified: {e}", h.host);
            }
        }
    }
    if bad > 0 {
        return Err(Failure::op(format!(
            "{bad} of {} host(s) drifted or were not verified",
            report.len()
        )));
    }
    Ok(())
}
