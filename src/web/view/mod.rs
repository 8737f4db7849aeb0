//! What pages and the API show: serialisable views of tickets, events and
//! projects, built from the service layer's rows and read models.
//!
//! [`list`] holds tickets in lists and audit rows, [`ticket`] one ticket with
//! everything about it, [`project`] a project and its settings,
//! [`ticket_table`](mod@ticket_table) the lists' table; the time and text formatting they
//! share is here.

pub mod hosts;
pub mod list;
pub mod project;
pub mod schedule;
pub mod services;
pub mod ticket;
pub mod ticket_table;

use chrono::{NaiveDateTime, SecondsFormat};

pub use hosts::{HostOut, StepOut};
pub use list::{with_schedules, with_state_labels, AuditOut, TicketRowHtml, TicketSummary};
pub use project::ProjectOut;
pub use schedule::ScheduleOut;
pub use ticket::{RecoveryOut, TicketDetail};
pub use ticket_table::{table_of, ticket_table};

/// A UTC time as RFC 3339 (`2026-11-25T12:00:00Z`).
pub fn ts(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    if (0..=9999).contains(&t.year()) {
        // The common case without chrono's format machinery (hot in lists).
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    } else {
        t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// A UTC time as pages show it without JavaScript (`2026-11-25 12:00 UTC`).
pub fn utc_minutes(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The first `max` characters of `s`, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}
