//! The one check of a project's `svn_url` (import file, admin form, API, and
//! again before a job uses it): a URL of a scheme svn speaks, no whitespace
//! or control characters, and never a password in it (DESIGN.md invariant 7:
//! a URL is shown on pages and in job logs; passwords belong in the
//! configuration's `[svn.credentials.<name>]`, named by `svn_credentials`).

/// The schemes `svn_url` may use.
pub const SCHEMES: [&str; 5] = ["file:///", "svn://", "svn+ssh://", "http://", "https://"];

/// Why an `svn_url` is refused (the message names the field and what to do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SvnUrlError {
    /// Not a URL of a scheme svn speaks, or it holds whitespace or control characters.
    #[error("svn_url `{0}` must be a file:///, svn://, svn+ssh://, http:// or https:// URL")]
    NotAUrl(String),
    /// The URL holds `user:password@`.
    #[error(
        "svn_url must not hold a password (`user:password@`): remove it and name credentials from the \
         configuration's [svn.credentials.<name>] in the project's svn_credentials"
    )]
    Password,
}

/// Checks `url` (see the module docs). The refused URL is never echoed when
/// it holds a password.
pub fn check(url: &str) -> Result<(), SvnUrlError> {
    if has_password(url) {
        return Err(SvnUrlError::Password);
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) || !SCHEMES.iter().any(|s| url.starts_with(s)) {
        return Err(SvnUrlError::NotAUrl(url.escape_debug().to_string()));
    }
    Ok(())
}

/// Whether `url`'s authority holds `user:password@` (any scheme).
pub fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_password_and_points_to_svn_credentials() {
        for url in [
            "https://deploy:hunter2@svn.example/repos/shop",
            "svn://u:p@svn.example/shop",
            "svn+ssh://u:@svn.example/shop",
        ] {
            let error = check(url).expect_err(url);
            assert_eq!(error, SvnUrlError::Password);
            assert!(error.to_string().contains("svn_credentials"), "{error}");
            assert!(!error.to_string().contains("hunter2"));
        }
        assert_eq!(check("https://deploy@svn.example/repos/shop"), Ok(()));
        assert_eq!(
            check("https://svn.example/a:b@c/shop"),
            Ok(()),
            "`:` and `@` in the path are fine"
        );
        assert_eq!(check("file:///srv/svn/shop"), Ok(()));
        assert!(matches!(check("ftp://svn.example/x"), Err(SvnUrlError::NotAUrl(_))));
        assert!(matches!(check("https://svn.example/a b"), Err(SvnUrlError::NotAUrl(_))));
    }
}
