//! Slipway: release-approval ticketing. SVN → staging → tested snapshot in
//! git → approved release to production over rsync, with rollback.
//!
//! Layers, dependencies pointing down only (see DESIGN.md):
//! `web`/`cli` → `service` → `domain`; `service` → `store`.

pub mod cli;
pub mod config;
pub mod deploy;
pub mod domain;
pub mod jobs;
pub mod keys;
pub mod notify;
pub mod outbound;
pub mod service;
pub mod store;
pub mod vcs;
pub mod web;
