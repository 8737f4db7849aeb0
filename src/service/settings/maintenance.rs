//! A project's weekly maintenance windows as settings (`maintenance` in the
//! import file, the API and the admin form) and as stored (a JSON list in
//! `projects.maintenance_windows`), and their domain form.

use serde::{Deserialize, Serialize};

use crate::domain::validate::codes;
use crate::domain::{InvalidInput, MaintenanceWindow, WeekTime};

/// A maintenance window: weekly, `from`/`to` like `Thu 06:00` in the
/// project's time zone.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSetting {
    /// Weekly start, e.g. `Thu 06:00` (project local time).
    pub from: String,
    /// Weekly end, e.g. `Thu 08:00`.
    pub to: String,
    /// Label shown to users.
    #[serde(default)]
    pub label: String,
}

/// One stored window: minutes since Monday 00:00, local time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
struct Stored {
    from: u32,
    to: u32,
    #[serde(default)]
    label: String,
}

/// Most maintenance windows a project may declare.
pub const MAX_WINDOWS: usize = 50;

/// Checks a project's windows; the problems go to `found`.
pub(super) fn check_all(list: &[MaintenanceSetting], found: &mut super::Found) -> Vec<MaintenanceWindow> {
    if list.len() > MAX_WINDOWS {
        found.whole::<()>(Err(InvalidInput::new(
            "maintenance",
            codes::TOO_MANY,
            format!("at most {MAX_WINDOWS} maintenance windows"),
        )
        .with("max", MAX_WINDOWS)));
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, m)| check(m, i, found))
        .collect()
}

/// Checks one window; the problems go to `found` by part.
fn check(m: &MaintenanceSetting, i: usize, found: &mut super::Found) -> Option<MaintenanceWindow> {
    let at = Some(i);
    let label = found.take(
        at,
        super::Part::Whole,
        super::check_text("maintenance", &m.label, 100, false),
    );
    let week = |t: &str| {
        t.parse::<WeekTime>()
            .map_err(|e| InvalidInput::new("maintenance", codes::WEEK_TIME, e.to_string()).with("value", e.0))
    };
    let from = found.take(at, super::Part::From, week(&m.from));
    let to = found.take(at, super::Part::To, week(&m.to));
    Some(MaintenanceWindow {
        from: from?,
        to: to?,
        label: label?,
    })
}

/// The stored JSON of `windows`.
pub fn to_stored(windows: &[MaintenanceWindow]) -> String {
    let rows: Vec<Stored> = windows
        .iter()
        .map(|w| Stored {
            from: w.from.minutes(),
            to: w.to.minutes(),
            label: w.label.clone(),
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
}

/// The windows stored as `text`; `None` when it is not what [`to_stored`] writes.
pub fn from_stored(text: &str) -> Option<Vec<MaintenanceWindow>> {
    let rows: Vec<Stored> = serde_json::from_str(text).ok()?;
    rows.into_iter()
        .map(|r| {
            Some(MaintenanceWindow {
                from: WeekTime::from_minutes(r.from)?,
                to: WeekTime::from_minutes(r.to)?,
                label: r.label,
            })
        })
        .collect()
}

/// The settings form of stored windows (the admin form and exports).
pub fn settings_of(windows: &[MaintenanceWindow]) -> Vec<MaintenanceSetting> {
    windows
        .iter()
        .map(|w| MaintenanceSetting {
            from: w.from.to_string(),
            to: w.to.to_string(),
            label: w.label.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_round_trip() {
        let w = MaintenanceWindow {
            from: "Thu 06:00".parse().expect("time"),
            to: "Thu 08:00".parse().expect("time"),
            label: "patch day".into(),
        };
        let text = to_stored(std::slice::from_ref(&w));
        assert_eq!(from_stored(&text), Some(vec![w]));
        assert_eq!(from_stored("[]"), Some(vec![]));
        assert_eq!(from_stored("[{\"from\": 99999, \"to\": 1}]"), None);
    }
}
