//! Where a page may send the browser next: `/login?next=` and the language
//! switch's `back` name a path on this site, never another site.
//!
//! Browsers are lenient with `Location`: they drop tabs and newlines, read a
//! backslash as a slash and take `//host` as "same scheme, other host". So a
//! target is followed only when it starts with one `/`, holds no
//! whitespace, and neither it nor its percent-decoded forms hold a control
//! character, a backslash, an invisible format character or a
//! scheme-relative start.
//! Anything else falls back to `/`.

/// Longest target followed, in bytes.
pub const MAX_TARGET: usize = 2000;

/// `target` when it is a safe same-site path, else `/`.
pub fn safe_local_path(target: Option<&str>) -> String {
    match target {
        Some(t) if is_safe(t) => t.to_owned(),
        _ => "/".to_owned(),
    }
}

/// Whether `target` (already decoded once, as the query and form parsers
/// hand it over) stays on this site however often it is decoded again.
pub fn is_safe(target: &str) -> bool {
    if target.len() >= MAX_TARGET {
        return false;
    }
    let mut current = target.to_owned();
    // Each round decodes once more: `%252F` → `%2F` → `/`.
    for round in 0..4 {
        if !shape_ok(&current, round == 0) {
            return false;
        }
        match percent_decode(&current) {
            Some(next) if next == current => return true,
            Some(next) => current = next,
            // Not valid UTF-8 once decoded: refuse rather than guess.
            None => return false,
        }
    }
    false
}

/// `raw`: the text as it would go into `Location`, where whitespace is
/// refused too (an escaped space is fine once decoded).
fn shape_ok(s: &str, raw: bool) -> bool {
    let mut chars = s.chars();
    if chars.next() != Some('/') {
        return false;
    }
    if matches!(chars.next(), Some('/' | '\\')) {
        return false;
    }
    !s.chars()
        .any(|c| c.is_control() || (raw && c.is_whitespace()) || c == '\\' || crate::domain::is_invisible_format(c))
}

/// Decodes `%XX` escapes; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_targets_fall_back_to_the_root() {
        let hostile = [
            "//evil.example",
            "//evil.example/path",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\\/evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0D/evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%5c%5cevil.example",
            "/%252F/evil.example",
            "/%25252F/evil.example",
            "/%00/evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}evil.example",
            "/\u{85}/evil.example",
            "/\u{a0}/evil.example",
            "/\u{3000}/evil.example",
            "/\u{200b}/evil.example",
            "/\u{202e}/evil.example",
            "/%E2%80%AE/evil.example",
            "/\u{feff}/evil.example",
            "/%ff/evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "./x",
        ];
        for target in hostile {
            assert_eq!(safe_local_path(Some(target)), "/", "{target:?} must not be followed");
        }
        assert_eq!(safe_local_path(None), "/");
        assert_eq!(safe_local_path(Some(&format!("/{}", "a".repeat(MAX_TARGET)))), "/");
    }

    #[test]
    fn site_paths_are_followed() {
        for target in [
            "/",
            "/tickets?x=1",
            "/tickets/12",
            "/tickets?project=shop&state=tested,approved",
            "/audit?project=a%20b",
            "/%E9%A1%B9%E7%9B%AE",
            "/projects/shop#released",
            "/a/%",
        ] {
            assert_eq!(safe_local_path(Some(target)), target, "{target:?} is a site path");
        }
    }
}
