//! Freeze windows: periods in which a project may not release without an
//! admin's emergency override. Weekly windows are read in the project's IANA
//! time zone ([`chrono_tz::Tz`]), so they follow daylight saving.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

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

    fn of(local: NaiveDateTime) -> Self {
        Self(local.weekday().num_days_from_monday() * 1440 + local.hour() * 60 + local.minute())
    }

    /// The week time of a wall-clock time.
    pub fn of_local(local: NaiveDateTime) -> Self {
        Self::of(local)
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
    /// Whether `now` falls in the window, given the project's time zone.
    pub fn contains(&self, now: DateTime<Utc>, zone: Tz) -> bool {
        match *self {
            FreezeWindow::Range { from, to } => from <= now && now < to,
            FreezeWindow::Weekly { from, to } => {
                let t = WeekTime::of(now.with_timezone(&zone).naive_local());
                if from <= to {
                    from <= t && t < to
                } else {
                    t >= from || t < to
                }
            }
        }
    }

    /// When the window that holds `now` ends (for a weekly window: the next
    /// `to` in the zone's local time, whatever the offset is then).
    pub fn end_after(&self, now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        match *self {
            FreezeWindow::Range { to, .. } => to,
            FreezeWindow::Weekly { to, .. } => {
                let local = now.with_timezone(&zone).naive_local();
                let t = WeekTime::of(local);
                let ahead = (i64::from(to.0) - i64::from(t.0)).rem_euclid(i64::from(WEEK_MINUTES));
                let ahead = if ahead == 0 { i64::from(WEEK_MINUTES) } else { ahead };
                let start_of_minute = local.with_second(0).and_then(|l| l.with_nanosecond(0)).unwrap_or(local);
                let end_local = start_of_minute + Duration::minutes(ahead);
                // A local time skipped by a daylight-saving jump ends the
                // window at the first minute that exists after it.
                (0..=2)
                    .find_map(|h| zone.from_local_datetime(&(end_local + Duration::hours(h))).earliest())
                    .map_or(now + Duration::minutes(ahead), |end| end.with_timezone(&Utc))
            }
        }
    }
}

/// The IANA zone for a fixed offset from UTC in minutes, as the migration of
/// the old `utc_offset_minutes` setting maps it: whole hours to `Etc/GMT∓N`
/// (whose sign is inverted by POSIX convention), 0 to `UTC`, and the common
/// half- and quarter-hour offsets to a zone that has them.
pub fn zone_for_offset(minutes: i32) -> Option<Tz> {
    let name = match minutes {
        0 => "UTC".to_owned(),
        m if m % 60 == 0 && (-12 * 60..=14 * 60).contains(&m) => {
            let hours = m / 60;
            // Etc/GMT-8 is UTC+8.
            if hours > 0 {
                format!("Etc/GMT-{hours}")
            } else {
                format!("Etc/GMT+{}", -hours)
            }
        }
        -570 => "Pacific/Marquesas".into(),
        -210 => "America/St_Johns".into(),
        210 => "Asia/Tehran".into(),
        270 => "Asia/Kabul".into(),
        330 => "Asia/Kolkata".into(),
        345 => "Asia/Kathmandu".into(),
        390 => "Asia/Yangon".into(),
        525 => "Australia/Eucla".into(),
        570 => "Australia/Darwin".into(),
        765 => "Pacific/Chatham".into(),
        _ => return None,
    };
    name.parse().ok()
}

/// A project's time zone given as text: an IANA name such as
/// `Asia/Shanghai` or `Europe/Berlin` (`UTC` and `Etc/GMT-8` included).
pub fn parse_zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    name.parse().ok()
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

/// A project's freeze windows and the time zone they are written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeCalendar {
    /// The windows.
    pub windows: Vec<FreezeWindow>,
    /// The project's time zone (weekly windows are in its local time).
    pub zone: Tz,
}

impl Default for FreezeCalendar {
    fn default() -> Self {
        Self {
            windows: Vec::new(),
            zone: Tz::UTC,
        }
    }
}

impl FreezeCalendar {
    /// The first window in force at `now`, if any.
    pub fn active(&self, now: DateTime<Utc>) -> Option<&FreezeWindow> {
        self.windows.iter().find(|w| w.contains(now, self.zone))
    }

