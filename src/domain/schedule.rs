//! Scheduled releases (issue 14): who may schedule a ticket's release (or a
//! rollback's execution), whether a time is acceptable, how a time typed in
//! the project's zone becomes UTC, and when the project's next maintenance
//! window starts. Pure: the service layer loads the facts and writes the
//! schedule; at the scheduled time the release goes through [`decide`]
//! like one by hand, so no rule is restated here.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::action::Action;
use super::decision::{ProjectRules, Refusal, Request, TicketFacts};
use super::freeze::{FreezeCalendar, WeekTime};
use super::role::Actor;
use super::state::TicketKind;
use super::transition::decide;
use super::validate::InvalidInput;

/// How far ahead a release may be scheduled.
pub const MAX_AHEAD_DAYS: i64 = 366;

/// Minutes in a week.
const WEEK_MINUTES: i64 = 7 * 24 * 60;

/// A weekly maintenance window in the project's local time, e.g. Thursday
/// 06:00 to 08:00; wraps past Sunday when `to` is before `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// Start (inclusive).
    pub from: WeekTime,
    /// End (exclusive).
    pub to: WeekTime,
    /// Label shown to users.
    pub label: String,
}

impl std::fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.label.is_empty() {
            write!(f, "every week {} to {}", self.from, self.to)
        } else {
            write!(f, "{} (every week {} to {})", self.label, self.from, self.to)
        }
    }
}

/// Why a schedule is refused (besides the transition table's refusals).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    /// The time is not after now.
    #[error("{at} is in the past; choose a later time")]
    InPast {
        /// The time asked for, in the project's zone.
        at: String,
    },
    /// The time is more than [`MAX_AHEAD_DAYS`] ahead.
    #[error("{at} is more than {MAX_AHEAD_DAYS} days ahead")]
    TooFar {
        /// The time asked for, in the project's zone.
        at: String,
    },
    /// The local time does not exist (skipped by a daylight-saving change).
    #[error("{at} does not exist in {zone} (the clocks skip it); choose another time")]
    NoSuchLocalTime {
        /// The local time given.
        at: String,
        /// The project's zone.
        zone: String,
    },
    /// "Next maintenance window" on a project that declares none.
    #[error("this project declares no maintenance windows")]
    NoWindows,
}

impl ScheduleProblem {
    /// The stable code (translation key under `[input]`).
    pub fn code(&self) -> &'static str {
        use super::input_codes as c;
        match self {
            ScheduleProblem::InPast { .. } => c::SCHEDULE_IN_PAST,
            ScheduleProblem::TooFar { .. } => c::SCHEDULE_TOO_FAR,
            ScheduleProblem::NoSuchLocalTime { .. } => c::SCHEDULE_NO_SUCH_TIME,
            ScheduleProblem::NoWindows => c::NO_MAINTENANCE_WINDOWS,
        }
    }
}

impl From<ScheduleProblem> for InvalidInput {
    fn from(p: ScheduleProblem) -> Self {
        let input = InvalidInput::new("at", p.code(), p.to_string());
        match p {
            ScheduleProblem::InPast { at } => input.with("at", at),
            ScheduleProblem::TooFar { at } => input.with("at", at).with("days", MAX_AHEAD_DAYS),
            ScheduleProblem::NoSuchLocalTime { at, zone } => input.with("at", at).with("zone", zone),
            ScheduleProblem::NoWindows => input,
        }
    }
}

/// The action a scheduled ticket of `kind` takes when its time comes.
pub fn scheduled_action(kind: TicketKind) -> Action {
    match kind {
        TicketKind::Release => Action::Release,
        TicketKind::Rollback => Action::Execute,
    }
}

/// Whether `actor` may schedule (or change the schedule of) ticket `t` now:
/// exactly when the table would let them take its action by hand, except
/// that a freeze window in force now does not count (it is checked again
/// at the scheduled time, as for a release by hand then).
pub fn may_schedule(
    t: &TicketFacts,
    rules: ProjectRules<'_>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let open = FreezeCalendar {
        windows: Vec::new(),
        zone: rules.freeze.zone,
    };
    let rules = ProjectRules { freeze: &open, ..rules };
    let request = Request {
        action: scheduled_action(t.kind),
        actor,
        note: None,
        emergency_override: false,
        confirm_outside_paths: false,
        now,
    };
    decide(t, rules, request).map(|_| ())
}

/// Whether `actor` may cancel a schedule made by `scheduled_by`: its
/// maker, an admin, or whoever may schedule the ticket.
pub fn may_cancel(
    t: &TicketFacts,
    rules: ProjectRules<'_>,
    actor: &Actor,
    scheduled_by: i64,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    match actor {
        Actor::User(user) if user.id == scheduled_by || user.is_admin => Ok(()),
        _ => may_schedule(t, rules, actor, now),
    }
}

