//! Freeze windows: periods in which a project may not release without an
//! admin's emergency override.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// Minutes in a week.
const WEEK_MINUTES: u32 = 7 * 24 * 60;

/// A point in the week, in minutes since Monday 00:00 (project local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WeekTime(u32);

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl WeekTime {
    /// From minutes since Monday 00:00; `None` past the end of the week.
    pub fn from_minutes(minutes: u32) -> Option<Self> {
        (minutes < WEEK_MINUTES).then_some(Self(minutes))
    }

    /// Minutes since Monday 00:00.
    pub fn minutes(self) -> u32 {
        self.0
    }

    fn of(local: DateTime<Utc>) -> Self {
        Self(local.weekday().num_days_from_monday() * 1440 + local.hour() * 60 + local.minute())
    }
}

/// Text that is not a `Day HH:MM` week time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a week time like `Fri 18:00`")]
pub struct BadWeekTime(pub String);

impl FromStr for WeekTime {
    type Err = BadWeekTime;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadWeekTime(s.to_owned());
        let (day, time) = s.trim().split_once(' ').ok_or_else(bad)?;
        let day = DAYS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(day.get(..3).unwrap_or(day)))
            .ok_or_else(bad)? as u32;
        let (h, m) = time.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(Self(day * 1440 + h * 60 + m))
    }
}

impl fmt::Display for WeekTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = DAYS[(self.0 / 1440) as usize];
        write!(f, "{day} {:02}:{:02}", self.0 % 1440 / 60, self.0 % 60)
    }
}

/// One freeze window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeWindow {
    /// A fixed period, `from` inclusive to `to` exclusive.
    Range {
        /// Start (inclusive).
        from: DateTime<Utc>,
        /// End (exclusive).
        to: DateTime<Utc>,
    },
    /// Every week from `from` to `to` in project local time; wraps past
    /// Sunday when `to` is earlier than `from` (e.g. Fri 18:00 to Mon 09:00).
    Weekly {
        /// Start (inclusive).
        from: WeekTime,
        /// End (exclusive).
        to: WeekTime,
    },
}

impl FreezeWindow {
    /// Whether `now` falls in the window, given the project's offset from UTC.
    pub fn contains(&self, now: DateTime<Utc>, utc_offset_minutes: i32) -> bool {
        match *self {
            FreezeWindow::Range { from, to } => from <= now && now < to,
            FreezeWindow::Weekly { from, to } => {
                let t = WeekTime::of(now + Duration::minutes(i64::from(utc_offset_minutes)));
                if from <= to {
                    from <= t && t < to
                } else {
                    t >= from || t < to
                }
            }
        }
    }
}

impl fmt::Display for FreezeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FreezeWindow::Range { from, to } => write!(
                f,
                "{} to {}",
                from.format("%Y-%m-%d %H:%M UTC"),
                to.format("%Y-%m-%d %H:%M UTC")
            ),
            FreezeWindow::Weekly { from, to } => write!(f, "every week {from} to {to}"),
        }
    }
}

/// A project's freeze windows and the local time they are written in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FreezeCalendar {
    /// The windows.
    pub windows: Vec<FreezeWindow>,
    /// Project local time minus UTC, in minutes (e.g. 480 for UTC+8).
    pub utc_offset_minutes: i32,
}

impl FreezeCalendar {
    /// The first window in force at `now`, if any.
    pub fn active(&self, now: DateTime<Utc>) -> Option<&FreezeWindow> {
        self.windows.iter().find(|w| w.contains(now, self.utc_offset_minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid date")
    }

    #[test]
    fn parses_and_prints_week_times() {
        let t: WeekTime = "Fri 18:00".parse().expect("parses");
        assert_eq!(t.minutes(), 4 * 1440 + 18 * 60);
        assert_eq!(t.to_string(), "Fri 18:00");
        assert_eq!(
            "monday 9:05".parse::<WeekTime>().map(|t| t.to_string()),
            Ok("Mon 09:05".into())
        );
        for bad in ["Fri", "Xyz 10:00", "Fri 24:00", "Fri 10:60", "Fri ten:00", ""] {
            assert!(bad.parse::<WeekTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn weekly_window_wraps_over_the_weekend() {
        let window = FreezeWindow::Weekly {
            from: "Fri 18:00".parse().expect("parses"),
            to: "Mon 09:00".parse().expect("parses"),
        };
        // 2026-11-27 is a Friday.
        assert!(!window.contains(utc(2026, 11, 27, 17, 59), 0));
        assert!(window.contains(utc(2026, 11, 27, 18, 0), 0));
        assert!(window.contains(utc(2026, 11, 29, 12, 0), 0));
        assert!(window.contains(utc(2026, 11, 30, 8, 59), 0));
        assert!(!window.contains(utc(2026, 11, 30, 9, 0), 0));
        // In UTC+8, Friday 10:00 UTC is Friday 18:00 local.
        assert!(window.contains(utc(2026, 11, 27, 10, 0), 480));
    }

    #[test]
    fn range_window_is_half_open() {
        let window = FreezeWindow::Range {
            from: utc(2026, 12, 24, 0, 0),
            to: utc(2027, 1, 2, 0, 0),
        };
        assert!(window.contains(utc(2026, 12, 24, 0, 0), 0));
        assert!(!window.contains(utc(2027, 1, 2, 0, 0), 0));
        let calendar = FreezeCalendar {
            windows: vec![window],
            utc_offset_minutes: 0,
        };
        assert!(calendar.active(utc(2026, 12, 31, 0, 0)).is_some());
        assert!(calendar.active(utc(2026, 12, 1, 0, 0)).is_none());
    }
}