    /// When releasing is allowed again: the end of the freeze in force at
    /// `now`, following windows that overlap or touch it; `None` when
    /// nothing is frozen.
    pub fn frozen_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut end = self.active(now)?.end_after(now, self.zone);
        // Bounded: each step moves past the end of a window in force.
        for _ in 0..self.windows.len() * 2 {
            match self.active(end) {
                Some(next) => end = next.end_after(end, self.zone).max(end + Duration::minutes(1)),
                None => break,
            }
        }
        Some(end)
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
        assert!(!window.contains(utc(2026, 11, 27, 17, 59), Tz::UTC));
        assert!(window.contains(utc(2026, 11, 27, 18, 0), Tz::UTC));
        assert!(window.contains(utc(2026, 11, 29, 12, 0), Tz::UTC));
        assert!(window.contains(utc(2026, 11, 30, 8, 59), Tz::UTC));
        assert!(!window.contains(utc(2026, 11, 30, 9, 0), Tz::UTC));
        // In UTC+8, Friday 10:00 UTC is Friday 18:00 local.
        assert!(window.contains(utc(2026, 11, 27, 10, 0), Tz::Asia__Shanghai));
        assert_eq!(
            window.end_after(utc(2026, 11, 27, 10, 0), Tz::Asia__Shanghai),
            utc(2026, 11, 30, 1, 0)
        );
    }

    #[test]
    fn weekly_windows_follow_daylight_saving() {
        let window = FreezeWindow::Weekly {
            from: "Fri 18:00".parse().expect("parses"),
            to: "Mon 09:00".parse().expect("parses"),
        };
        let berlin = Tz::Europe__Berlin;
        // Winter (UTC+1): Friday 18:00 local is 17:00 UTC.
        assert!(!window.contains(utc(2026, 1, 16, 16, 59), berlin));
        assert!(window.contains(utc(2026, 1, 16, 17, 0), berlin));
        // Summer (UTC+2): Friday 18:00 local is 16:00 UTC.
        assert!(!window.contains(utc(2026, 7, 17, 15, 59), berlin));
        assert!(window.contains(utc(2026, 7, 17, 16, 0), berlin));
        // The window over the March switch ends Monday 09:00 CEST = 07:00 UTC.
        assert_eq!(
            window.end_after(utc(2026, 3, 28, 12, 0), berlin),
            utc(2026, 3, 30, 7, 0)
        );
        let calendar = FreezeCalendar {
            windows: vec![window],
            zone: berlin,
        };
        assert_eq!(
            calendar.frozen_until(utc(2026, 3, 28, 12, 0)),
            Some(utc(2026, 3, 30, 7, 0))
        );
        assert_eq!(calendar.frozen_until(utc(2026, 3, 25, 12, 0)), None);
    }

    #[test]
    fn fixed_offsets_map_to_zones() {
        assert_eq!(zone_for_offset(0), Some(Tz::UTC));
        assert_eq!(zone_for_offset(480).map(|z| z.name()), Some("Etc/GMT-8"));
        assert_eq!(zone_for_offset(-300).map(|z| z.name()), Some("Etc/GMT+5"));
        assert_eq!(zone_for_offset(330).map(|z| z.name()), Some("Asia/Kolkata"));
        assert_eq!(zone_for_offset(17), None);
        assert_eq!(parse_zone(" Asia/Shanghai ").map(|z| z.name()), Some("Asia/Shanghai"));
        assert!(parse_zone("Mars/Olympus").is_none());
        assert!(parse_zone("").is_none());
    }

    #[test]
    fn range_window_is_half_open() {
        let window = FreezeWindow::Range {
            from: utc(2026, 12, 24, 0, 0),
            to: utc(2027, 1, 2, 0, 0),
        };
        assert!(window.contains(utc(2026, 12, 24, 0, 0), Tz::UTC));
        assert!(!window.contains(utc(2027, 1, 2, 0, 0), Tz::UTC));
        let calendar = FreezeCalendar {
            windows: vec![window],
            zone: Tz::UTC,
        };
        assert!(calendar.active(utc(2026, 12, 31, 0, 0)).is_some());
        assert!(calendar.active(utc(2026, 12, 1, 0, 0)).is_none());
    }
}
