//! Working-copy changes: checkout, update of a ticket's paths, cleanup,
//! conflict listing (see [`super`]).

use std::path::Path;

use super::client::Failure;
use super::parse::{ensure_dir, parse_revision_line, parse_xml, peg_path, relative_to};
use super::{SvnClient, SvnError};
use crate::domain::SvnPath;
use crate::process::{OutputLine, Stream};

impl SvnClient {
    /// First run: checks `url` out into `wc` (at `revision`, or HEAD) and
    /// returns the working copy's revision.
    pub fn checkout(
        &self,
        url: &str,
        wc: &Path,
        revision: Option<i64>,
        log: &mut dyn FnMut(OutputLine),
    ) -> Result<i64, SvnError> {
        let peg = revision.map(|r| r.to_string()).unwrap_or_default();
        // The destination is a plain path for `checkout` (no peg parsing).
        let spec = self
            .command("checkout", true)
            .arg("--")
            .arg(format!("{url}@{peg}"))
            .arg(wc);
        self.exec(spec, log, Failure::new("checkout", url, Some(url), revision))?;
        Ok(self.wc_info(wc)?.revision)
    }

    /// Updates exactly `paths` (the whole working copy when empty) to HEAD or
    /// `revision`, creating missing parent directories. A locked working copy
    /// gets `svn cleanup` and one retry. Fails with [`SvnError::Conflict`] when
    /// the working copy has conflicts afterwards (anywhere, not only in
    /// `paths`), and with [`SvnError::MissingPath`] for a path that neither
    /// exists in the repository nor was in the working copy before. Returns the
    /// revision reached.
    pub fn update(
        &self,
        wc: &Path,
        paths: &[SvnPath],
        revision: Option<i64>,
        log: &mut dyn FnMut(OutputLine),
    ) -> Result<i64, SvnError> {
        let target = UpdateTarget { wc, paths, revision };
        match self.update_once(&target, log) {
            Err(SvnError::Locked(_)) => {
                log(OutputLine {
                    stream: Stream::Stderr,
                    text: "slipway: the working copy is locked; running `svn cleanup` and retrying once".to_owned(),
                });
                self.cleanup(wc, log)?;
                self.update_once(&target, log)
            }
            other => other,
        }
    }

    /// Runs `svn cleanup` on the working copy (releases stale locks, finishes
    /// interrupted operations).
    pub fn cleanup(&self, wc: &Path, log: &mut dyn FnMut(OutputLine)) -> Result<(), SvnError> {
        ensure_dir(wc)?;
        let target = wc.display().to_string();
        let spec = self.command("cleanup", false).arg("--").arg(peg_path(wc)).cwd(wc);
        self.exec(spec, log, Failure::new("cleanup", &target, None, None))
            .map(drop)
    }

    /// Paths (relative to `wc`) that are in conflict: text, property or tree
    /// conflicts, from `svn status --xml`.
    pub fn conflicts(&self, wc: &Path) -> Result<Vec<String>, SvnError> {
        ensure_dir(wc)?;
        let target = wc.display().to_string();
        let spec = self
            .command("status", false)
            .args(["-q", "--xml", "--"])
            .arg(peg_path(wc))
            .cwd(wc);
        let xml = self.query(spec, Failure::new("status", &target, None, None))?;
        let doc = parse_xml(&xml)?;
        let mut found = Vec::new();
        for entry in doc.descendants().filter(|n| n.has_tag_name("entry")) {
            let Some(status) = entry.children().find(|n| n.has_tag_name("wc-status")) else {
                continue;
            };
            let conflicted = status.attribute("item") == Some("conflicted")
                || status.attribute("props") == Some("conflicted")
                || status.attribute("tree-conflicted") == Some("true");
            if conflicted {
                let path = entry.attribute("path").unwrap_or_default();
                found.push(relative_to(wc, path));
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// One try of [`SvnClient::update`], without the cleanup-and-retry.
    fn update_once(&self, what: &UpdateTarget<'_>, log: &mut dyn FnMut(OutputLine)) -> Result<i64, SvnError> {
        let UpdateTarget { wc, paths, revision } = *what;
        let target = wc.display().to_string();
        ensure_dir(wc)?;
        // With several targets, pin HEAD first so they all reach one revision.
        let revision = match revision {
            None if paths.len() > 1 => Some(self.wc_head_revision(wc)?),
            other => other,
        };
        let existed_before: Vec<bool> = paths
            .iter()
            .map(|p| wc.join(p.as_str()).symlink_metadata().is_ok())
            .collect();
        // Run inside the working copy: svn then prints paths relative to it.
        let mut spec = self.command("update", true).arg("--parents").cwd(wc);
        if let Some(rev) = revision {
            spec = spec.arg("-r").arg(rev.to_string());
        }
        spec = spec.arg("--");
        if paths.is_empty() {
            spec = spec.arg(peg_path(wc));
        } else {
            for path in paths {
                spec = spec.arg(peg_path(&wc.join(path.as_str())));
            }
        }
        let out = self.exec(
            spec,
            log,
            Failure::new("update", &target, paths.first().map(SvnPath::as_str), revision),
        )?;
        let reached = out
            .stdout
            .iter()
            .filter_map(|line| parse_revision_line(line))
            .max()
            .or(revision);
        // "Skipped 'x'": no versioned parent, or a node still in conflict.
        let mut skipped_conflicts = Vec::new();
        for line in &out.stdout {
            if let Some(rest) = line.strip_prefix("Skipped ") {
                let quoted = rest.trim_start_matches("missing target: ");
                let skipped = quoted
                    .strip_prefix('\'')
                    .and_then(|s| s.split_once('\''))
                    .map(|(p, _)| relative_to(wc, p))
                    .unwrap_or_else(|| quoted.to_owned());
                // With `--parents` svn may skip a missing parent of the path
                // asked for: name the ticket's path.
                let skipped = paths
                    .iter()
                    .map(SvnPath::as_str)
                    .find(|p| *p == skipped || p.strip_prefix(skipped.as_str()).is_some_and(|r| r.starts_with('/')))
                    .map(str::to_owned)
                    .unwrap_or(skipped);
                if line.contains("remains in conflict") {
                    skipped_conflicts.push(skipped);
                } else {
                    return Err(SvnError::MissingPath {
                        path: skipped,
                        revision: reached,
                    });
                }
            }
        }
        let mut conflicts = self.conflicts(wc)?;
        conflicts.extend(skipped_conflicts);
        if !conflicts.is_empty() {
            conflicts.sort();
            conflicts.dedup();
            return Err(SvnError::Conflict(conflicts));
        }
        // svn reports success ("At revision N.") for a path that exists
        // nowhere; it is missing if it is still absent and was never there.
        for (path, existed) in paths.iter().zip(existed_before) {
            if !existed && wc.join(path.as_str()).symlink_metadata().is_err() {
                return Err(SvnError::MissingPath {
                    path: path.to_string(),
                    revision: reached,
                });
            }
        }
        match reached {
            Some(rev) => Ok(rev),
            None => Ok(self.wc_info(wc)?.revision),
        }
    }
}

/// What [`SvnClient::update`] brings up to date: `paths` of the working copy
/// `wc` (all of it when empty), to `revision` (HEAD when `None`).
#[derive(Clone, Copy)]
struct UpdateTarget<'a> {
    wc: &'a Path,
    paths: &'a [SvnPath],
    revision: Option<i64>,
}
