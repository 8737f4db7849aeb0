//! The exported release trees a release ships from:
//! `<data_dir>/releases/<project>/<version>`, complete once
//! `<version>.complete` sits beside it. A new export starts as a hard-link
//! clone of the newest complete one and re-writes only the paths that
//! differ (each as a new file, so the exports never change each other),
//! falling back to a whole export; only the newest [`KEPT_EXPORTS`] stay.

use std::path::{Path, PathBuf};

use super::handler::JobError;
use super::release::{permanent, retry};
use crate::deploy::remote::{natural_cmp, valid_release_name};
use crate::process::{run, ProcessSpec};
use crate::vcs::SnapshotRepo;

/// How many complete exports of a project are kept besides the newest.
pub const KEPT_EXPORTS: usize = 3;

/// An export used this recently is never pruned (another job of the
/// project, a verify beside a rollback, may be reading it).
const IN_USE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Suffix of the marker that says an export is complete.
const COMPLETE: &str = ".complete";

/// Exports `rev` into `<data_dir>/releases/<project>/<version>` unless a
/// complete export is there; returns the directory. `say` gets a line for
/// the job's log saying how.
pub(super) fn export(
    repo: &SnapshotRepo,
    data_dir: &Path,
    project: &str,
    version: &str,
    rev: &str,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf, JobError> {
    let parent = data_dir.join("releases").join(project);
    let dir = parent.join(version);
    // The marker sits beside the export, so it is never shipped.
    let done = parent.join(format!("{version}{COMPLETE}"));
    if done.exists() {
        // In use: a prune running beside this job leaves it alone.
        let _ = std::fs::File::options()
            .append(true)
            .open(&done)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        return Ok(dir);
    }
    let partial = parent.join(format!("{version}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&parent).map_err(|e| retry(format!("{}: {e}", parent.display())))?;
    let cloned = match newest_complete(&parent, version) {
        Some(base) => match from_base(repo, &parent.join(&base), &base, rev, &partial) {
            Ok(count) => {
                say(&format!(
                    "exported {version}: {count} path(s) changed since the export of {base}"
                ));
                true
            }
            Err(why) => {
                say(&format!(
                    "exporting {version} whole: starting from {base} failed ({why})"
                ));
                let _ = std::fs::remove_dir_all(&partial);
                false
            }
        },
        None => false,
    };
    if !cloned {
        std::fs::create_dir_all(&partial).map_err(|e| retry(format!("{}: {e}", partial.display())))?;
        repo.export(rev, &partial).map_err(permanent)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&partial, &dir).map_err(|e| retry(format!("{}: {e}", dir.display())))?;
    std::fs::write(&done, b"").map_err(|e| retry(format!("{}: {e}", done.display())))?;
    prune(&parent, version);
    Ok(dir)
}

/// The complete exports under `parent` other than `version`, oldest first.
fn complete(parent: &Path, version: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(COMPLETE).map(str::to_owned))
        .filter(|n| n != version && valid_release_name(n) && parent.join(n).is_dir())
        .collect();
    names.sort_by(|a, b| natural_cmp(a, b));
    names
}

/// The newest complete export other than `version`.
fn newest_complete(parent: &Path, version: &str) -> Option<String> {
    complete(parent, version).pop()
}

/// Makes `partial` a hard-link clone of the export `base_dir` (of tag
/// `base`), then applies the changes from `base` to `rev`.
fn from_base(repo: &SnapshotRepo, base_dir: &Path, base: &str, rev: &str, partial: &Path) -> Result<usize, String> {
    let spec = ProcessSpec::new("cp").arg("-al").arg("--").arg(base_dir).arg(partial);
    let outcome = run(&spec, &mut |_| {}).map_err(|e| e.to_string())?;
    if !outcome.success() {
        return Err(format!("cp -al: {}", outcome.stderr_tail.join(" / ")));
    }
    repo.export_changes(base, rev, partial).map_err(|e| e.to_string())
}

/// Removes all but the newest [`KEPT_EXPORTS`] complete exports besides
/// `version`, sparing those used within [`IN_USE`] (marker first, so a
/// half-removed export is never complete).
fn prune(parent: &Path, version: &str) {
    let names = complete(parent, version);
    let cut = names.len().saturating_sub(KEPT_EXPORTS);
    for name in &names[..cut] {
        let marker = parent.join(format!("{name}{COMPLETE}"));
        let recent = std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < IN_USE));
        if recent {
            continue;
        }
        if std::fs::remove_file(&marker).is_ok() {
            let _ = std::fs::remove_dir_all(parent.join(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_complete_exports_stay() {
        let tmp = tempfile::tempdir().expect("tmp");
        let parent = tmp.path();
        for n in 1..=12 {
            std::fs::create_dir(parent.join(format!("v{n}"))).expect("dir");
            let marker = parent.join(format!("v{n}{COMPLETE}"));
            std::fs::write(&marker, b"").expect("marker");
            let old = std::time::SystemTime::now() - 2 * IN_USE;
            let file = std::fs::File::options().append(true).open(&marker).expect("open");
            file.set_modified(old).expect("mtime");
        }
        // An export without its marker is not complete: never a base, never counted.
        std::fs::create_dir(parent.join("v13")).expect("dir");
        assert_eq!(newest_complete(parent, "v13").as_deref(), Some("v12"));
        prune(parent, "v12");
        assert_eq!(complete(parent, "v12"), ["v9", "v10", "v11"]);
        assert!(parent.join("v12").is_dir() && parent.join("v13").is_dir());
        assert!(!parent.join("v8").exists() && !parent.join(format!("v8{COMPLETE}")).exists());
        // One in use just now stays.
        std::fs::File::options()
            .append(true)
            .open(parent.join(format!("v9{COMPLETE}")))
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .expect("touch");
        std::fs::write(parent.join(format!("v13{COMPLETE}")), b"").expect("marker");
        prune(parent, "v13");
        assert_eq!(complete(parent, "v13"), ["v9", "v10", "v11", "v12"]);
    }
}
