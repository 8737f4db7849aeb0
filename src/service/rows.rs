//! The rows the service layer hands to its callers, re-exported under the
//! service's name so that the web layer reads them without naming the
//! store (the layers of `DESIGN.md`). Each is a plain data type.

/// The database handle callers pass to service functions: a pool and one
/// of its connections. Opaque to callers; only the service and the store
/// use what is inside.
pub use crate::store::{DbConn, Pool};

/// A user account.
pub use crate::store::models::UserRow;

/// A project's stored settings.
pub use crate::store::models::ProjectRow;

/// One freeze window as stored.
pub use crate::store::models::FreezeWindowRow;

/// A host group, and a host in it.
pub use crate::store::models::{HostGroupRow, HostRow};

/// A ticket, one of its jobs, one approval.
pub use crate::store::models::{ApprovalRow, JobRow, TicketRow};

/// An API token (its hash only; the secret is shown once on creation).
pub use crate::store::tokens::TokenRow;

/// Rows of the ticket list, the audit log, the timeline, SVN commits and job output.
pub use crate::store::listing::{
    ApprovalWithName, AuditFilter, AuditRow, EventWithActor, LogLine, StoredPathChange, SvnRevisionRow, TicketFilter,
    TicketListRow,
};

/// A typed JSON column's value (or why the stored text is malformed).
pub use crate::store::json::Json;

/// One job kind's duration histogram, aggregated by the database.
pub use crate::store::metrics::DurationHistogram;

/// The current time as the database stores it (UTC, microseconds).
pub use crate::store::timestamp_now;
