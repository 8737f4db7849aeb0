//! Typed, validated user input. Anything that reaches a query, a path or an
//! external program's argument vector passes through one of these first.

use std::fmt;

/// Input that was refused, with the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidInput {
    /// The field name as the forms and the API call it.
    pub field: &'static str,
    /// What is wrong, in English words a user can act on (API, CLI, import file).
    pub problem: String,
    /// A stable code for the kind of problem, also the translation key
    /// (`input.*` in `locales/`, see [`codes`]).
    pub code: &'static str,
    /// The values the translated message names (`{max}`, `{path}`, …).
    pub params: Vec<(&'static str, String)>,
}

/// Stable codes of [`InvalidInput`] (translation keys under `[input]`).
pub use super::input_codes as codes;

impl InvalidInput {
    /// A refusal of `field` with its stable `code` (see [`codes`]) and the
    /// English `problem`.
    pub fn new(field: &'static str, code: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
            code,
            params: Vec::new(),
        }
    }

    /// The same refusal with another stable code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// Adds a value the translated message names as `{name}`.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    /// The same refusal reported on another field.
    pub fn on(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

/// Whether `c` is a bidirectional embedding/override/isolate mark or an
/// invisible format character (U+202A–U+202E, U+2066–U+2069,
/// U+200B–U+200F, U+FEFF): text that reads differently from what it is.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

fn has_control(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

/// Refuses control characters (newlines and tabs allowed when asked) and
/// invisible format characters in `value` (a name, reason, path), with
/// their stable codes.
pub fn check_text(field: &'static str, value: &str, allow_newlines: bool) -> Result<(), InvalidInput> {
    if has_control(value, allow_newlines) {
        return Err(InvalidInput::new(
            field,
            codes::CONTROL_CHARACTER,
            "must not contain control characters",
        ));
    }
    if value.chars().any(is_invisible_format) {
        return Err(InvalidInput::new(
            field,
            codes::INVISIBLE_CHARACTER,
            "must not contain invisible or text-direction characters (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+FEFF)",
        ));
    }
    Ok(())
}

/// Checks a short identifier: 1..=max chars from `[a-z0-9_.-]`, starting with
/// a letter or digit.
fn identifier(field: &'static str, value: &str, max: usize, extra: &[char]) -> Result<String, InvalidInput> {
    if value.is_empty() {
        return Err(InvalidInput::new(field, codes::EMPTY, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(
            InvalidInput::new(field, codes::TOO_LONG, format!("must be at most {max} characters")).with("max", max),
        );
    }
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || extra.contains(&c));
    if !first_ok || !rest_ok {
        let (allowed, code) = if extra.is_empty() {
            ("", codes::IDENTIFIER)
        } else {
            (", `_` or `.`", codes::USERNAME_CHARS)
        };
        return Err(InvalidInput::new(
            field,
            code,
            format!("must start with a lowercase letter or digit and use only a-z, 0-9, `-`{allowed}"),
        ));
    }
    Ok(value.to_owned())
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// The validated text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A project name: `[a-z0-9][a-z0-9-]*`, at most 64 characters (used in
    /// URLs, directory names and git tags).
    ProjectName
);
string_newtype!(
    /// A user name: `[a-z0-9][a-z0-9._-]*`, at most 64 characters.
    Username
);
string_newtype!(
    /// A path inside the project's SVN repository: relative, no `..`, no
    /// leading `-`, no control characters, normalised to `a/b/c`.
    SvnPath
);
string_newtype!(
    /// Why: a non-empty text of at most [`Reason::MAX_CHARS`] characters.
    Reason
);

impl ProjectName {
    /// Validates a project name.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        identifier("name", value, 64, &[]).map(Self)
    }
}

impl Username {
    /// Validates a user name.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        identifier("username", value, 64, &['_', '.']).map(Self)
    }
}

impl SvnPath {
    /// Longest accepted path, in bytes.
    pub const MAX_BYTES: usize = 1024;

    /// Validates one SVN path relative to the project's repository URL.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let shown = || value.escape_debug().to_string();
        let bad = |code: &'static str, problem: &str| {
            Err(InvalidInput::new("svn_paths", code, format!("`{}`: {problem}", shown())).with("path", shown()))
        };
        let trimmed = value.trim_end_matches('/');
        if trimmed.is_empty() {
            return bad(codes::SVN_PATH_EMPTY, "must not be empty");
        }
        if value.len() > Self::MAX_BYTES {
            return bad(codes::SVN_PATH_TOO_LONG, "is longer than 1024 bytes");
        }
        if let Err(e) = check_text("svn_paths", value, false) {
            return bad(e.code, &e.problem);
        }
        if value.starts_with('/') || value.starts_with('\\') || value.contains("://") || value.contains('\\') {
            return bad(
                codes::SVN_PATH_NOT_RELATIVE,
                "must be a relative path inside the repository",
            );
        }
        if value.starts_with('-') {
            return bad(codes::SVN_PATH_DASH, "must not start with `-`");
        }
        let mut parts = Vec::new();
        for part in trimmed.split('/') {
            match part {
                "" | "." => continue,
                ".." => return bad(codes::SVN_PATH_DOTDOT, "must not contain `..`"),
                _ => parts.push(part),
            }
        }
        if parts.is_empty() {
            return bad(codes::SVN_PATH_NOTHING, "must name a path inside the repository");
        }
        Ok(Self(parts.join("/")))
    }

    /// Validates a list, refusing duplicates; an empty list means "the whole
    /// working copy".
    pub fn parse_list<S: AsRef<str>>(values: &[S]) -> Result<Vec<Self>, InvalidInput> {
        if values.len() > 200 {
            return Err(
                InvalidInput::new("svn_paths", codes::SVN_PATHS_TOO_MANY, "at most 200 paths per ticket")
                    .with("max", 200),
            );
        }
        let mut out: Vec<Self> = Vec::with_capacity(values.len());
        for value in values {
            let path = Self::parse(value.as_ref())?;
            if out.contains(&path) {
                return Err(
                    InvalidInput::new("svn_paths", codes::SVN_PATH_TWICE, format!("`{path}` is listed twice"))
                        .with("path", &path),
                );
            }
            out.push(path);
        }
        Ok(out)
    }
}

