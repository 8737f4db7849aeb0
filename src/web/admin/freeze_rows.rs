//! Freeze windows on the admin project form as rows of fields: weekly
//! (`weekly_<i>_from_day`, `_from_time`, `_to_day`, `_to_time`, `_label`)
//! and date ranges (`range_<i>_from`, `_to`, `_label`, `datetime-local`
//! values in the project's time zone). A row left empty is no window. The
//! rows become [`FreezeSetting`]s for the one settings check.

use chrono::TimeZone;
use chrono_tz::Tz;
use serde::Serialize;

use crate::service::admin::FreezeSetting;
use crate::service::rows::FreezeWindowRow;

/// A weekly freeze window as its fields.
#[derive(Debug, Default, Serialize, Clone, PartialEq, Eq)]
pub(super) struct WeeklyRow {
    pub(super) from_day: String,
    pub(super) from_time: String,
    pub(super) to_day: String,
    pub(super) to_time: String,
    pub(super) label: String,
}

/// A date-range freeze window as its fields (`YYYY-MM-DDTHH:MM`, project time).
#[derive(Debug, Default, Serialize, Clone, PartialEq, Eq)]
pub(super) struct RangeRow {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) label: String,
}

/// `weekly_3_from_day` → (3, "from_day").
fn row_field<'a>(key: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = key.strip_prefix(prefix)?;
    let (i, field) = rest.split_once('_')?;
    Some((i.parse().ok().filter(|i| *i < 200)?, field))
}

fn row<T: Default>(rows: &mut Vec<T>, i: usize) -> &mut T {
    while rows.len() <= i {
        rows.push(T::default());
    }
    &mut rows[i]
}

/// Files posted field `key` into its row (other names are ignored).
pub(super) fn take(key: &str, v: String, weekly: &mut Vec<WeeklyRow>, ranges: &mut Vec<RangeRow>) {
    if let Some((i, field)) = row_field(key, "weekly_") {
        let r = row(weekly, i);
        match field {
            "from_day" => r.from_day = v,
            "from_time" => r.from_time = v,
            "to_day" => r.to_day = v,
            "to_time" => r.to_time = v,
            "label" => r.label = v,
            _ => {}
        }
    } else if let Some((i, field)) = row_field(key, "range_") {
        let r = row(ranges, i);
        match field {
            "from" => r.from = v,
            "to" => r.to = v,
            "label" => r.label = v,
            _ => {}
        }
    }
}

/// A `datetime-local` value in `zone` as RFC 3339; other text is passed on
/// for the settings check to judge.
fn instant(local: &str, zone: Tz) -> String {
    let local = local.trim();
    chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .and_then(|n| zone.from_local_datetime(&n).earliest())
        .map_or_else(|| local.to_owned(), |t| t.to_rfc3339())
}

/// The windows the rows ask for (empty rows skipped).
pub(super) fn settings(weekly: &[WeeklyRow], ranges: &[RangeRow], zone: Tz) -> Vec<FreezeSetting> {
    let mut out = Vec::new();
    for w in weekly {
        if [&w.from_day, &w.from_time, &w.to_day, &w.to_time, &w.label]
            .iter()
            .all(|v| v.trim().is_empty())
        {
            continue;
        }
        out.push(FreezeSetting {
            weekly_from: Some(format!("{} {}", w.from_day.trim(), w.from_time.trim())),
            weekly_to: Some(format!("{} {}", w.to_day.trim(), w.to_time.trim())),
            label: w.label.clone(),
            ..FreezeSetting::default()
        });
    }
    for r in ranges {
        if [&r.from, &r.to, &r.label].iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        out.push(FreezeSetting {
            from: Some(instant(&r.from, zone)),
            to: Some(instant(&r.to, zone)),
            label: r.label.clone(),
            ..FreezeSetting::default()
        });
    }
    out
}

/// A project's stored windows as rows, range times in `zone`.
pub(super) fn from_rows(rows: &[FreezeWindowRow], zone: Tz) -> (Vec<WeeklyRow>, Vec<RangeRow>) {
    let local = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| zone.from_utc_datetime(&t).format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    };
    let (mut weekly, mut ranges) = (Vec::new(), Vec::new());
    for r in rows {
        if r.kind == "weekly" {
            let w = |m: Option<i32>| {
                m.and_then(|m| u32::try_from(m).ok())
                    .and_then(crate::domain::WeekTime::from_minutes)
                    .map(|w| w.to_string())
                    .unwrap_or_default()
            };
            let (from, to) = (w(r.weekly_from), w(r.weekly_to));
            let (from_day, from_time) = from.split_once(' ').unwrap_or(("", ""));
            let (to_day, to_time) = to.split_once(' ').unwrap_or(("", ""));
            weekly.push(WeeklyRow {
                from_day: from_day.to_owned(),
                from_time: from_time.to_owned(),
                to_day: to_day.to_owned(),
                to_time: to_time.to_owned(),
                label: r.label.clone(),
            });
        } else {
            ranges.push(RangeRow {
                from: local(r.starts_at),
                to: local(r.ends_at),
                label: r.label.clone(),
            });
        }
    }
    (weekly, ranges)
}
