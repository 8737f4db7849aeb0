//! The admin project form: its fields as posted, shaped into
//! [`ProjectSettings`] (which the service checks), and filled from a
//! project. Roles and host groups are multi-selects of existing users and
//! groups (repeated fields); freeze windows are rows of fields
//! ([`super::freeze_rows`]).

use serde::Serialize;

use super::freeze_rows::{self, RangeRow, WeeklyRow};

use crate::service::admin::ProjectSettings;
use crate::service::settings::MaintenanceSetting;
use crate::web::error::AppError;
use crate::web::view;

/// The scalar fields, by form name.
pub(super) const SCALARS: [&str; 20] = [
    "csrf",
    "name",
    "description",
    "svn_url",
    "svn_credentials",
    "staging_dir",
    "staging_url",
    "build_command",
    "excludes",
    "version_format",
    "approvals_required",
    "allow_self_approval",
    "tested_by_may_approve",
    "require_outside_paths_confirmation",
    "approval_expiry_hours",
    "time_zone",
    "maintenance",
    "services",
    "service_actions",
    "verify_cron",
];

/// The project form's fields, as posted.
#[derive(Debug, Default, Serialize, Clone)]
pub(super) struct ProjectForm {
    /// Scalar fields by name (see [`SCALARS`]); checkboxes are `on` when ticked.
    pub(super) fields: std::collections::BTreeMap<String, String>,
    pub(super) leads: Vec<String>,
    pub(super) developers: Vec<String>,
    pub(super) testers: Vec<String>,
    pub(super) host_groups: Vec<String>,
    pub(super) weekly: Vec<WeeklyRow>,
    pub(super) ranges: Vec<RangeRow>,
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split([',', ' ', '\n', '\r', '\t'])
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

impl ProjectForm {
    /// The form from its posted (name, value) pairs.
    pub(super) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "leads" => f.leads.extend(words(&v)),
                "developers" => f.developers.extend(words(&v)),
                "testers" => f.testers.extend(words(&v)),
                "host_groups" => f.host_groups.extend(words(&v)),
                s if SCALARS.contains(&s) => {
                    f.fields.insert(k, v);
                }
                s => freeze_rows::take(s, v, &mut f.weekly, &mut f.ranges),
            }
        }
        f
    }

    /// A scalar field (`""` when absent).
    pub(super) fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    fn zone(&self) -> chrono_tz::Tz {
        self.get("time_zone").trim().parse().unwrap_or(chrono_tz::Tz::UTC)
    }

    /// The settings the form asks for.
    pub(super) fn settings(&self) -> Result<ProjectSettings, AppError> {
        let num = |field: &str| -> Result<Option<i64>, AppError> {
            match self.get(field).trim() {
                "" => Ok(None),
                v => v
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| AppError::bad(field, "must be a whole number")),
            }
        };
        let clamp = |field: &str, v: i64, lo: i64, hi: i64| -> Result<i64, AppError> {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(AppError::bad(field, format!("must be between {lo} and {hi}")))
            }
        };
        let required = num("approvals_required")?.unwrap_or(1);
        let expiry = num("approval_expiry_hours")?;
        let ticked = |field: &str| !self.get(field).is_empty();
        Ok(ProjectSettings {
            name: self.get("name").trim().to_owned(),
            description: self.get("description").to_owned(),
            svn_url: self.get("svn_url").trim().to_owned(),
            svn_credentials: Some(self.get("svn_credentials").trim().to_owned()).filter(|s| !s.is_empty()),
            staging_dir: self.get("staging_dir").trim().to_owned(),
            staging_url: self.get("staging_url").trim().to_owned(),
            build_command: lines(self.get("build_command")),
            excludes: lines(self.get("excludes")),
            version_format: match self.get("version_format").trim() {
                "" => "v{n}".to_owned(),
                v => v.to_owned(),
            },
            approvals_required: clamp("approvals_required", required, 1, 20)? as u32,
            allow_self_approval: ticked("allow_self_approval"),
            tested_by_may_approve: ticked("tested_by_may_approve"),
            require_outside_paths_confirmation: ticked("require_outside_paths_confirmation"),
            approval_expiry_hours: expiry
                .map(|e| clamp("approval_expiry_hours", e, 1, 8760))
                .transpose()?
                .map(|e| e as u32),
            time_zone: self.get("time_zone").to_owned(),
            utc_offset_minutes: None,
            leads: self.leads.clone(),
            developers: self.developers.clone(),
            testers: self.testers.clone(),
            host_groups: self.host_groups.clone(),
            freeze: freeze_rows::settings(&self.weekly, &self.ranges, self.zone()),
            maintenance: self.maintenance()?,
            services: match self.get("services").trim() {
                "" => Vec::new(),
                text => serde_json::from_str(text).map_err(|e| {
                    AppError::bad(
                        "services",
                        format!("write a JSON list like [{{\"name\": \"app\", \"group\": \"web\"}}]: {e}"),
                    )
                })?,
            },
            service_actions: self.get("service_actions").trim().to_owned(),
            verify_cron: self.get("verify_cron").trim().to_owned(),
        })
    }

    /// The maintenance windows, one `Thu 06:00 | Thu 08:00 | label` per line.
    fn maintenance(&self) -> Result<Vec<MaintenanceSetting>, AppError> {
        let mut windows = Vec::new();
        for line in lines(self.get("maintenance")) {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            match parts.as_slice() {
                [from, to, rest @ ..] if rest.len() <= 1 => windows.push(MaintenanceSetting {
                    from: (*from).to_owned(),
                    to: (*to).to_owned(),
                    label: rest.first().map(|s| (*s).to_owned()).unwrap_or_default(),
                }),
                _ => {
                    return Err(AppError::bad(
                        "maintenance",
                        format!(
                            "`{}`: write `Thu 06:00 | Thu 08:00 | label`",
                            line.chars().take(80).collect::<String>()
                        ),
                    ))
                }
            }
        }
        Ok(windows)
    }

    /// The form filled from a project and its freeze windows.
    pub(super) fn from_project(p: &view::ProjectOut, windows: &[crate::service::rows::FreezeWindowRow]) -> Self {
        let tick = |b: bool| if b { "on" } else { "" }.to_owned();
        let fields = [
            ("name", p.name.clone()),
            ("description", p.description.clone()),
            ("svn_url", p.svn_url.clone()),
            ("svn_credentials", p.svn_credentials.clone().unwrap_or_default()),
            ("staging_dir", p.staging_dir.clone()),
            ("staging_url", p.staging_url.clone()),
            ("build_command", p.build_command.join("\n")),
            ("excludes", p.excludes.join("\n")),
            ("version_format", p.version_format.clone()),
            ("approvals_required", p.approvals_required.to_string()),
            ("allow_self_approval", tick(p.allow_self_approval)),
            ("tested_by_may_approve", tick(p.tested_by_may_approve)),
            (
                "require_outside_paths_confirmation",
                tick(p.require_outside_paths_confirmation),
            ),
            (
                "approval_expiry_hours",
                p.approval_expiry_hours.map(|h| h.to_string()).unwrap_or_default(),
            ),
            ("time_zone", p.time_zone.clone()),
            (
                "maintenance",
                p.maintenance
                    .iter()
                    .map(|m| format!("{} | {} | {}", m.from, m.to, m.label))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            (
                "services",
                if p.services.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string_pretty(&p.services).unwrap_or_default()
                },
            ),
            ("service_actions", p.service_actions.clone()),
            ("verify_cron", p.verify_cron.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut form = Self {
            fields,
            leads: p.leads.clone(),
            developers: p.developers.clone(),
            testers: p.testers.clone(),
            host_groups: p.host_groups.clone(),
            ..Self::default()
        };
        (form.weekly, form.ranges) = freeze_rows::from_rows(windows, form.zone());
        form
    }

    /// The form as shown: with two empty rows of each freeze kind to add windows.
    pub(super) fn with_blank_rows(&self) -> Self {
        let mut f = self.clone();
        f.fields.remove("csrf");
        for name in SCALARS.iter().skip(1) {
            f.fields.entry((*name).to_owned()).or_default();
        }
        f.weekly.retain(|w| *w != WeeklyRow::default());
        f.ranges.retain(|r| *r != RangeRow::default());
        f.weekly.extend([WeeklyRow::default(), WeeklyRow::default()]);
        f.ranges.extend([RangeRow::default(), RangeRow::default()]);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn repeated_roles_and_rows_of_freeze_fields() {
        let f = ProjectForm::from_pairs(pairs(&[
            ("name", "shop"),
            ("time_zone", "Asia/Shanghai"),
            ("leads", "ann"),
            ("leads", "bob, cy"),
            ("weekly_0_from_day", "Fri"),
            ("weekly_0_from_time", "18:00"),
            ("weekly_0_to_day", "Mon"),
            ("weekly_0_to_time", "09:00"),
            ("weekly_0_label", "weekend"),
            ("weekly_1_label", ""),
            ("range_0_from", "2026-12-24T00:00"),
            ("range_0_to", "2026-12-26T00:00"),
            ("range_0_label", "xmas"),
        ]));
        assert_eq!(f.leads, ["ann", "bob", "cy"]);
        let s = f.settings().expect("settings");
        assert_eq!(s.freeze.len(), 2);
        assert_eq!(s.freeze[0].weekly_from.as_deref(), Some("Fri 18:00"));
        assert_eq!(s.freeze[0].weekly_to.as_deref(), Some("Mon 09:00"));
        assert_eq!(s.freeze[1].from.as_deref(), Some("2026-12-24T00:00:00+08:00"));
        assert_eq!(s.freeze[1].label, "xmas");
        let shown = f.with_blank_rows();
        assert_eq!((shown.weekly.len(), shown.ranges.len()), (3, 3));
    }
}