/// Whether `at` is an acceptable time to schedule for at `now`: later than
/// now and at most [`MAX_AHEAD_DAYS`] ahead.
pub fn check_time(at: DateTime<Utc>, now: DateTime<Utc>, zone: Tz) -> Result<(), ScheduleProblem> {
    let shown = || at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string();
    if at <= now {
        return Err(ScheduleProblem::InPast { at: shown() });
    }
    if at > now + Duration::days(MAX_AHEAD_DAYS) {
        return Err(ScheduleProblem::TooFar { at: shown() });
    }
    Ok(())
}

/// A wall-clock time in `zone` as UTC. Of a time that occurs twice (the
/// autumn change) the first; a time the clocks skip is refused.
pub fn local_to_utc(local: NaiveDateTime, zone: Tz) -> Result<DateTime<Utc>, ScheduleProblem> {
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ScheduleProblem::NoSuchLocalTime {
            at: local.format("%Y-%m-%d %H:%M").to_string(),
            zone: zone.name().to_owned(),
        })
}

/// When the next maintenance window starts strictly after `now`: the
/// earliest next start of any window, each read in the project's zone on
/// the day it falls (so it follows daylight saving). A start the clocks
/// skip moves on by the jump (Sunday 02:30 on a spring-forward night
/// becomes 03:30), as the ends of freeze windows do.
pub fn next_window_start(windows: &[MaintenanceWindow], zone: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    windows.iter().filter_map(|w| next_start(w.from, zone, now)).min()
}

