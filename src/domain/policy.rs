//! A project's approval policy and how approvals are counted.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

/// How many leads must approve, and who may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicy {
    /// Distinct approvals needed (at least 1), e.g. "2 of the 4 leads".
    pub required: u32,
    /// Whether a lead may approve a ticket they submitted themselves.
    pub allow_self_approval: bool,
    /// Whether whoever marked the ticket tested may also approve it.
    pub tested_by_may_approve: bool,
    /// Whether a tester must confirm the files a release changes outside
    /// the ticket's SVN paths before it can be approved.
    pub require_outside_paths_confirmation: bool,
    /// Approvals older than this no longer count (`None`: they never expire).
    pub expiry: Option<Duration>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            required: 1,
            allow_self_approval: false,
            tested_by_may_approve: true,
            require_outside_paths_confirmation: false,
            expiry: None,
        }
    }
}

/// One recorded approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The approving lead.
    pub user_id: i64,
    /// The stage generation (snapshot) it was given for.
    pub generation: i32,
    /// When it was given.
    pub at: DateTime<Utc>,
}

impl ApprovalPolicy {
    /// The distinct users whose approval counts now: given for the current
    /// snapshot (`generation`) and not expired.
    pub fn valid_approvers(&self, approvals: &[Approval], generation: i32, now: DateTime<Utc>) -> BTreeSet<i64> {
        approvals
            .iter()
            .filter(|a| a.generation == generation)
            .filter(|a| self.expiry.is_none_or(|ttl| a.at + ttl > now))
            .map(|a| a.user_id)
            .collect()
    }

    /// Whether the approvals that count reach the required number.
    pub fn is_satisfied(&self, approvals: &[Approval], generation: i32, now: DateTime<Utc>) -> bool {
        self.valid_approvers(approvals, generation, now).len() as u64 >= u64::from(self.required)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(minutes)
    }

    #[test]
    fn counts_distinct_current_unexpired_approvals() {
        let policy = ApprovalPolicy {
            required: 2,
            expiry: Some(Duration::minutes(60)),
            ..ApprovalPolicy::default()
        };
        let approvals = vec![
            Approval {
                user_id: 1,
                generation: 2,
                at: at(0),
            },
            Approval {
                user_id: 1,
                generation: 2,
                at: at(10),
            },
            Approval {
                user_id: 2,
                generation: 1,
                at: at(10),
            },
            Approval {
                user_id: 3,
                generation: 2,
                at: at(50),
            },
        ];
        assert_eq!(policy.valid_approvers(&approvals, 2, at(20)).len(), 2);
        assert!(policy.is_satisfied(&approvals, 2, at(20)));
        // user 1's newest approval expires at minute 70
        assert!(!policy.is_satisfied(&approvals, 2, at(71)));
        assert!(!policy.is_satisfied(&approvals, 3, at(20)));
    }
}