impl Reason {
    /// Longest accepted reason or note, in characters.
    pub const MAX_CHARS: usize = 4000;

    /// Validates a reason or note given for `field`; surrounding whitespace is trimmed.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, InvalidInput> {
        let value = value.trim();
        if value.is_empty() {
            return Err(InvalidInput::new(field, codes::EMPTY, "must not be empty"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                field,
                codes::TOO_LONG,
                format!("must be at most {} characters", Self::MAX_CHARS),
            )
            .with("max", Self::MAX_CHARS));
        }
        check_text(field, value, true)?;
        Ok(Self(value.to_owned()))
    }

    /// Like [`Reason::parse`], but empty or blank input means "no note".
    pub fn parse_optional(field: &'static str, value: Option<&str>) -> Result<Option<Self>, InvalidInput> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => Self::parse(field, text).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svn_paths_are_relative_and_inside_the_repo() {
        assert_eq!(
            SvnPath::parse("src/app.js").map(|p| p.into_string()),
            Ok("src/app.js".into())
        );
        assert_eq!(
            SvnPath::parse("./web//css/").map(|p| p.into_string()),
            Ok("web/css".into())
        );
        assert_eq!(
            SvnPath::parse("资源/图.png").map(|p| p.into_string()),
            Ok("资源/图.png".into())
        );
        for bad in [
            "",
            "/",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a/..",
            "-rf",
            "--config-dir=/tmp",
            "a\nb",
            "a\0b",
            "file:///x",
            "http://h/x",
            "a\\b",
            ".",
            "./",
            "\u{1b}[31m",
        ] {
            assert!(SvnPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(SvnPath::parse(&"a".repeat(1025)).is_err());
        assert!(SvnPath::parse_list(&["a", "./a"]).is_err());
        assert_eq!(SvnPath::parse_list::<&str>(&[]).map(|v| v.len()), Ok(0));
    }

    #[test]
    fn names_and_reasons() {
        assert!(ProjectName::parse("shop-web2").is_ok());
        for bad in ["", "Shop", "-x", "a b", "a/b", "a_b", "<script>", &"a".repeat(65)] {
            assert!(ProjectName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Username::parse("li.lei_2").is_ok());
        assert!(Username::parse(".x").is_err());
        assert_eq!(
            Reason::parse("reason", "  fix login \n").map(|r| r.into_string()),
            Ok("fix login".into())
        );
        assert!(Reason::parse("reason", "   ").is_err());
        assert!(Reason::parse("reason", "a\u{7}b").is_err());
        assert!(Reason::parse("reason", &"x".repeat(4001)).is_err());
        assert_eq!(Reason::parse_optional("note", Some("  ")), Ok(None));
    }

    /// Every invisible or direction-changing character of the issue, and a
    /// few neighbours that stay allowed.
    const INVISIBLE: [char; 15] = [
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{FEFF}',
    ];

    #[test]
    fn invisible_format_characters_are_refused_with_a_stable_code() {
        for c in INVISIBLE {
            assert!(is_invisible_format(c), "{c:?}");
            let path = format!("src/a{c}b.js");
            let e = SvnPath::parse(&path).expect_err("path with an invisible character");
            assert_eq!((e.field, e.code), ("svn_paths", codes::INVISIBLE_CHARACTER), "{c:?}");
            let e = Reason::parse("reason", &format!("fix {c}login")).expect_err("reason");
            assert_eq!((e.field, e.code), ("reason", codes::INVISIBLE_CHARACTER), "{c:?}");
            assert!(Reason::parse_optional("note", Some(&format!("{c}"))).is_err());
            assert_eq!(
                check_text("display_name", &format!("Li{c}Lei"), false).map_err(|e| e.code),
                Err(codes::INVISIBLE_CHARACTER)
            );
            assert!(ProjectName::parse(&format!("shop{c}")).is_err());
            assert!(Username::parse(&format!("li{c}")).is_err());
        }
        for fine in ['\u{2011}', '\u{2010}', '\u{2070}', '\u{200A}', '中', 'é'] {
            assert!(!is_invisible_format(fine), "{fine:?}");
            assert!(Reason::parse("reason", &format!("ok {fine}")).is_ok(), "{fine:?}");
        }
        let e = Reason::parse("reason", "a\u{1b}[31mb").expect_err("escape");
        assert_eq!(e.code, codes::CONTROL_CHARACTER);
        let e = SvnPath::parse("a\u{1b}b").expect_err("escape");
        assert_eq!(e.code, codes::CONTROL_CHARACTER);
    }
}
