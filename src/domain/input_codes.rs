//! Stable codes of [`crate::domain::InvalidInput`] (translation keys under
//! `[input]` in `locales/`). `tests/error_codes.rs` fails when one lacks an
//! English or Chinese text. Reached as `domain::validate::codes`.

/// Generic refusal (kept for API clients; every check names a precise code).
pub const INVALID: &str = "invalid";
/// A control character (escape, NUL, …) in the text.
pub const CONTROL_CHARACTER: &str = "input.control_character";
/// A bidirectional override or invisible format character in the text.
pub const INVISIBLE_CHARACTER: &str = "input.invisible_character";
/// A time zone name that is not in the IANA database.
pub const UNKNOWN_TIME_ZONE: &str = "input.unknown_time_zone";
/// A fixed offset no time zone has (`{minutes}`).
pub const UNKNOWN_OFFSET: &str = "input.unknown_offset";
/// Empty where a value is needed.
pub const EMPTY: &str = "input.empty";
/// Longer than `{max}` characters.
pub const TOO_LONG: &str = "input.too_long";
/// Not a name of a-z, 0-9 and `-`.
pub const IDENTIFIER: &str = "input.identifier";
/// Not a user name of a-z, 0-9, `-`, `_` and `.`.
pub const USERNAME_CHARS: &str = "input.username_chars";
/// An empty SVN path (`{path}`).
pub const SVN_PATH_EMPTY: &str = "input.svn_path_empty";
/// An SVN path over 1024 bytes.
pub const SVN_PATH_TOO_LONG: &str = "input.svn_path_too_long";
/// An absolute or URL-like SVN path.
pub const SVN_PATH_NOT_RELATIVE: &str = "input.svn_path_not_relative";
/// An SVN path starting with `-`.
pub const SVN_PATH_DASH: &str = "input.svn_path_dash";
/// An SVN path with `..`.
pub const SVN_PATH_DOTDOT: &str = "input.svn_path_dotdot";
/// An SVN path that names nothing (`.`).
pub const SVN_PATH_NOTHING: &str = "input.svn_path_nothing";
/// More than `{max}` SVN paths.
pub const SVN_PATHS_TOO_MANY: &str = "input.svn_paths_too_many";
/// An SVN path listed twice.
pub const SVN_PATH_TWICE: &str = "input.svn_path_twice";
/// Not a positive SVN revision.
pub const REVISION: &str = "input.revision";
/// Not a whole number.
pub const NOT_A_NUMBER: &str = "input.not_a_number";
/// No project chosen.
pub const CHOOSE_PROJECT: &str = "input.choose_project";
/// A rollback target that was never released (`{version}`).
pub const VERSION_NEVER_RELEASED: &str = "input.version_never_released";
/// A rollback target not older than production.
pub const ROLLBACK_NOT_OLDER: &str = "input.rollback_not_older";
/// A stage report without its snapshot (a job's bug).
pub const SNAPSHOT_MISSING: &str = "input.snapshot_missing";
/// Not an email address.
pub const EMAIL: &str = "input.email";
/// A display name too long or with control characters.
pub const DISPLAY_NAME: &str = "input.display_name";
/// Not a mobile number (digits, optional leading `+`, at most 20).
pub const CHAT_MOBILE: &str = "input.chat_mobile";
/// A chat user id with spaces, markup or more than 64 characters.
pub const CHAT_USER_ID: &str = "input.chat_user_id";
/// A password outside `{min}`–`{max}` characters.
pub const PASSWORD_LENGTH: &str = "input.password_length";
/// The password could not be hashed.
pub const PASSWORD_HASH: &str = "input.password_hash";
/// Starts with `-`.
pub const LEADING_DASH: &str = "input.leading_dash";
/// Contains spaces.
pub const SPACES: &str = "input.spaces";
/// Contains `..`.
pub const DOTDOT: &str = "input.dotdot";
/// Contains `/`.
pub const SLASH: &str = "input.slash";
/// Not a host target shape.
pub const TARGET_SHAPE: &str = "input.target_shape";
/// A host target the deploy layer refuses (`{detail}`).
pub const TARGET: &str = "input.target";
/// A bad SVN URL (`{detail}`).
pub const SVN_URL: &str = "input.svn_url";
/// A password inside the SVN URL.
pub const SVN_URL_PASSWORD: &str = "input.svn_url_password";
/// Not an absolute path without `..`.
pub const ABSOLUTE_PATH: &str = "input.absolute_path";
/// Not an http(s) URL.
pub const HTTP_URL: &str = "input.http_url";
/// More than `{max}` build arguments.
pub const BUILD_ARGS: &str = "input.build_args";
/// The build program is missing or starts with `-`.
pub const BUILD_PROGRAM: &str = "input.build_program";
/// More than `{max}` items.
pub const TOO_MANY: &str = "input.too_many";
/// A bad version format (`{detail}`).
pub const VERSION_FORMAT: &str = "input.version_format";
/// Outside `{min}`–`{max}`.
pub const OUT_OF_RANGE: &str = "input.out_of_range";
/// Not a week time like `Fri 18:00` (`{value}`).
pub const WEEK_TIME: &str = "input.week_time";
/// Not an RFC 3339 time (`{value}`).
pub const RFC3339: &str = "input.rfc3339";
/// A freeze window that ends before it starts.
pub const FREEZE_ORDER: &str = "input.freeze_order";
/// A freeze window neither weekly nor a range.
pub const FREEZE_SHAPE: &str = "input.freeze_shape";
/// No such user (`{name}`).
pub const NO_USER: &str = "input.no_user";
/// No such host group (`{name}`).
pub const NO_HOST_GROUP: &str = "input.no_host_group";
/// A project cannot be renamed.
pub const NO_RENAME: &str = "input.no_rename";
/// Not a language Slipway speaks.
pub const LOCALE: &str = "input.locale";
/// Settings refused as a whole.
pub const SETTINGS: &str = "input.settings";
/// A scheduled time not after now (`{at}`).
pub const SCHEDULE_IN_PAST: &str = "input.schedule_in_past";
/// A scheduled time too far ahead (`{at}`, `{days}`).
pub const SCHEDULE_TOO_FAR: &str = "input.schedule_too_far";
/// A local time the clocks skip (`{at}`, `{zone}`).
pub const SCHEDULE_NO_SUCH_TIME: &str = "input.schedule_no_such_time";
/// Not a date and time like `2026-12-03 06:00` (`{value}`).
pub const SCHEDULE_TIME: &str = "input.schedule_time";
/// "Next maintenance window" on a project without any.
pub const NO_MAINTENANCE_WINDOWS: &str = "input.no_maintenance_windows";
/// A service declaration that is not valid (`{detail}`).
pub const SERVICE: &str = "input.service";
/// Not `leads` nor `developers`.
pub const SERVICE_ACTIONS: &str = "input.service_actions";
/// Not a six-field cron expression.
pub const VERIFY_CRON: &str = "input.verify_cron";
/// A service, host or log length that does not fit a service request (`{detail}`).
pub const SERVICE_REQUEST: &str = "input.service_request";
/// A stop or restart of every host without a reason or without confirming.
pub const SERVICE_CONFIRM: &str = "input.service_confirm";