fn next_start(from: WeekTime, zone: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&zone).naive_local();
    let minute = local.format("%Y-%m-%d %H:%M").to_string();
    let start_of_minute = NaiveDateTime::parse_from_str(&minute, "%Y-%m-%d %H:%M").ok()?;
    let now_week = i64::from(WeekTime::of_local(start_of_minute).minutes());
    let mut ahead = (i64::from(from.minutes()) - now_week).rem_euclid(WEEK_MINUTES);
    // Try this week's occurrence, then next week's: the first one after `now`.
    for _ in 0..2 {
        let candidate_local = start_of_minute + Duration::minutes(ahead);
        let found = (0..=2)
            .find_map(|h| {
                zone.from_local_datetime(&(candidate_local + Duration::hours(h)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc));
        if let Some(t) = found.filter(|t| *t > now) {
            return Some(t);
        }
        ahead += WEEK_MINUTES;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::freeze::FreezeWindow;
    use crate::domain::policy::{Approval, ApprovalPolicy};
    use crate::domain::role::{Role, UserActor};
    use crate::domain::state::TicketState;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid date")
    }

    fn window(from: &str, to: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            from: from.parse().expect("week time"),
            to: to.parse().expect("week time"),
            label: String::new(),
        }
    }

    #[test]
    fn next_window_follows_daylight_saving_in_berlin() {
        let berlin = Tz::Europe__Berlin;
        let thursday = [window("Thu 06:00", "Thu 08:00")];
        // Monday 2026-03-23 (CET, UTC+1): Thursday 06:00 is 05:00 UTC.
        assert_eq!(
            next_window_start(&thursday, berlin, utc(2026, 3, 23, 12, 0)),
            Some(utc(2026, 3, 26, 5, 0))
        );
        // Friday 2026-03-27, before the switch on Sunday the 29th: the next
        // Thursday is in summer time (CEST, UTC+2): 04:00 UTC.
        assert_eq!(
            next_window_start(&thursday, berlin, utc(2026, 3, 27, 12, 0)),
            Some(utc(2026, 4, 2, 4, 0))
        );
        // And back in October (switch on the 25th): Thursday the 29th is CET.
        assert_eq!(
            next_window_start(&thursday, berlin, utc(2026, 10, 23, 12, 0)),
            Some(utc(2026, 10, 29, 5, 0))
        );
        // A start the clocks skip (Sunday 02:30 on 2026-03-29) moves on by
        // the jump: 03:30 CEST.
        let skipped = [window("Sun 02:30", "Sun 04:00")];
        assert_eq!(
            next_window_start(&skipped, berlin, utc(2026, 3, 28, 12, 0)),
            Some(utc(2026, 3, 29, 1, 30))
        );
        // The earliest of several windows; during a window, the next one.
        let two = [window("Thu 06:00", "Thu 08:00"), window("Tue 22:00", "Wed 01:00")];
        assert_eq!(
            next_window_start(&two, berlin, utc(2026, 3, 23, 12, 0)),
            Some(utc(2026, 3, 24, 21, 0))
        );
        assert_eq!(
            next_window_start(&thursday, berlin, utc(2026, 3, 26, 5, 0)),
            Some(utc(2026, 4, 2, 4, 0))
        );
        assert_eq!(next_window_start(&[], berlin, utc(2026, 3, 26, 5, 0)), None);
    }

    #[test]
    fn local_times_become_utc() {
        let berlin = Tz::Europe__Berlin;
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        assert_eq!(
            local_to_utc(local("2026-07-02 06:00"), berlin),
            Ok(utc(2026, 7, 2, 4, 0))
        );
        assert!(matches!(
            local_to_utc(local("2026-03-29 02:30"), berlin),
            Err(ScheduleProblem::NoSuchLocalTime { .. })
        ));
        // 02:30 occurs twice on 2026-10-25: the first (CEST).
        assert_eq!(
            local_to_utc(local("2026-10-25 02:30"), berlin),
            Ok(utc(2026, 10, 25, 0, 30))
        );
    }

    #[test]
    fn times_must_lie_ahead() {
        let now = utc(2026, 6, 1, 12, 0);
        assert!(check_time(now + Duration::minutes(1), now, Tz::UTC).is_ok());
        let past = check_time(now - Duration::minutes(1), now, Tz::Europe__Berlin);
        assert_eq!(
            past,
            Err(ScheduleProblem::InPast {
                at: "2026-06-01 13:59 CEST".into()
            })
        );
        assert!(matches!(
            check_time(now, now, Tz::UTC),
            Err(ScheduleProblem::InPast { .. })
        ));
        assert!(matches!(
            check_time(now + Duration::days(400), now, Tz::UTC),
            Err(ScheduleProblem::TooFar { .. })
        ));
    }

    fn approved(now: DateTime<Utc>) -> TicketFacts {
        TicketFacts {
            kind: TicketKind::Release,
            state: TicketState::Approved,
            submitter_id: 1,
            tested_by: Some(2),
            generation: 1,
            snapshot_seq: Some(1),
            approvals: vec![Approval {
                user_id: 3,
                generation: 1,
                at: now,
            }],
            failed_from: None,
            has_outside_paths: false,
            outside_paths_confirmed: false,
        }
    }

    fn user(id: i64, roles: &[Role], is_admin: bool) -> Actor {
        Actor::User(UserActor {
            id,
            is_admin,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        })
    }

    #[test]
    fn only_releasers_schedule_and_a_freeze_now_does_not_stop_them() {
        let now = utc(2026, 6, 1, 12, 0);
        let policy = ApprovalPolicy::default();
        let frozen = FreezeCalendar {
            windows: vec![FreezeWindow::Range {
                from: now - Duration::hours(1),
                to: now + Duration::hours(1),
            }],
            zone: Tz::UTC,
        };
        let rules = ProjectRules {
            policy: &policy,
            freeze: &frozen,
            production_snapshot_seq: None,
        };
        let t = approved(now);
        // The submitter and a lead may, even while frozen now.
        assert!(may_schedule(&t, rules, &user(1, &[Role::Developer], false), now).is_ok());
        assert!(may_schedule(&t, rules, &user(3, &[Role::Lead], false), now).is_ok());
        // A tester or another developer may not; nor an admin without the role.
        for outsider in [
            user(2, &[Role::Tester], false),
            user(4, &[Role::Developer], false),
            user(5, &[], true),
        ] {
            assert!(matches!(
                may_schedule(&t, rules, &outsider, now),
                Err(Refusal::NotPermitted { .. })
            ));
        }
        // Not before approval; not older than production.
        let tested = TicketFacts {
            state: TicketState::Tested,
            ..t.clone()
        };
        assert!(matches!(
            may_schedule(&tested, rules, &user(1, &[Role::Developer], false), now),
            Err(Refusal::WrongState { .. })
        ));
        let behind = ProjectRules {
            production_snapshot_seq: Some(2),
            ..rules
        };
        assert_eq!(
            may_schedule(&t, behind, &user(1, &[Role::Developer], false), now),
            Err(Refusal::OlderThanProduction)
        );
        // Its maker and admins cancel; a tester does not.
        assert!(may_cancel(&t, rules, &user(5, &[], true), 1, now).is_ok());
        assert!(may_cancel(&t, rules, &user(2, &[Role::Tester], false), 2, now).is_ok());
        assert!(may_cancel(&t, rules, &user(2, &[Role::Tester], false), 1, now).is_err());
        assert_eq!(scheduled_action(TicketKind::Rollback), Action::Execute);
    }
}
