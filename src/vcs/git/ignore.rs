//! [`IgnoreRules`]: the project's ignore globs, gitignore-like (see [`super`]).

use std::path::Path;

use super::GitError;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

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
pub(super) fn always_skipped(name: &[u8]) -> bool {
    name == b".svn" || name == b".git"
}
