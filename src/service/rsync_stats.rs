//! rsync's `--stats` figures per host, summed from the job log of a
//! ticket's newest release or rollback job (`[host] Total bytes sent: …`
//! lines), so the ticket page shows files and bytes per host instead of the
//! raw lines.

use std::collections::BTreeMap;

use crate::deploy::rsync::Stats;
use crate::store::{listing, DbConn};

use super::error::ServiceResult;

/// At most this many statistics lines of the job are read.
const MAX_LINES: i64 = 20_000;

/// Each host's summed `--stats` figures in the newest release or rollback
/// job of ticket `ticket_id`; hosts without statistics lines are absent.
pub fn per_host(conn: &mut DbConn, ticket_id: i64) -> ServiceResult<BTreeMap<String, Stats>> {
    let mut out = BTreeMap::new();
    let newest = listing::ticket_jobs(conn, ticket_id)?
        .into_iter()
        .find(|j| j.kind == "release" || j.kind == "rollback");
    let Some(job) = newest else {
        return Ok(out);
    };
    let needles = ["] Total bytes sent:", "] Number of regular files transferred:"];
    for line in listing::job_lines_containing(conn, job.id, &needles, MAX_LINES)? {
        let Some((host, rest)) = line.strip_prefix('[').and_then(|l| l.split_once("] ")) else {
            continue;
        };
        let mut one = Stats::default();
        one.add_line(rest);
        if one != Stats::default() {
            out.entry(host.to_owned()).or_insert_with(Stats::default).add(one);
        }
    }
    Ok(out)
}
