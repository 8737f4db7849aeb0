//! The tree writer behind [`super::SnapshotRepo::snapshot`]: blobs and
//! trees into a buffered object database, flushed loose or as packs.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::ignore::always_skipped;
use super::{GitError, IgnoreRules};
use git2::{FileMode, ObjectType, Oid, Repository};

/// Files larger than this are streamed into the object database instead of
/// being read into memory.
const STREAM_ABOVE_BYTES: u64 = 32 * 1024 * 1024;

/// Priority of the in-memory object buffer: above the on-disk backends, so
/// new objects go there first.
pub(super) const MEMPACK_PRIORITY: i32 = 1000;

/// Up to this many new objects are written loose, more as a pack.
const LOOSE_UP_TO_OBJECTS: usize = 256;

/// Buffered blob bytes above which the buffer is written out as a pack
/// mid-walk, bounding memory on huge first snapshots.
const FLUSH_ABOVE_BYTES: u64 = 128 * 1024 * 1024;

/// Writes a directory's blobs and trees into an object database whose new
/// objects are buffered in memory (`mempack`) and flushed as packs.
pub(super) struct TreeWriter<'r> {
    /// The buffered handle: its writes land in `mempack`.
    pub(super) repo: &'r Repository,
    /// The plain handle: big blobs are written to disk directly.
    pub(super) direct: &'r Repository,
    pub(super) odb: &'r git2::Odb<'r>,
    pub(super) mempack: &'r git2::Mempack<'r>,
    pub(super) pending_bytes: u64,
    /// Objects written to the buffer since the last flush.
    pub(super) pending: Vec<Oid>,
}

impl TreeWriter<'_> {
    /// Writes the buffered objects to disk and empties the buffer: a few as
    /// loose objects (the usual small change: no pack per snapshot piling up),
    /// many as one pack (a first snapshot: one file instead of thousands).
    pub(super) fn flush(&mut self) -> Result<(), GitError> {
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
    pub(super) fn write_tree(&mut self, builder: git2::TreeBuilder<'_>) -> Result<Oid, GitError> {
        let id = builder.write()?;
        self.pending.push(id);
        Ok(id)
    }

    /// Stores the file at `path` as a blob. Small files are read whole: the
    /// object database then only hashes them and skips the write when the
    /// blob exists (the usual case: most files did not change). Streaming
    /// (`blob_path`) would compress every file before knowing that.
    pub(super) fn write_blob(&mut self, path: &Path, len: u64) -> Result<Oid, GitError> {
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
    pub(super) fn write_dir(&mut self, dir: &Path, rel: &Path, rules: &IgnoreRules) -> Result<Option<Oid>, GitError> {
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
