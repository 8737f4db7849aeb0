//! The admin project form: its fields as typed, checked into
//! [`ProjectSettings`], and filled from a project.

use serde::{Deserialize, Serialize};

use crate::service::admin::{FreezeSetting, ProjectSettings};
use crate::web::error::AppError;
use crate::web::view;

/// The project form's fields, as typed.
#[derive(Debug, Default, Deserialize, Serialize, Clone)]
pub(super) struct ProjectForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) svn_url: String,
    #[serde(default)]
    pub(super) svn_credentials: String,
    #[serde(default)]
    pub(super) staging_dir: String,
    #[serde(default)]
    pub(super) staging_url: String,
    #[serde(default)]
    pub(super) build_command: String,
    #[serde(default)]
    pub(super) excludes: String,
    #[serde(default)]
    pub(super) version_format: String,
    #[serde(default)]
    pub(super) approvals_required: String,
    #[serde(default)]
    pub(super) allow_self_approval: Option<String>,
    #[serde(default)]
    pub(super) tested_by_may_approve: Option<String>,
    #[serde(default)]
    pub(super) require_outside_paths_confirmation: Option<String>,
    #[serde(default)]
    pub(super) approval_expiry_hours: String,
    #[serde(default)]
    pub(super) time_zone: String,
    #[serde(default)]
    pub(super) leads: String,
    #[serde(default)]
    pub(super) developers: String,
    #[serde(default)]
    pub(super) testers: String,
    #[serde(default)]
    pub(super) host_groups: String,
    #[serde(default)]
    pub(super) freeze: String,
    /// The services as a JSON list (see `deploy::ServiceSpec`).
    #[serde(default)]
    pub(super) services: String,
    /// `leads` or `developers`.
    #[serde(default)]
    pub(super) service_actions: String,
}

fn words(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n', '\r', '\t'])
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

impl ProjectForm {
    /// The settings the form asks for.
    pub(super) fn settings(&self) -> Result<ProjectSettings, AppError> {
        let num = |field: &str, v: &str| -> Result<Option<i64>, AppError> {
            match v.trim() {
                "" => Ok(None),
                v => v
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| AppError::bad(field, "must be a whole number")),
            }
        };
        let required = num("approvals_required", &self.approvals_required)?.unwrap_or(1);
        let expiry = num("approval_expiry_hours", &self.approval_expiry_hours)?;
        let mut freeze = Vec::new();
        for line in lines(&self.freeze) {
            let parts: Vec<&str> = line.split('|').map(str::trim).collect();
            let label = parts.get(3).map(|s| (*s).to_owned()).unwrap_or_default();
            match parts.first().copied() {
                Some("weekly") if parts.len() >= 3 => freeze.push(FreezeSetting {
                    weekly_from: Some(parts[1].to_owned()),
                    weekly_to: Some(parts[2].to_owned()),
                    label,
                    ..FreezeSetting::default()
                }),
                Some("range") if parts.len() >= 3 => freeze.push(FreezeSetting {
                    from: Some(parts[1].to_owned()),
                    to: Some(parts[2].to_owned()),
                    label,
                    ..FreezeSetting::default()
                }),
                _ => {
                    return Err(AppError::bad(
                        "freeze",
                        format!(
                            "`{}`: write `weekly | Fri 18:00 | Mon 09:00 | label` or `range | FROM | TO | label`",
                            line.chars().take(80).collect::<String>()
                        ),
                    ))
                }
            }
        }
        let clamp = |field: &str, v: i64, lo: i64, hi: i64| -> Result<i64, AppError> {
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(AppError::bad(field, format!("must be between {lo} and {hi}")))
            }
        };
        Ok(ProjectSettings {
            name: self.name.trim().to_owned(),
            description: self.description.clone(),
            svn_url: self.svn_url.trim().to_owned(),
            svn_credentials: Some(self.svn_credentials.trim().to_owned()).filter(|s| !s.is_empty()),
            staging_dir: self.staging_dir.trim().to_owned(),
            staging_url: self.staging_url.trim().to_owned(),
            build_command: lines(&self.build_command),
            excludes: lines(&self.excludes),
            version_format: match self.version_format.trim() {
                "" => "v{n}".to_owned(),
                v => v.to_owned(),
            },
            approvals_required: clamp("approvals_required", required, 1, 20)? as u32,
            allow_self_approval: self.allow_self_approval.is_some(),
            tested_by_may_approve: self.tested_by_may_approve.is_some(),
            require_outside_paths_confirmation: self.require_outside_paths_confirmation.is_some(),
            approval_expiry_hours: expiry
                .map(|e| clamp("approval_expiry_hours", e, 1, 8760))
                .transpose()?
                .map(|e| e as u32),
            time_zone: self.time_zone.clone(),
            utc_offset_minutes: None,
            leads: words(&self.leads),
            developers: words(&self.developers),
            testers: words(&self.testers),
            host_groups: words(&self.host_groups),
            freeze,
            services: match self.services.trim() {
                "" => Vec::new(),
                text => serde_json::from_str(text).map_err(|e| {
                    AppError::bad(
                        "services",
                        format!("write a JSON list like [{{\"name\": \"app\", \"group\": \"web\"}}]: {e}"),
                    )
                })?,
            },
            service_actions: self.service_actions.trim().to_owned(),
        })
    }

    /// The form filled from a project and its freeze windows.
    pub(super) fn from_project(p: &view::ProjectOut, freeze_rows: &[crate::service::rows::FreezeWindowRow]) -> Self {
        let freeze = freeze_rows
            .iter()
            .map(|r| match r.kind.as_str() {
                "weekly" => {
                    let w = |m: Option<i32>| {
                        m.and_then(|m| u32::try_from(m).ok())
                            .and_then(crate::domain::WeekTime::from_minutes)
                            .map(|w| w.to_string())
                            .unwrap_or_default()
                    };
                    format!("weekly | {} | {} | {}", w(r.weekly_from), w(r.weekly_to), r.label)
                }
                _ => format!(
                    "range | {} | {} | {}",
                    r.starts_at.map(view::ts).unwrap_or_default(),
                    r.ends_at.map(view::ts).unwrap_or_default(),
                    r.label
                ),
            })
            .collect::<Vec<_>>()
            .join("\n");
        Self {
            csrf: String::new(),
            name: p.name.clone(),
            description: p.description.clone(),
            svn_url: p.svn_url.clone(),
            svn_credentials: p.svn_credentials.clone().unwrap_or_default(),
            staging_dir: p.staging_dir.clone(),
            staging_url: p.staging_url.clone(),
            build_command: p.build_command.join("\n"),
            excludes: p.excludes.join("\n"),
            version_format: p.version_format.clone(),
            approvals_required: p.approvals_required.to_string(),
            allow_self_approval: p.allow_self_approval.then(|| "on".into()),
            tested_by_may_approve: p.tested_by_may_approve.then(|| "on".into()),
            require_outside_paths_confirmation: p.require_outside_paths_confirmation.then(|| "on".into()),
            approval_expiry_hours: p.approval_expiry_hours.map(|h| h.to_string()).unwrap_or_default(),
            time_zone: p.time_zone.clone(),
            leads: p.leads.join(", "),
            developers: p.developers.join(", "),
            testers: p.testers.join(", "),
            host_groups: p.host_groups.join(", "),
            freeze,
            services: if p.services.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&p.services).unwrap_or_default()
            },
            service_actions: p.service_actions.clone(),
        }
    }
}
