//! Slipway: release-approval ticketing. SVN → staging → tested snapshot in
//! git → approved release to production over rsync, with rollback.
//!
//! Layers, dependencies pointing down only (see docs/design.md#layers):
//! `web`/`cli` → `service` → `domain`; `service` → `store`; `jobs` →
//! `vcs`, `deploy`, `notify` → `process`. The invariants, the error policy and
//! the job model are in docs/design.md too.

pub mod cli;
pub mod config;
pub mod deploy;
pub mod domain;
pub mod jobs;
pub mod keys;
pub mod notify;
pub mod outbound;
pub mod process;
pub mod service;
pub mod store;
pub mod vcs;
pub mod web;
