//! Retry delays: exponential, capped.

use std::time::Duration;

/// Delay before retry number `attempt` (1-based): `base * 2^(attempt-1)`,
/// at most `cap`.
pub fn delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let base = Duration::from_secs(5);
        let cap = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=6).map(|n| delay(n, base, cap).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
        assert_eq!(delay(1000, base, cap), cap);
    }
}
