//! Release version numbering: per project, a counter rendered into a git
//! tag name through the project's format (default `v{n}`).

use std::fmt;

/// A validated version format containing `{n}` exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFormat(String);

/// Why a version format was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version format `{format}` {problem}")]
pub struct BadVersionFormat {
    /// The text given.
    pub format: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl VersionFormat {
    /// Checks that the format names `{n}` once and renders to a valid git tag.
    pub fn parse(format: &str) -> Result<Self, BadVersionFormat> {
        let bad = |problem| BadVersionFormat {
            format: format.to_owned(),
            problem,
        };
        if format.matches("{n}").count() != 1 {
            return Err(bad("must contain `{n}` exactly once"));
        }
        let fixed = format.replace("{n}", "");
        if format.len() > 64 {
            return Err(bad("is longer than 64 characters"));
        }
        if !fixed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            // No `/`: the name is also the release's directory on every host.
            return Err(bad("may only use letters, digits, `.`, `_` and `-` around `{n}`"));
        }
        if format.starts_with(['-', '.', '/'])
            || format.ends_with(['.', '/'])
            || format.contains("..")
            || format.contains("//")
        {
            return Err(bad("does not make a valid git tag name"));
        }
        Ok(Self(format.to_owned()))
    }

    /// The tag name of version `n`.
    pub fn render(&self, n: i64) -> String {
        self.0.replace("{n}", &n.to_string())
    }

    /// The number of the release named `name` in this format (`v7` → 7), if
    /// it is one.
    pub fn number_of(&self, name: &str) -> Option<i64> {
        let (prefix, suffix) = self.0.split_once("{n}")?;
        let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The format text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for VersionFormat {
    fn default() -> Self {
        Self("v{n}".to_owned())
    }
}

impl fmt::Display for VersionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn reads_the_number_back_from_a_rendered_name() {
        let f = VersionFormat::parse("rel-{n}.x").expect("format");
        assert_eq!(f.number_of(&f.render(12)), Some(12));
        assert_eq!(f.number_of("rel-.x"), None);
        assert_eq!(f.number_of("v12"), None);
        assert_eq!(VersionFormat::default().number_of("v3"), Some(3));
    }
}

/// The number the next release of a project gets, given the last one handed out.
pub fn next_version(last: Option<i64>) -> i64 {
    last.unwrap_or(0) + 1
}

/// Whether a release holding version number `own` must take a fresh number
/// before it ships (invariant 3 for numbers): it must when production or any
/// host already runs a newer number and no host runs `own`. Shipping `own`
/// then would make production's version go down while its content moves
/// forward, and rollbacks (gated by number) could no longer reach the newer
/// one. A number some host runs stays: those hosts run it under that name.
///
/// `running` holds the versions the project's hosts run; `production` the
/// last full release.
pub fn needs_fresh_number(own: i64, running: &[i64], production: Option<i64>) -> bool {
    !running.contains(&own) && running.iter().copied().chain(production).any(|v| v > own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_behind_production_that_no_host_runs_is_renewed() {
        assert!(needs_fresh_number(1, &[2], Some(2)));
        assert!(needs_fresh_number(1, &[], Some(2)));
        assert!(needs_fresh_number(3, &[4, 2], None));
        // Some host runs it: the number stays.
        assert!(!needs_fresh_number(1, &[1, 2], Some(2)));
        // Ahead of (or equal to) everything running: nothing to renew.
        assert!(!needs_fresh_number(3, &[2], Some(2)));
        assert!(!needs_fresh_number(1, &[], None));
    }

    #[test]
    fn formats_render_and_validate() {
        assert_eq!(VersionFormat::default().render(7), "v7");
        let f = VersionFormat::parse("shop-{n}").expect("valid");
        assert_eq!(f.render(12), "shop-12");
        for bad in [
            "v",
            "{n}{n}",
            "-{n}",
            "v {n}",
            "a..{n}",
            "{n}/",
            "release/{n}",
            "v{n}.lock~",
        ] {
            assert!(VersionFormat::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(next_version(None), 1);
        assert_eq!(next_version(Some(41)), 42);
    }
}
