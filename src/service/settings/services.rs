//! The services part of a project's settings: each declaration checked by
//! [`crate::deploy::ServiceSpec::validate`], at most one per (group, name),
//! and who may act on them.

use crate::deploy::service_spec::MAX_SERVICES;
use crate::deploy::{ServiceAccess, ServiceSpec};
use crate::domain::validate::codes;
use crate::domain::InvalidInput;

/// The services as stored (`projects.services` JSON), or the problem.
/// Each service's group must be one the project ships to.
pub(super) fn check_services(services: &[ServiceSpec], host_groups: &[String]) -> Result<String, InvalidInput> {
    let bad = |detail: String| InvalidInput::new("services", codes::SERVICE, detail.clone()).with("detail", detail);
    if services.len() > MAX_SERVICES {
        return Err(bad(format!("at most {MAX_SERVICES} services")));
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in services {
        s.validate().map_err(bad)?;
        if !host_groups.iter().any(|g| g.trim() == s.group) {
            return Err(bad(format!(
                "service `{}`: group `{}` is not one of the project's host groups",
                s.name, s.group
            )));
        }
        if !seen.insert((s.group.as_str(), s.name.as_str())) {
            return Err(bad(format!(
                "service `{}` is declared twice for group `{}`",
                s.name, s.group
            )));
        }
    }
    Ok(serde_json::to_string(services).unwrap_or_else(|_| "[]".into()))
}

/// Empty (no verify cron) or a cron expression with seconds, as the site's
/// cron entries (`sec min hour day-of-month month day-of-week`).
pub(super) fn check_verify_cron(value: &str) -> Result<String, InvalidInput> {
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() || (value.split(' ').count() == 6 && crate::jobs::verify::parse_cron(&value).is_some()) {
        return Ok(value);
    }
    Err(InvalidInput::new(
        "verify_cron",
        codes::VERIFY_CRON,
        "verify_cron must be empty or a cron expression with seconds, e.g. `0 0 3 * * *`",
    ))
}

/// `leads` (also for empty) or `developers`.
pub(super) fn check_access(value: &str) -> Result<ServiceAccess, InvalidInput> {
    ServiceAccess::parse(value).ok_or_else(|| {
        InvalidInput::new(
            "service_actions",
            codes::SERVICE_ACTIONS,
            "service_actions must be `leads` or `developers`",
        )
    })
}
