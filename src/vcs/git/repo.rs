//! [`SnapshotRepo`]'s operations: open, snapshot, diff, ancestry, tag,
//! export (see [`super`]).

use std::path::Path;

use super::writer::{TreeWriter, MEMPACK_PRIORITY};
use super::{GitError, IgnoreRules, Signature, Snapshot, SnapshotRepo, STAGING_REF};
use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryInitOptions};

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

    fn tip(&self) -> Result<Option<Oid>, GitError> {
        match self.repo.refname_to_id(STAGING_REF) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The commit `rev` (an id, a branch or a tag) names.
    pub(super) fn commit(&self, rev: &str) -> Result<git2::Commit<'_>, GitError> {
        let unknown = || GitError::UnknownCommit(rev.to_owned());
        let object = self.repo.revparse_single(rev).map_err(|_| unknown())?;
        object
            .peel(ObjectType::Commit)
            .ok()
            .and_then(|o| o.into_commit().ok())
            .ok_or_else(unknown)
    }
}

/// A signature part without the characters git refuses.
pub(super) fn clean(value: &str, fallback: &str) -> String {
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
