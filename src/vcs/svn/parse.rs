//! Reading svn's output: error lines into [`SvnError`], revision lines, and
//! the `--xml` answers of info, log and list (see [`super`]).

use std::ffi::OsString;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::client::Failure;
use super::{ChangedPath, SvnError, SvnLogEntry, WcInfo};
use crate::domain::SvnPath;

/// Turns svn's error lines into an error a user can act on.
pub(super) fn classify(stderr: &[String], failure: &Failure<'_>, code: Option<i32>) -> SvnError {
    let has = |codes: &[&str]| stderr.iter().any(|l| codes.iter().any(|c| l.contains(c)));
    if has(&["E170001", "E215004"]) {
        // "Unable to connect to a repository at URL '…'" names the URL even
        // when the command was about a working copy.
        let url = stderr
            .iter()
            .find_map(|l| l.split_once("at URL '").and_then(|(_, rest)| rest.split_once('\'')))
            .map(|(url, _)| url.to_owned())
            .unwrap_or_else(|| failure.target.to_owned());
        return SvnError::Auth(url);
    }
    if has(&["E155004", "E155037"]) {
        return SvnError::Locked(failure.target.to_owned());
    }
    if has(&["E160006"]) {
        // "No such revision N": asking again will not make it exist.
        return SvnError::NoSuchRevision {
            revision: failure.revision,
            detail: stderr
                .iter()
                .find(|l| l.contains("E160006"))
                .map(|l| l.trim_start_matches("svn: ").to_owned()),
        };
    }
    if let Some(path) = failure.path {
        if has(&["E170000", "W160013", "E160013", "W155010", "E155010"]) {
            return SvnError::MissingPath {
                path: path.to_owned(),
                revision: failure.revision,
            };
        }
    }
    let mut errors: Vec<&str> = stderr
        .iter()
        .filter(|l| l.starts_with("svn: E") || l.starts_with("svn: warning:"))
        .map(|l| l.strip_prefix("svn: ").unwrap_or(l))
        .collect();
    if errors.is_empty() {
        errors = stderr.iter().rev().take(5).rev().map(String::as_str).collect();
    }
    let exit = code
        .map(|c| format!("exit {c}"))
        .unwrap_or_else(|| "killed by a signal".to_owned());
    SvnError::Failed(format!(
        "{} of {} failed ({exit}): {}",
        failure.subcommand,
        failure.target,
        errors.join(" / ")
    ))
}

/// Fails clearly when the working copy directory is missing (svn would run
/// in it, and "No such file or directory" alone says too little).
pub(super) fn ensure_dir(wc: &Path) -> Result<(), SvnError> {
    if wc.is_dir() {
        Ok(())
    } else {
        Err(SvnError::Failed(format!(
            "working copy {} does not exist (it is checked out on the first staging run)",
            wc.display()
        )))
    }
}

/// `path@`, so an `@` inside the path is not read as a peg revision.
pub(super) fn peg_path(path: &Path) -> OsString {
    let mut arg = path.as_os_str().to_owned();
    arg.push("@");
    arg
}

/// `path` shown relative to the working copy when it lies inside it.
pub(super) fn relative_to(wc: &Path, path: &str) -> String {
    Path::new(path)
        .strip_prefix(wc)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_owned())
}

/// `url/path`, the path percent-encoded except for `/` and unreserved characters.
pub(super) fn url_join(url: &str, path: &SvnPath) -> String {
    let mut out = url.trim_end_matches('/').to_owned();
    out.push('/');
    for byte in path.as_str().bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The number in "At revision N." / "Updated to revision N." / "Checked out revision N.".
pub(super) fn parse_revision_line(line: &str) -> Option<i64> {
    let rest = line
        .strip_prefix("At revision ")
        .or_else(|| line.strip_prefix("Updated to revision "))
        .or_else(|| line.strip_prefix("Checked out revision "))?;
    rest.trim_end_matches('.').parse().ok()
}

pub(super) fn parse_xml(xml: &str) -> Result<roxmltree::Document<'_>, SvnError> {
    roxmltree::Document::parse(xml).map_err(|e| SvnError::Parse(format!("bad XML: {e}")))
}

pub(super) fn child_text(node: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .map(|n| n.text().unwrap_or_default().to_owned())
}

pub(super) fn parse_rev(value: Option<&str>, what: &str) -> Result<i64, SvnError> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| SvnError::Parse(format!("{what} without a revision number")))
}

pub(super) fn parse_info(xml: &str) -> Result<WcInfo, SvnError> {
    let doc = parse_xml(xml)?;
    let entry = doc
        .descendants()
        .find(|n| n.has_tag_name("entry"))
        .ok_or_else(|| SvnError::Parse("svn info printed no entry".into()))?;
    let revision = parse_rev(entry.attribute("revision"), "svn info entry")?;
    let url = child_text(entry, "url").unwrap_or_default();
    let repository_root = entry
        .children()
        .find(|n| n.has_tag_name("repository"))
        .and_then(|r| child_text(r, "root"))
        .unwrap_or_default();
    Ok(WcInfo {
        revision,
        url,
        repository_root,
    })
}

pub(super) fn parse_log(xml: &str) -> Result<Vec<SvnLogEntry>, SvnError> {
    let doc = parse_xml(xml)?;
    let mut entries = Vec::new();
    for entry in doc.descendants().filter(|n| n.has_tag_name("logentry")) {
        let revision = parse_rev(entry.attribute("revision"), "log entry")?;
        let date = match child_text(entry, "date") {
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map_err(|e| SvnError::Parse(format!("r{revision}: bad date `{text}`: {e}")))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let paths = entry
            .children()
            .find(|n| n.has_tag_name("paths"))
            .map(|paths| {
                paths
                    .children()
                    .filter(|n| n.has_tag_name("path"))
                    .map(|p| ChangedPath {
                        action: p.attribute("action").unwrap_or_default().to_owned(),
                        path: p.text().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.push(SvnLogEntry {
            revision,
            author: child_text(entry, "author").unwrap_or_default(),
            date,
            message: child_text(entry, "msg").unwrap_or_default(),
            paths,
        });
    }
    Ok(entries)
}
