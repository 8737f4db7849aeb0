//! Delta releases: what the release job knows about each host (the version
//! Slipway recorded it runs, and the git diff from that version to the one
//! being shipped), and the file lists rsync gets from it.
//!
//! The job computes everything here before the hosts are touched, so the
//! per-host pipeline needs no git access: it reads the host's `current`,
//! asks [`Delta::for_host`] for the files that differ, and either sends
//! only those into a hard-linked clone of the live release or, with the
//! reason logged, falls back to the full upload.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The files that differ between two releases, as paths relative to the
/// release root (git paths: `/`-separated, never `..`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Files added or modified (content, mode, symlink target or type).
    pub present: Vec<String>,
    /// Files the new release no longer has.
    pub deleted: Vec<String>,
}

impl ChangeSet {
    /// Builds a change set from `(status, path)` pairs as
    /// [`crate::vcs::SnapshotRepo::changed_files`] reports them (`D`: deleted;
    /// anything else: present in the new release).
    pub fn from_status(files: impl IntoIterator<Item = (char, String)>) -> Self {
        let mut set = ChangeSet::default();
        for (status, path) in files {
            if status == 'D' {
                set.deleted.push(path);
            } else {
                set.present.push(path);
            }
        }
        set
    }

    /// Number of files that change.
    pub fn len(&self) -> usize {
        self.present.len() + self.deleted.len()
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Why this change set cannot be applied file by file, if it cannot: a
    /// path that is a file on one side and a directory on the other (rsync
    /// would have to delete a directory it was told to fill, or the reverse),
    /// or a path rsync could misread.
    pub fn unsupported(&self) -> Option<String> {
        let all = self.present.iter().chain(&self.deleted);
        if let Some(bad) = all.clone().find(|p| !plain_relative(p)) {
            return Some(format!("path `{}` cannot be sent as a change", bad.escape_debug()));
        }
        let files: BTreeSet<&str> = all.map(String::as_str).collect();
        for path in &files {
            let mut parent = Path::new(path).parent();
            while let Some(dir) = parent.and_then(Path::to_str).filter(|d| !d.is_empty()) {
                if files.contains(dir) {
                    return Some(format!("`{dir}` changes between a file and a directory"));
                }
                parent = Path::new(dir).parent();
            }
        }
        None
    }

    /// What rsync gets for this change set, given the exported new release
    /// at `new_root`: a NUL-separated `--from0 --files-from` list of every
    /// changed path (a deleted one becomes a deletion with
    /// `--delete-missing-args`), except deleted paths under a directory the
    /// new release no longer has; those directories come separately, as the
    /// topmost vanished ones, to be emptied (host-only files stay) and removed.
    pub fn transfer(&self, new_root: &Path) -> Transfer {
        let mut vanished = BTreeSet::new();
        let mut list = Vec::new();
        for path in &self.present {
            list.extend_from_slice(path.as_bytes());
            list.push(0);
        }
        for path in &self.deleted {
            let mut top = None;
            let mut parent = Path::new(path).parent();
            while let Some(dir) = parent.and_then(Path::to_str).filter(|d| !d.is_empty()) {
                if new_root.join(dir).symlink_metadata().is_ok() {
                    break;
                }
                top = Some(dir.to_owned());
                parent = Path::new(dir).parent();
            }
            match top {
                Some(dir) => {
                    vanished.insert(dir);
                }
                None => {
                    list.extend_from_slice(path.as_bytes());
                    list.push(0);
                }
            }
        }
        Transfer {
            files_from: list,
            vanished: vanished.into_iter().collect(),
        }
    }
}

/// The rsync inputs of a delta upload ([`ChangeSet::transfer`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfer {
    /// NUL-separated paths for `--from0 --files-from`.
    pub files_from: Vec<u8>,
    /// The topmost directories the new release no longer has.
    pub vanished: Vec<String>,
}

