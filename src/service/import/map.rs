//! From the file's shape to the one settings check and back: a project's
//! [`ProjectSettings`] and where in the file each settings problem points.

use serde_spanned::Spanned;

use crate::domain::VersionFormat;
use crate::service::settings::{FreezeSetting, MaintenanceSetting, Part, ProjectSettings, SettingProblem};

use super::spec::ProjectSpec;

/// The project's settings as the admin form and the API give them, so the
/// file goes through the same check ([`settings::validate`]).
pub(super) fn as_settings(spec: &ProjectSpec) -> ProjectSettings {
    let strings = |v: &[Spanned<String>]| v.iter().map(|s| s.get_ref().clone()).collect::<Vec<_>>();
    ProjectSettings {
        name: spec.name.get_ref().clone(),
        description: spec.description.clone(),
        svn_url: spec.svn_url.get_ref().clone(),
        svn_credentials: spec.svn_credentials.as_ref().map(|c| c.get_ref().clone()),
        staging_dir: spec.staging_dir.get_ref().clone(),
        staging_url: spec
            .staging_url
            .as_ref()
            .map(|u| u.get_ref().clone())
            .unwrap_or_default(),
        build_command: spec
            .build_command
            .as_ref()
            .map(|b| b.get_ref().clone())
            .unwrap_or_default(),
        excludes: strings(&spec.excludes),
        version_format: spec
            .version_format
            .as_ref()
            .map_or_else(|| VersionFormat::default().as_str().to_owned(), |f| f.get_ref().clone()),
        approvals_required: *spec.approval.required.get_ref(),
        allow_self_approval: spec.approval.allow_self_approval,
        tested_by_may_approve: spec.approval.tested_by_may_approve,
        require_outside_paths_confirmation: spec.require_outside_paths_confirmation,
        approval_expiry_hours: spec.approval.expiry_hours.as_ref().map(|h| *h.get_ref()),
        time_zone: spec.time_zone.as_ref().map(|z| z.get_ref().clone()).unwrap_or_default(),
        utc_offset_minutes: spec.utc_offset_minutes.as_ref().map(|m| *m.get_ref()),
        leads: strings(&spec.leads),
        developers: strings(&spec.developers),
        testers: strings(&spec.testers),
        host_groups: strings(&spec.host_groups),
        freeze: spec
            .freeze
            .iter()
            .map(|f| FreezeSetting {
                weekly_from: f.weekly.as_ref().map(|w| w.from.get_ref().clone()),
                weekly_to: f.weekly.as_ref().map(|w| w.to.get_ref().clone()),
                from: f.from.as_ref().map(|t| t.get_ref().clone()),
                to: f.to.as_ref().map(|t| t.get_ref().clone()),
                label: f.label.clone(),
            })
            .collect(),
        maintenance: spec
            .maintenance
            .iter()
            .map(|m| MaintenanceSetting {
                from: m.from.get_ref().clone(),
                to: m.to.get_ref().clone(),
                label: m.label.clone(),
            })
            .collect(),
        services: spec.services.clone(),
        service_actions: spec
            .service_actions
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or_default(),
        verify_cron: spec
            .verify_cron
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or_default(),
    }
}

/// Where in the file a settings problem points, and the file's name for the setting.
pub(super) fn locate(spec: &ProjectSpec, problem: &SettingProblem) -> (std::ops::Range<usize>, &'static str) {
    let item = |list: &[Spanned<String>]| problem.index.and_then(|i| list.get(i)).map(Spanned::span);
    let whole = spec.name.span();
    let (span, key) = match problem.error.field {
        "name" => (Some(whole.clone()), "project name"),
        "svn_url" => (Some(spec.svn_url.span()), "svn_url"),
        "svn_credentials" => (spec.svn_credentials.as_ref().map(Spanned::span), "svn_credentials"),
        "staging_dir" => (Some(spec.staging_dir.span()), "staging_dir"),
        "staging_url" => (spec.staging_url.as_ref().map(Spanned::span), "staging_url"),
        "build_command" => (spec.build_command.as_ref().map(Spanned::span), "build_command"),
        "version_format" => (spec.version_format.as_ref().map(Spanned::span), "version_format"),
        "approvals_required" => (Some(spec.approval.required.span()), "approval.required"),
        "approval_expiry_hours" => (
            spec.approval.expiry_hours.as_ref().map(Spanned::span),
            "approval.expiry_hours",
        ),
        "time_zone" => (spec.time_zone.as_ref().map(Spanned::span), "time_zone"),
        "service_actions" => (spec.service_actions.as_ref().map(Spanned::span), "service_actions"),
        "verify_cron" => (spec.verify_cron.as_ref().map(Spanned::span), "verify_cron"),
        "services" => (None, "services"),
        "utc_offset_minutes" => (
            spec.utc_offset_minutes.as_ref().map(Spanned::span),
            "utc_offset_minutes",
        ),
        "excludes" => (item(&spec.excludes), "exclude"),
        "leads" => (item(&spec.leads), "leads"),
        "developers" => (item(&spec.developers), "developers"),
        "testers" => (item(&spec.testers), "testers"),
        "host_groups" => (item(&spec.host_groups), "host_groups"),
        "freeze" => {
            let f = problem.index.and_then(|i| spec.freeze.get(i));
            let span = f.and_then(|f| match (problem.part, &f.weekly) {
                (Part::From, Some(w)) => Some(w.from.span()),
                (Part::To, Some(w)) => Some(w.to.span()),
                (Part::From, None) => f.from.as_ref().map(Spanned::span),
                (Part::To, None) => f.to.as_ref().map(Spanned::span),
                (Part::Whole, _) => None,
            });
            (span, "freeze")
        }
        "maintenance" => {
            let m = problem.index.and_then(|i| spec.maintenance.get(i));
            let span = m.and_then(|m| match problem.part {
                Part::From => Some(m.from.span()),
                Part::To => Some(m.to.span()),
                Part::Whole => None,
            });
            (span, "maintenance")
        }
        field => (None, field),
    };
    (span.filter(|s| s.start < s.end).unwrap_or(whole), key)
}
