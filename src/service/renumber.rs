//! A retried release whose version number fell behind production takes a
//! fresh one (invariant 3 for version numbers; the rule is
//! [`needs_fresh_number`]). The old number was tagged in git but never ran
//! on any host; it is never shipped.

use crate::domain::version::needs_fresh_number;
use crate::domain::VersionFormat;
use crate::store::models::{ProjectRow, TicketRow};
use crate::store::{projects, releases, DbConn};

use super::error::ServiceResult;

/// Gives `ticket` the project's next version number if its own is older than
/// what production or any host runs and no host runs it; returns the
/// sentence for the event's note when it did.
pub(crate) fn renew_if_behind(
    conn: &mut DbConn,
    project: &ProjectRow,
    ticket: &mut TicketRow,
) -> ServiceResult<Option<String>> {
    let Some(own) = ticket.version else {
        return Ok(None);
    };
    let running = releases::running_versions(conn, project.id)?;
    if !needs_fresh_number(own, &running, project.production_version) {
        return Ok(None);
    }
    let newest = running.iter().copied().chain(project.production_version).max();
    let fresh = projects::next_version(conn, project.id)?;
    ticket.version = Some(fresh);
    let format = VersionFormat::parse(&project.version_format).unwrap_or_default();
    Ok(Some(format!(
        "version {} renumbered to {}: production already runs {} and no host runs {}, which is never shipped",
        format.render(own),
        format.render(fresh),
        newest.map(|v| format.render(v)).unwrap_or_default(),
        format.render(own),
    )))
}
