//! A project and its settings as pages and the API show it ([`ProjectOut`]).

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::service::lookups::ProjectFacts;

/// A project and its settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectOut {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// SVN URL.
    pub svn_url: String,
    /// Credentials entry name.
    pub svn_credentials: Option<String>,
    /// Staging working copy.
    pub staging_dir: String,
    /// Staging URL.
    pub staging_url: String,
    /// Build argv.
    pub build_command: Vec<String>,
    /// rsync excludes.
    pub excludes: Vec<String>,
    /// Tag format.
    pub version_format: String,
    /// Approvals needed.
    pub approvals_required: i32,
    /// Self-approval allowed.
    pub allow_self_approval: bool,
    /// Tester may approve.
    pub tested_by_may_approve: bool,
    /// A tester must confirm files outside a ticket's SVN paths.
    pub require_outside_paths_confirmation: bool,
    /// Approval expiry in hours.
    pub approval_expiry_hours: Option<i32>,
    /// IANA time zone name.
    pub time_zone: String,
    /// What production runs (tag).
    pub production: Option<String>,
    /// Production version number.
    pub production_version: Option<i64>,
    /// Leads.
    pub leads: Vec<String>,
    /// Developers.
    pub developers: Vec<String>,
    /// Testers.
    pub testers: Vec<String>,
    /// Host groups.
    pub host_groups: Vec<String>,
    /// Freeze windows, described.
    pub freeze: Vec<String>,
    /// Weekly maintenance windows (project local time).
    pub maintenance: Vec<crate::service::settings::MaintenanceSetting>,
    /// Services per host group.
    pub services: Vec<crate::deploy::ServiceSpec>,
    /// Who may start, stop and restart services besides admins: `leads` or `developers`.
    pub service_actions: String,
    /// When the hosts are verified for drift (cron with seconds, UTC; empty: never).
    pub verify_cron: String,
}

impl ProjectOut {
    /// Builds the view from a project's row, members, host groups and windows.
    pub fn new(facts: ProjectFacts) -> Self {
        let ProjectFacts {
            project: p,
            members,
            host_groups,
            freeze,
            ..
        } = facts;
        let maintenance = crate::service::settings::maintenance::from_stored(&p.maintenance_windows)
            .map(|w| crate::service::settings::maintenance::settings_of(&w))
            .unwrap_or_default();
        let format = VersionFormat::parse(&p.version_format).unwrap_or_default();
        let of = |role: &str| {
            members
                .iter()
                .filter(|(_, r)| r == role)
                .map(|(u, _)| u.clone())
                .collect::<Vec<_>>()
        };
        Self {
            leads: of("lead"),
            developers: of("developer"),
            testers: of("tester"),
            production: p.production_version.map(|v| format.render(v)),
            production_version: p.production_version,
            name: p.name,
            description: p.description,
            svn_url: p.svn_url,
            svn_credentials: p.svn_credentials,
            staging_dir: p.staging_dir,
            staging_url: p.staging_url,
            build_command: p.build_command.shown(),
            excludes: p.excludes.shown(),
            version_format: p.version_format,
            approvals_required: p.approvals_required,
            allow_self_approval: p.allow_self_approval,
            tested_by_may_approve: p.tested_by_may_approve,
            require_outside_paths_confirmation: p.require_outside_paths_confirmation,
            approval_expiry_hours: p.approval_expiry_minutes.map(|m| m / 60),
            time_zone: p.time_zone,
            host_groups,
            freeze,
            maintenance,
            // Stored by the one settings check; an unreadable list shows as none.
            services: crate::deploy::service_spec::parse_list(&p.services).unwrap_or_default(),
            service_actions: p.service_actions,
            verify_cron: p.verify_cron,
        }
    }
}

impl From<ProjectFacts> for ProjectOut {
    fn from(facts: ProjectFacts) -> Self {
        Self::new(facts)
    }
}
