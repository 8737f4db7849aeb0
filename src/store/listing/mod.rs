//! Read-only queries behind the web pages and the JSON API: filtered,
//! keyset-paginated ticket and event lists, names for ids, SVN history,
//! job logs, the figures `/metrics` reports and the streams of "my work".
//!
//! One file per group of queries; everything is re-exported here, so
//! callers name `store::listing::…`.

mod events;
mod figures;
mod history;
mod names;
mod stamp;
mod tickets;
mod work;
mod work_pg;
mod work_sqlite;

pub use events::*;
pub use figures::*;
pub use history::*;
pub use names::*;
pub use stamp::*;
pub use tickets::*;
pub use work::*;
