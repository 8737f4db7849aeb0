//! `slipway verify PROJECT [--host NAME]`: compare each host's live tree
//! with the release Slipway recorded on it and print the files changed,
//! missing and added. Exits 1 when a host drifted or could not be compared.

use crate::config::Config;

use super::{open_db, Failure};

/// Runs the verification and prints one block per host.
pub fn run(config: &Config, project: &str, host: Option<&str>) -> Result<(), Failure> {
    let pool = open_db(config)?;
    let report = crate::jobs::verify::verify_project(&pool, &config.data_dir, project, host).map_err(Failure::op)?;
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
