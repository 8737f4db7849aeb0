//! Snapshots of the staged tree in a bare git repository, with git2 (no git CLI).
//!
//! Each project has one bare repository (e.g. `<data_dir>/git/<project>.git`).
//! [`SnapshotRepo::snapshot`] walks the staging directory itself — sorted,
//! deterministic, skipping `.svn/` and `.git/` at any depth and the project's
//! ignore globs — writes blobs and trees straight into the object database and
//! commits the tree on `refs/heads/staging`. Files are hashed and looked up
//! read-only first, so an unchanged file costs a read and a hash, no write; new
//! objects are buffered in memory and reach the disk (loose for a small change,
//! as one pack for a big first snapshot) before the branch moves, so the ref
//! never points at a missing object. The commit id is what a ticket
//! records and what a release later tags and ships (DESIGN.md invariant 2). An
//! unchanged tree is not committed again.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, FileMode, ObjectType, Oid, Repository, RepositoryInitOptions};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The branch snapshots are committed on.
pub const STAGING_REF: &str = "refs/heads/staging";

/// Files larger than this are streamed into the object database instead of
/// being read into memory.
const STREAM_ABOVE_BYTES: u64 = 32 * 1024 * 1024;

/// Who a snapshot commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Display name (`<`, `>` and line breaks are dropped).
    pub name: String,
    /// Email address (`<`, `>` and line breaks are dropped).
    pub email: String,
}

/// The result of [`SnapshotRepo::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The commit id (hex): the new commit, or the unchanged tip.
    pub commit: String,
    /// The tree id (hex).
    pub tree: String,
    /// Whether a new commit was made (false: the tree equals the tip's tree).
    pub changed: bool,
}

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// libgit2 refused an operation.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A file or directory of the staged tree could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// An ignore pattern is not a valid glob (or uses an unsupported form).
    #[error("ignore pattern `{pattern}`: {problem}")]
    BadIgnore {
        /// The pattern as configured.
        pattern: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A commit id that the repository does not have.
    #[error("git: no commit `{0}` in the snapshot repository")]
    UnknownCommit(String),
    /// A tag name git refuses.
    #[error("git: `{0}` is not a valid tag name")]
    BadTagName(String),
    /// The tag exists and points at another commit.
    #[error("git: tag `{name}` already exists on another commit ({commit})")]
    TagExists {
        /// The tag.
        name: String,
        /// The commit it points at.
        commit: String,
    },
}

/// A project's bare snapshot repository.
pub struct SnapshotRepo {
    repo: Repository,
}

impl std::fmt::Debug for SnapshotRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotRepo").field("path", &self.repo.path()).finish()
    }
}

/// Gitignore-like matching of the project's ignore list.
///
/// A pattern without `/` matches a file or directory name at any depth
/// (`*.log`); a pattern with a `/` inside (or a leading `/`) matches the path
/// from the root (`WEB-INF/jdbc.properties`); a trailing `/` matches
/// directories only (`logs/`). An ignored directory is skipped whole. `*`
/// does not cross `/`; `**` does. Blank lines and `#` comments are skipped;
/// `!` negation is refused.
#[derive(Debug)]
pub struct IgnoreRules {
    name_any: GlobSet,
    name_dir: GlobSet,
    path_any: GlobSet,
    path_dir: GlobSet,
}

impl IgnoreRules {
    /// Compiles `patterns`.
    pub fn new(patterns: &[String]) -> Result<Self, GitError> {
        let mut sets = [
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
        ];
        for raw in patterns {
            let bad = |problem: String| GitError::BadIgnore {
                pattern: raw.clone(),
                problem,
            };
            let pattern = raw.trim();
            if pattern.is_empty() || pattern.starts_with('#') {
                continue;
            }
            if pattern.starts_with('!') {
                return Err(bad("negation (`!`) is not supported".into()));
            }
            let (pattern, dir_only) = match pattern.strip_suffix('/') {
                Some(p) => (p, true),
                None => (pattern, false),
            };
            let anchored = pattern.contains('/');
            let pattern = pattern.trim_start_matches('/');
            if pattern.is_empty() {
                return Err(bad("matches nothing".into()));
            }
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| bad(e.kind().to_string()))?;
            let index = usize::from(anchored) * 2 + usize::from(dir_only);
            sets[index].add(glob);
        }
        let [name_any, name_dir, path_any, path_dir] = sets;
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| GitError::BadIgnore {
                pattern: String::new(),
                problem: e.to_string(),
            })
        };
        Ok(Self {
            name_any: build(name_any)?,
            name_dir: build(name_dir)?,
            path_any: build(path_any)?,
            path_dir: build(path_dir)?,
        })
    }

    /// Whether the entry `name` at `rel_path` (relative to the root, `/`-separated) is ignored.
    pub fn is_ignored(&self, rel_path: &Path, name: &Path, is_dir: bool) -> bool {
        self.name_any.is_match(name)
            || self.path_any.is_match(rel_path)
            || (is_dir && (self.name_dir.is_match(name) || self.path_dir.is_match(rel_path)))
    }
}

