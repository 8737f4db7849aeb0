//! The pure core of Slipway: ticket states, actions, roles, the transition
//! table with its guards, approval policy, freeze windows, version numbering
//! and input validation. No I/O, no database, no HTTP.

pub mod action;
pub mod decision;
pub mod freeze;
pub mod input_codes;
pub mod policy;
pub mod reach;
pub mod role;
pub mod schedule;
pub mod state;
pub mod svn_url;
pub mod system_reason;
pub mod transition;
pub mod validate;
pub mod version;
pub mod why_not;

pub use action::Action;
pub use freeze::{parse_zone, zone_for_offset, FreezeCalendar, FreezeWindow, WeekTime};
pub use policy::{Approval, ApprovalPolicy};
pub use reach::{reach, states_for, Reach};
pub use role::{Actor, Role, UserActor};
pub use schedule::{MaintenanceWindow, ScheduleProblem};
pub use state::{TicketKind, TicketState, UnknownName};
pub use system_reason::system_reason;
pub use transition::{
    available_actions, decide, decide_create, Decision, Effect, JobKind, ProjectRules, Refusal, RefusalKind, Request,
    TicketFacts,
};
pub use validate::{check_text, is_invisible_format, InvalidInput, ProjectName, Reason, SvnPath, Username};
pub use version::VersionFormat;
pub use why_not::{blocked_actions, Blocked};
