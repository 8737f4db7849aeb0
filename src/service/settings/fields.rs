//! The checks of single settings fields, shared by [`super::validate`],
//! the admin pages (host targets) and the import file.

use crate::domain::validate::codes;
use crate::domain::InvalidInput;

use super::MAX_BUILD_ARGS;

/// Checks free text: at most `max` characters, no control characters
/// (newlines allowed when `multiline`); the trimmed text.
pub fn check_text(field: &'static str, value: &str, max: usize, multiline: bool) -> Result<String, InvalidInput> {
    if value.chars().count() > max {
        return Err(
            InvalidInput::new(field, codes::TOO_LONG, format!("must be at most {max} characters")).with("max", max),
        );
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(InvalidInput::new(
            field,
            codes::CONTROL_CHARACTER,
            "must not contain control characters",
        ));
    }
    Ok(value.trim().to_owned())
}

/// Checks one word: non-empty, at most `max` characters, no spaces, no
/// control characters, not starting with `-`; the trimmed word.
pub fn check_word(field: &'static str, value: &str, max: usize) -> Result<String, InvalidInput> {
    let value = check_text(field, value, max, false)?;
    if value.is_empty() {
        return Err(InvalidInput::new(field, codes::EMPTY, "must not be empty"));
    }
    if value.starts_with('-') {
        return Err(InvalidInput::new(field, codes::LEADING_DASH, "must not start with `-`"));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(InvalidInput::new(field, codes::SPACES, "must not contain spaces"));
    }
    Ok(value)
}

/// Checks a host target (import file, admin form, API): `user@host:/path`,
/// `rsync://host/module` or an absolute local path; no spaces, no leading
/// `-`, no `..`, and parseable by [`crate::deploy::Target::parse`].
pub fn check_target(value: &str) -> Result<String, InvalidInput> {
    let shape = "must be user@host:/path, rsync://host/module or an absolute local path, \
                 without spaces, and not start with `-`";
    let value = check_word("target", value, 500).map_err(|e| {
        let problem = format!("{}; {shape}", e.problem);
        InvalidInput { problem, ..e }
    })?;
    if value.split('/').any(|p| p == "..") {
        return Err(InvalidInput::new("target", codes::DOTDOT, "must not contain `..`"));
    }
    let ssh = value
        .split_once(':')
        .is_some_and(|(host, path)| !host.is_empty() && !host.contains('/') && path.starts_with('/'));
    if !(value.starts_with('/') || value.starts_with("rsync://") || ssh) {
        return Err(InvalidInput::new("target", codes::TARGET_SHAPE, shape));
    }
    crate::deploy::Target::parse(&value)
        .map_err(|e| InvalidInput::new("target", codes::TARGET, e.to_string()).with("detail", e))?;
    Ok(value)
}

pub(super) fn check_svn_url(url: &str) -> Result<String, InvalidInput> {
    if crate::domain::svn_url::has_password(url) {
        // Checked first: the other messages would echo the URL.
        return Err(InvalidInput::new(
            "svn_url",
            codes::SVN_URL_PASSWORD,
            crate::domain::svn_url::SvnUrlError::Password.to_string(),
        ));
    }
    let url = check_word("svn_url", url, 1000)?;
    crate::domain::svn_url::check(&url)
        .map_err(|e| InvalidInput::new("svn_url", codes::SVN_URL, e.to_string()).with("detail", e))?;
    Ok(url)
}

pub(super) fn check_staging_dir(dir: &str) -> Result<String, InvalidInput> {
    let dir = check_word("staging_dir", dir, 1000)?;
    if !dir.starts_with('/') || dir.split('/').any(|p| p == "..") {
        return Err(InvalidInput::new(
            "staging_dir",
            codes::ABSOLUTE_PATH,
            "must be an absolute path without `..`",
        ));
    }
    Ok(dir)
}

pub(super) fn check_staging_url(url: &str) -> Result<String, InvalidInput> {
    let url = check_text("staging_url", url, 1000, false)?;
    if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
        return Err(InvalidInput::new(
            "staging_url",
            codes::HTTP_URL,
            "must be an http:// or https:// URL",
        ));
    }
    Ok(url)
}

pub(super) fn check_build_command(args: &[String]) -> Result<(), InvalidInput> {
    if args.len() > MAX_BUILD_ARGS {
        return Err(InvalidInput::new(
            "build_command",
            codes::BUILD_ARGS,
            format!("at most {MAX_BUILD_ARGS} arguments"),
        )
        .with("max", MAX_BUILD_ARGS));
    }
    for (i, arg) in args.iter().enumerate() {
        check_text("build_command", arg, 1000, false)?;
        if i == 0 && (arg.trim().is_empty() || arg.starts_with('-')) {
            return Err(InvalidInput::new(
                "build_command",
                codes::BUILD_PROGRAM,
                "the program must be named and not start with `-`",
            ));
        }
    }
    Ok(())
}

/// Checks a project's time zone: an IANA name known to `chrono-tz`
/// (`Asia/Shanghai`, `Europe/Berlin`, `UTC`, `Etc/GMT-8`); when empty, the
/// zone of the deprecated fixed `offset` in minutes, else `UTC`.
pub fn check_time_zone(name: &str, offset: Option<i32>) -> Result<String, InvalidInput> {
    let name = check_text("time_zone", name, 64, false)?;
    if name.is_empty() {
        return match offset {
            None => Ok("UTC".to_owned()),
            Some(minutes) => crate::domain::zone_for_offset(minutes)
                .map(|z| z.name().to_owned())
                .ok_or_else(|| {
                    InvalidInput::new(
                        "utc_offset_minutes",
                        codes::UNKNOWN_OFFSET,
                        format!("{minutes} minutes is not an offset any time zone has; give time_zone instead"),
                    )
                    .with("minutes", minutes)
                }),
        };
    }
    crate::domain::parse_zone(&name)
        .map(|z| z.name().to_owned())
        .ok_or_else(|| {
            InvalidInput::new(
                "time_zone",
                codes::UNKNOWN_TIME_ZONE,
                format!(
                    "`{name}` is not a known time zone; use an IANA name such as Asia/Shanghai, Europe/Berlin or UTC"
                ),
            )
            .with("name", &name)
        })
}
