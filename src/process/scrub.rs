//! Scrubbing secrets out of text (invariant 7, see docs/design.md#invariants).
//!
//! Two lists are scrubbed from every output line of every child:
//! - the secrets a [`super::ProcessSpec`] names itself (e.g. the SVN password
//!   it writes to `svn`'s stdin), and
//! - the process-wide list of *known* secrets, filled at start-up by
//!   [`register`] / [`register_url`]: SVN passwords, the SMTP password, the
//!   JWT signing key, the database URL and its password, every webhook's
//!   secret and URL (see `jobs::secrets`).
//!
//! [`scrub_known`] applies the known list to any other text that leaves the
//! server (job failure reasons, log lines).

use std::sync::RwLock;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// The process-wide known secrets, longest first.
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secret` to the process-wide list scrubbed from all child output and
/// from [`scrub_known`] text. Empty strings are ignored; duplicates are kept once.
pub fn register(secret: &str) {
    let secret = secret.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if known.iter().any(|k| k == secret) {
        return;
    }
    known.push(secret.to_owned());
    // Longest first, so a secret containing another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Shortest URL path registered as a secret of its own (a token path like
/// Slack's `/services/T…/B…/…`; shorter paths such as `/slipway` are too
/// common in other text to scrub).
const MIN_TOKEN_PATH: usize = 24;

/// Shortest query value registered as a secret of its own (`access_token=…`).
const MIN_QUERY_VALUE: usize = 8;

/// Registers a URL that is itself a secret (a webhook URL, a database URL):
/// the whole URL, a long path (a token path) with its query, long query
/// values (`access_token=…`), and the password of a `user:password@` part,
/// raw and percent-decoded.
pub fn register_url(url: &str) {
    register(url);
    let Some((_, rest)) = url.split_once("://") else {
        return;
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (bare_path, query) = path.split_once('?').unwrap_or((path, ""));
    if bare_path.len() + 1 >= MIN_TOKEN_PATH {
        register(&format!("/{path}"));
    }
    for pair in query.split('&') {
        if let Some((_, value)) = pair.split_once('=') {
            if value.len() >= MIN_QUERY_VALUE {
                register(value);
            }
        }
    }
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if let Some((_, password)) = userinfo.split_once(':') {
            register(password);
            register(&percent_decode(password));
        }
    }
}

/// `%XX` sequences decoded (invalid ones kept as they are).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A snapshot of the known secrets (longest first).
pub fn known() -> Vec<String> {
    KNOWN.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Replaces every occurrence of each secret in `text` by `***`.
/// `secrets` should be sorted longest first (as [`super::ProcessSpec::secret`] keeps them).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// [`scrub`] with `own` secrets and then the known ones.
pub fn scrub_all(text: &str, own: &[String]) -> String {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if own.is_empty() {
        return scrub(text, &known);
    }
    let mut all: Vec<String> = own.iter().chain(known.iter()).cloned().collect();
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    scrub(text, &all)
}

/// `text` with every known secret replaced by `***` (for error text that
/// does not come from a child: failure reasons, notes, log lines).
pub fn scrub_known(text: &str) -> String {
    scrub_all(text, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_register_their_password_and_token_path() {
        register_url("postgres://slipway:pa%40ss-scrub-test@db.example:5432/slipway");
        register_url("https://hooks.example/services/T0/B0/tok3n-scrub-test");
        register_url("https://oapi.example/robot/send?access_token=qu3ry-scrub-test");
        register_url("http://chat.example/slipway");
        let text = "pa@ss-scrub-test pa%40ss-scrub-test /services/T0/B0/tok3n-scrub-test qu3ry-scrub-test";
        assert_eq!(scrub_known(text), "*** *** *** ***");
        assert_eq!(
            scrub_known("/srv/slipway/staging"),
            "/srv/slipway/staging",
            "short paths stay"
        );
        assert_eq!(percent_decode("a%4"), "a%4");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }
}