/// Names never snapshotted, at any depth.
fn always_skipped(name: &[u8]) -> bool {
    name == b".svn" || name == b".git"
}

impl SnapshotRepo {
    /// Opens the bare repository at `path`, creating it (with `HEAD` on the
    /// staging branch) when it does not exist yet.
    pub fn open_or_init(path: &Path) -> Result<Self, GitError> {
        match Repository::open_bare(path) {
            Ok(repo) => Ok(Self { repo }),
            Err(e) if e.code() == ErrorCode::NotFound => {
                let mut opts = RepositoryInitOptions::new();
                opts.bare(true).mkpath(true).initial_head("staging");
                Ok(Self {
                    repo: Repository::init_opts(path, &opts)?,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The repository's path.
    pub fn path(&self) -> &Path {
        self.repo.path()
    }

    /// The commit at the tip of the staging branch, if any snapshot was taken.
    pub fn staging_tip(&self) -> Result<Option<String>, GitError> {
        Ok(self.tip()?.map(|c| c.to_string()))
    }

    /// Commits the tree at `dir` on the staging branch (see the module docs and
    /// [`IgnoreRules`]), with `message`, `author` and committer
    /// "Slipway <slipway@localhost>". Regular files are stored as 100644, or
    /// 100755 when executable by anyone; symlinks as 120000 (not followed);
    /// other special files and empty directories are skipped. When the tree
    /// equals the tip's tree nothing is committed and the tip is returned with
    /// `changed: false`.
    pub fn snapshot(
        &self,
        dir: &Path,
        ignore: &[String],
        message: &str,
        author: &Signature,
    ) -> Result<Snapshot, GitError> {
        let rules = IgnoreRules::new(ignore)?;
        // A second handle whose object database keeps new objects in memory;
        // they reach the disk as packs (one file, not one per object) before
        // the branch moves. An unchanged tree writes nothing at all.
        let buffered = Repository::open_bare(self.repo.path())?;
        let odb = buffered.odb()?;
        let mempack = odb.add_new_mempack_backend(MEMPACK_PRIORITY)?;
        let mut writer = TreeWriter {
            repo: &buffered,
            direct: &self.repo,
            odb: &odb,
            mempack: &mempack,
            pending_bytes: 0,
            pending: Vec::new(),
        };
        let tree_id = match writer.write_dir(dir, Path::new(""), &rules)? {
            Some(id) => id,
            None => writer.write_tree(buffered.treebuilder(None)?)?,
        };
        let tip = self.tip()?;
        let parent = match tip {
            Some(id) => Some(buffered.find_commit(id)?),
            None => None,
        };
        if let Some(parent) = &parent {
            if parent.tree_id() == tree_id {
                return Ok(Snapshot {
                    commit: parent.id().to_string(),
                    tree: tree_id.to_string(),
                    changed: false,
                });
            }
        }
        let tree = buffered.find_tree(tree_id)?;
        let author = git2::Signature::now(
            &clean(&author.name, "unknown"),
            &clean(&author.email, "unknown@localhost"),
        )?;
        let committer = git2::Signature::now("Slipway", "slipway@localhost")?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let commit = buffered.commit(None, &author, &committer, message, &tree, &parents)?;
        writer.pending.push(commit);
        writer.flush()?;
        // Only now, with every object on disk, does the branch move; and only
        // if it still points at `parent`, so two concurrent snapshots cannot
        // silently drop one another.
        let log_message = format!("snapshot: {}", message.lines().next().unwrap_or_default());
        match tip {
            Some(old) => self
                .repo
                .reference_matching(STAGING_REF, commit, true, old, &log_message)?,
            None => self.repo.reference(STAGING_REF, commit, false, &log_message)?,
        };
        Ok(Snapshot {
            commit: commit.to_string(),
            tree: tree_id.to_string(),
            changed: true,
        })
    }

    /// The files that differ between commit `from` (`None`: the empty tree) and
    /// commit `to`, sorted by path: `('A' | 'M' | 'D', path)`. A file that
    /// became a symlink (or back) counts as `M`.
    pub fn changed_files(&self, from: Option<&str>, to: &str) -> Result<Vec<(char, String)>, GitError> {
        let old = match from {
            Some(rev) => Some(self.commit(rev)?.tree()?),
            None => None,
        };
        let new = self.commit(to)?.tree()?;
        let diff = self.repo.diff_tree_to_tree(old.as_ref(), Some(&new), None)?;
        let mut files = Vec::new();
        for delta in diff.deltas() {
            let status = match delta.status() {
                git2::Delta::Added => 'A',
                git2::Delta::Deleted => 'D',
                _ => 'M',
            };
            let file = if status == 'D' {
                delta.old_file()
            } else {
                delta.new_file()
            };
            let path = file
                .path_bytes()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default();
            files.push((status, path));
        }
        files.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(files)
    }

    /// Whether commit `ancestor` is an ancestor of (or equal to) commit `descendant`.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, GitError> {
        let ancestor = self.commit(ancestor)?.id();
        let descendant = self.commit(descendant)?.id();
        Ok(ancestor == descendant || self.repo.graph_descendant_of(descendant, ancestor)?)
    }

    /// Creates the annotated tag `name` on `commit` with `message` by
    /// `tagger`. Idempotent: when the tag already points at `commit` nothing
    /// changes; when it points elsewhere it is an error ([`GitError::TagExists`]).
    pub fn tag(&self, commit: &str, name: &str, message: &str, tagger: &Signature) -> Result<(), GitError> {
        let target = self.commit(commit)?;
        let refname = format!("refs/tags/{name}");
        if !git2::Reference::is_valid_name(&refname) || name.starts_with('-') {
            return Err(GitError::BadTagName(name.to_owned()));
        }
        if let Some(existing) = self.tag_target(name)? {
            return if existing == target.id() {
                Ok(())
            } else {
                Err(GitError::TagExists {
                    name: name.to_owned(),
                    commit: existing.to_string(),
                })
            };
        }
        let tagger = git2::Signature::now(
            &clean(&tagger.name, "unknown"),
            &clean(&tagger.email, "unknown@localhost"),
        )?;
        match self.repo.tag(name, target.as_object(), &tagger, message, false) {
            Ok(_) => Ok(()),
            // A concurrent tagger won: fine if it tagged the same commit.
            Err(e) if e.code() == ErrorCode::Exists => match self.tag_target(name)? {
                Some(existing) if existing == target.id() => Ok(()),
                Some(existing) => Err(GitError::TagExists {
                    name: name.to_owned(),
                    commit: existing.to_string(),
                }),
                None => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// The commit the tag `name` points at, if the tag exists.
    pub fn tag_target(&self, name: &str) -> Result<Option<Oid>, GitError> {
        match self.repo.find_reference(&format!("refs/tags/{name}")) {
            Ok(reference) => Ok(Some(reference.peel_to_commit()?.id())),
            Err(e) if e.code() == ErrorCode::NotFound || e.code() == ErrorCode::InvalidSpec => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the tree of `rev` (a commit id or a tag name) into `dest`, which
    /// must be empty or not exist yet: regular files with their mode (0644 or
    /// 0755), symlinks as symlinks, directories 0755.
    pub fn export(&self, rev: &str, dest: &Path) -> Result<(), GitError> {
        let commit = match self.tag_target(rev)? {
            Some(id) => self.repo.find_commit(id)?,
            None => self.commit(rev)?,
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GitError::Io { path, source }
        };
        fs::create_dir_all(dest).map_err(io(dest))?;
        if fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
            return Err(GitError::Io {
                path: dest.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "export directory is not empty"),
            });
        }
        self.export_tree(&commit.tree()?, dest)
    }

    fn export_tree(&self, tree: &git2::Tree<'_>, dir: &Path) -> Result<(), GitError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GitError::Io { path, source }
        };
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
                0o120000 => {
                    let blob = self.repo.find_blob(entry.id())?;
                    let target = std::ffi::OsStr::from_bytes(blob.content());
                    std::os::unix::fs::symlink(target, &path).map_err(io(&path))?;
                }
                mode @ (0o100644 | 0o100755) => {
                    let blob = self.repo.find_blob(entry.id())?;
                    fs::write(&path, blob.content()).map_err(io(&path))?;
                    let perm = if mode == 0o100755 { 0o755 } else { 0o644 };
                    fs::set_permissions(&path, fs::Permissions::from_mode(perm)).map_err(io(&path))?;
                }
                // Submodules (commits) are not part of a snapshot.
                _ => {}
            }
        }
        Ok(())
    }

    fn tip(&self) -> Result<Option<Oid>, GitError> {
        match self.repo.refname_to_id(STAGING_REF) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn commit(&self, rev: &str) -> Result<git2::Commit<'_>, GitError> {
        let unknown = || GitError::UnknownCommit(rev.to_owned());
        let object = self.repo.revparse_single(rev).map_err(|_| unknown())?;
        object
            .peel(ObjectType::Commit)
            .ok()
            .and_then(|o| o.into_commit().ok())
            .ok_or_else(unknown)
    }
}

/// Priority of the in-memory object buffer: above the on-disk backends, so
/// new objects go there first.
const MEMPACK_PRIORITY: i32 = 1000;

/// Up to this many new objects are written loose, more as a pack.
const LOOSE_UP_TO_OBJECTS: usize = 256;

/// Buffered blob bytes above which the buffer is written out as a pack
/// mid-walk, bounding memory on huge first snapshots.
const FLUSH_ABOVE_BYTES: u64 = 128 * 1024 * 1024;

/// Writes a directory's blobs and trees into an object database whose new
/// objects are buffered in memory (`mempack`) and flushed as packs.
struct TreeWriter<'r> {
    /// The buffered handle: its writes land in `mempack`.
    repo: &'r Repository,
    /// The plain handle: big blobs are written to disk directly.
    direct: &'r Repository,
    odb: &'r git2::Odb<'r>,
    mempack: &'r git2::Mempack<'r>,
    pending_bytes: u64,
    /// Objects written to the buffer since the last flush.
    pending: Vec<Oid>,
}

impl TreeWriter<'_> {
    /// Writes the buffered objects to disk and empties the buffer: a few as
    /// loose objects (the usual small change: no pack per snapshot piling up),
    /// many as one pack (a first snapshot: one file instead of thousands).
    fn flush(&mut self) -> Result<(), GitError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.pending.len() <= LOOSE_UP_TO_OBJECTS {
            let disk = self.direct.odb()?;
            for id in std::mem::take(&mut self.pending) {
                let object = self.odb.read(id)?;
                disk.write(object.kind(), object.data())?;
            }
            self.mempack.reset()?;
            self.pending_bytes = 0;
            return Ok(());
        }
        let mut pack = git2::Buf::new();
        self.mempack.dump(self.repo, &mut pack)?;
        // An empty pack is a 12-byte header and a 20-byte checksum.
        if pack.len() > 32 {
            let mut packwriter = self.odb.packwriter()?;
            packwriter.write_all(&pack).map_err(|source| GitError::Io {
                path: self.repo.path().join("objects/pack"),
                source,
            })?;
            packwriter.commit()?;
        }
        self.mempack.reset()?;
        self.pending_bytes = 0;
        self.pending.clear();
        Ok(())
    }

    /// Writes a tree (buffered when new).
    fn write_tree(&mut self, builder: git2::TreeBuilder<'_>) -> Result<Oid, GitError> {
        let id = builder.write()?;
        self.pending.push(id);
        Ok(id)
    }

    /// Stores the file at `path` as a blob. Small files are read whole: the
    /// object database then only hashes them and skips the write when the
    /// blob exists (the usual case: most files did not change). Streaming
    /// (`blob_path`) would compress every file before knowing that.
    fn write_blob(&mut self, path: &Path, len: u64) -> Result<Oid, GitError> {
        if len > STREAM_ABOVE_BYTES {
            // Big files go straight to disk, never into the memory buffer.
            return Ok(self.direct.blob_path(path)?);
        }
        let bytes = fs::read(path).map_err(|source| GitError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // Hash first and look the blob up read-only: writing an existing
        // object would still "freshen" (touch) its file, a metadata write per
        // staged file on every snapshot.
        let id = Oid::hash_object(ObjectType::Blob, &bytes)?;
        if self.odb.exists(id) {
            return Ok(id);
        }
        self.repo.blob(&bytes)?;
        self.pending.push(id);
        self.pending_bytes += len;
        if self.pending_bytes > FLUSH_ABOVE_BYTES {
            self.flush()?;
        }
        Ok(id)
    }

    /// Writes the tree of `dir` (at `rel` below the root); `None` when it holds
    /// nothing to snapshot.
    fn write_dir(&mut self, dir: &Path, rel: &Path, rules: &IgnoreRules) -> Result<Option<Oid>, GitError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GitError::Io { path, source }
        };
        let mut entries = fs::read_dir(dir)
            .map_err(io_err(dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err(dir))?;
        entries.sort_by_key(|e| e.file_name());
        let mut builder = self.repo.treebuilder(None)?;
        for entry in entries {
            let name = entry.file_name();
            if always_skipped(name.as_bytes()) {
                continue;
            }
            let path = entry.path();
            let rel_path = rel.join(&name);
            // `file_type` does not follow symlinks.
            let kind = entry.file_type().map_err(io_err(&path))?;
            if rules.is_ignored(&rel_path, Path::new(&name), kind.is_dir()) {
                continue;
            }
            if kind.is_dir() {
                if let Some(tree) = self.write_dir(&path, &rel_path, rules)? {
                    builder.insert(name.as_bytes(), tree, i32::from(FileMode::Tree))?;
                }
            } else if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(io_err(&path))?;
                let blob = self.repo.blob(target.as_os_str().as_bytes())?;
                self.pending.push(blob);
                builder.insert(name.as_bytes(), blob, i32::from(FileMode::Link))?;
            } else if kind.is_file() {
                let meta = entry.metadata().map_err(io_err(&path))?;
                let blob = self.write_blob(&path, meta.len())?;
                let mode = meta.permissions().mode();
                let file_mode = if mode & 0o111 != 0 {
                    FileMode::BlobExecutable
                } else {
                    FileMode::Blob
                };
                builder.insert(name.as_bytes(), blob, i32::from(file_mode))?;
            }
            // Sockets, FIFOs and devices are not part of a release.
        }
        if builder.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.write_tree(builder)?))
    }
}

