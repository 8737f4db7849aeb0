//! The service layer: every change to Slipway's state goes through here, as
//! one transaction that checks the domain rule and writes state, event and
//! job together. Web handlers, the CLI and jobs call these functions.
//! See docs/design.md#layers and docs/design.md#errors.

pub mod admin;
pub mod approval_links;
pub mod changes;
pub mod chat_identity;
pub mod directory;
pub mod directory_users;
pub mod error;
pub mod facts;
pub mod host_admin;
pub mod host_check;
pub mod import;
pub mod lookups;
pub mod mail_prefs;
pub mod my_work;
pub mod outside;
pub mod password;
pub mod probes;
pub mod project_page;
pub mod queries;
pub mod reads;
pub mod recovery;
mod renumber;
pub mod requests;
pub mod rows;
pub mod rsync_stats;
pub mod schedules;
pub mod services;
pub mod sessions;
pub mod settings;
pub mod ticket_input;
pub mod ticket_stamp;
pub mod tickets;
pub mod users;
pub mod visibility;
pub mod where_runs;

pub use error::{ErrorKind, ServiceError, ServiceResult};
pub use rows::{DbConn, Pool};
pub use visibility::{Reader, Visibility};