impl Transfer {
    /// rsync filters that select the vanished directories (and all below
    /// them) and nothing else, for a `--delete` from an empty directory.
    pub fn vanished_filters(&self) -> Vec<String> {
        let mut args: Vec<String> = self
            .vanished
            .iter()
            .map(|dir| format!("--include=/{}/***", escape_pattern(dir)))
            .collect();
        args.push("--exclude=*".to_owned());
        args
    }
}

/// Escapes rsync's wildcard characters in a literal path (the patterns it
/// goes into always hold a wildcard, so rsync honours the backslashes).
fn escape_pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A relative path of normal components, without control characters.
fn plain_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.chars().any(char::is_control)
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// What a release job knows for a delta release: per host, the release
/// Slipway recorded it runs; per such release, the changes to the release
/// being shipped (or why they are unknown).
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Host name → the release Slipway recorded it runs.
    pub recorded: HashMap<String, String>,
    /// Release → its changes to the release being shipped, or why unknown.
    pub changes: HashMap<String, Result<ChangeSet, String>>,
}

impl Delta {
    /// The changes for `host`, which reads `live` from its `current`; `Err`
    /// says why the host gets the full upload instead.
    pub fn for_host(&self, host: &str, live: &str) -> Result<&ChangeSet, String> {
        let Some(recorded) = self.recorded.get(host) else {
            return Err(format!("Slipway has no record of what {host} runs"));
        };
        if recorded != live {
            return Err(format!(
                "{host} runs {live} but Slipway recorded {recorded} (changed by hand?)"
            ));
        }
        match self.changes.get(live) {
            Some(Ok(set)) => match set.unsupported() {
                Some(why) => Err(why),
                None => Ok(set),
            },
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("the changes since {live} are not known")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(present: &[&str], deleted: &[&str]) -> ChangeSet {
        ChangeSet {
            present: present.iter().map(|s| s.to_string()).collect(),
            deleted: deleted.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn statuses_split_into_present_and_deleted() {
        let s = ChangeSet::from_status([('A', "a".into()), ('D', "b".into()), ('M', "c".into())]);
        assert_eq!(s, set(&["a", "c"], &["b"]));
        let root = tempfile::tempdir().expect("temp dir");
        assert_eq!(s.transfer(root.path()).files_from, b"a\0c\0b\0");
    }

    #[test]
    fn file_directory_swaps_and_odd_paths_are_not_sent_as_changes() {
        assert!(set(&["a/x"], &["a"]).unsupported().is_some());
        assert!(set(&["a"], &["a/b/x"]).unsupported().is_some());
        assert!(set(&["../x"], &[]).unsupported().is_some());
        assert!(set(&["a\nb"], &[]).unsupported().is_some());
        assert!(set(&["a/x", "a/y"], &["b/z"]).unsupported().is_none());
    }

    #[test]
    fn deletions_under_a_vanished_directory_go_with_the_directory() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join("keep")).expect("mkdir");
        let s = set(&["new/x"], &["gone/deep/f", "gone/g", "keep/h", "top", "we*rd/f"]);
        let t = s.transfer(root.path());
        assert_eq!(t.files_from, b"new/x\0keep/h\0top\0");
        assert_eq!(t.vanished, vec!["gone", "we*rd"]);
        assert_eq!(
            t.vanished_filters(),
            vec!["--include=/gone/***", "--include=/we\\*rd/***", "--exclude=*"]
        );
    }

    #[test]
    fn a_host_that_runs_something_else_than_recorded_gets_the_full_upload() {
        let mut d = Delta::default();
        d.recorded.insert("web1".into(), "v3".into());
        d.changes.insert("v3".into(), Ok(set(&["a"], &[])));
        assert!(d.for_host("web1", "v3").is_ok());
        assert!(d.for_host("web1", "v2").unwrap_err().contains("recorded v3"));
        assert!(d.for_host("web2", "v3").is_err());
    }
}