/// A signature part without the characters git refuses.
fn clean(value: &str, fallback: &str) -> String {
    let cleaned: String = value
        .chars()
        .filter(|c| !matches!(c, '<' | '>') && !c.is_control())
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(patterns: &[&str]) -> IgnoreRules {
        IgnoreRules::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).expect("valid patterns")
    }

    fn ignored(rules: &IgnoreRules, path: &str, is_dir: bool) -> bool {
        let path = Path::new(path);
        let name = path.file_name().map(Path::new).unwrap_or(path);
        rules.is_ignored(path, name, is_dir)
    }

    #[test]
    fn ignore_rules_follow_gitignore() {
        let r = rules(&["*.log", "logs/", "WEB-INF/jdbc.properties", "# comment", "", "/build"]);
        assert!(ignored(&r, "a.log", false));
        assert!(ignored(&r, "deep/er/a.log", false));
        assert!(!ignored(&r, "a.log.txt", false));
        assert!(ignored(&r, "logs", true));
        assert!(ignored(&r, "app/logs", true));
        assert!(!ignored(&r, "logs", false), "dir-only pattern must not match a file");
        assert!(ignored(&r, "WEB-INF/jdbc.properties", false));
        assert!(!ignored(&r, "x/WEB-INF/jdbc.properties", false), "anchored to the root");
        assert!(ignored(&r, "build", true));
        assert!(!ignored(&r, "src/build", true));
    }

    #[test]
    fn refuses_negation_and_bad_globs() {
        assert!(matches!(
            IgnoreRules::new(&["!keep.log".to_owned()]),
            Err(GitError::BadIgnore { .. })
        ));
        assert!(matches!(
            IgnoreRules::new(&["a[".to_owned()]),
            Err(GitError::BadIgnore { .. })
        ));
    }

    #[test]
    fn cleans_signatures() {
        assert_eq!(clean("Bob <evil>\n", "x"), "Bob evil");
        assert_eq!(clean("<>", "fallback"), "fallback");
    }
}
