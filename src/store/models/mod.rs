//! Row types: what the tables hold, and what inserts write.
//!
//! One file per table group; everything is re-exported here, so callers
//! name `store::models::…`.

mod jobs;
mod projects;
mod schedules;
mod tickets;

pub use jobs::*;
pub use projects::*;
pub use schedules::*;
pub use tickets::*;
