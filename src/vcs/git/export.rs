//! Writing a snapshot's tree out as plain files: whole ([`SnapshotRepo::export`])
//! or as the changes from an earlier export ([`SnapshotRepo::export_changes`]),
//! so a small release re-writes only what changed.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{GitError, SnapshotRepo};

/// Turns an io error on `path` into a [`GitError`].
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GitError {
    let path = path.to_path_buf();
    move |source| GitError::Io { path, source }
}

impl SnapshotRepo {
    /// The commit a tag name or a commit id names.
    fn resolve(&self, rev: &str) -> Result<git2::Commit<'_>, GitError> {
        match self.tag_target(rev)? {
            Some(id) => Ok(self.repo.find_commit(id)?),
            None => self.commit(rev),
        }
    }

    /// Writes the tree of `rev` (a commit id or a tag name) into `dest`, which
    /// must be empty or not exist yet: regular files with their mode (0644 or
    /// 0755), symlinks as symlinks, directories 0755.
    pub fn export(&self, rev: &str, dest: &Path) -> Result<(), GitError> {
        let commit = self.resolve(rev)?;
        fs::create_dir_all(dest).map_err(io(dest))?;
        if fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
            return Err(GitError::Io {
                path: dest.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "export directory is not empty"),
            });
        }
        self.export_tree(&commit.tree()?, dest)
    }

    /// Turns `dest`, an export of `from` (typically a hard-link clone of
    /// one), into an export of `to`: every path that differs is removed and
    /// written anew — a new inode, so a file `dest` shares with another
    /// export is never changed — and directories `to` no longer has are
    /// removed. Returns how many paths were written or removed.
    pub fn export_changes(&self, from: &str, to: &str, dest: &Path) -> Result<usize, GitError> {
        let old = self.resolve(from)?.tree()?;
        let new = self.resolve(to)?.tree()?;
        let diff = self.repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
        let path_of = |file: git2::DiffFile<'_>| {
            file.path_bytes()
                .map(|p| dest.join(std::ffi::OsStr::from_bytes(p)))
                .filter(|p| p.starts_with(dest) && !p.components().any(|c| c.as_os_str() == ".."))
        };
        let mut gone: Vec<PathBuf> = Vec::new();
        let mut written = Vec::new();
        for delta in diff.deltas() {
            if delta.status() != git2::Delta::Added {
                if let Some(path) = path_of(delta.old_file()) {
                    match fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
                        _ => gone.push(path),
                    }
                }
            }
            if delta.status() != git2::Delta::Deleted {
                if let Some(path) = path_of(delta.new_file()) {
                    written.push((path, delta.new_file().id(), u32::from(delta.new_file().mode())));
                }
            }
        }
        let count = gone.len().max(written.len());
        // Directories emptied by the removals that `to` does not have.
        for path in &gone {
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| *d != dest) {
                let rel = d.strip_prefix(dest).unwrap_or(d);
                let kept = new
                    .get_path(rel)
                    .is_ok_and(|e| e.kind() == Some(git2::ObjectType::Tree));
                if kept || fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
        for (path, id, mode) in written {
            if let Some(parent) = path.parent() {
                self.make_dirs(dest, parent)?;
            }
            self.write_entry(&path, id, mode)?;
        }
        Ok(count)
    }

    /// Creates the directories from `root` down to `dir` that are missing (0755).
    fn make_dirs(&self, root: &Path, dir: &Path) -> Result<(), GitError> {
        if dir == root || dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.make_dirs(root, parent)?;
        }
        fs::create_dir(dir).map_err(io(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io(dir))
    }

    /// Writes one blob at `path` as a file (mode 0644 or 0755) or a symlink;
    /// other modes (submodules) are not part of a snapshot.
    fn write_entry(&self, path: &Path, id: git2::Oid, mode: u32) -> Result<(), GitError> {
        match mode {
            0o120000 => {
                let blob = self.repo.find_blob(id)?;
                let target = std::ffi::OsStr::from_bytes(blob.content());
                std::os::unix::fs::symlink(target, path).map_err(io(path))
            }
            0o100644 | 0o100755 => {
                let blob = self.repo.find_blob(id)?;
                fs::write(path, blob.content()).map_err(io(path))?;
                let perm = if mode == 0o100755 { 0o755 } else { 0o644 };
                fs::set_permissions(path, fs::Permissions::from_mode(perm)).map_err(io(path))
            }
            _ => Ok(()),
        }
    }

    fn export_tree(&self, tree: &git2::Tree<'_>, dir: &Path) -> Result<(), GitError> {
        for entry in tree.iter() {
            let name = std::ffi::OsStr::from_bytes(entry.name_bytes());
            let name_ok = !name.is_empty() && name != "." && name != ".." && !entry.name_bytes().contains(&b'/');
            if !name_ok {
                continue;
            }
            let path = dir.join(name);
            match entry.filemode() {
                0o040000 => {
                    fs::create_dir(&path).map_err(io(&path))?;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(io(&path))?;
                    let sub = self.repo.find_tree(entry.id())?;
                    self.export_tree(&sub, &path)?;
                }
                mode => self.write_entry(&path, entry.id(), mode as u32)?,
            }
        }
        Ok(())
    }
}
