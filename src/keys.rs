//! The key that signs session tokens, API tokens and emailed approval
//! links. It sits below the web and jobs layers because both sign with it.
//!
//! The generated key file is never seen half-written: the key is written to
//! a temporary file (mode 0600) in the same directory, flushed, and then
//! hard-linked to `jwt.key`, which fails when the name exists. So of several
//! processes starting at once exactly one key wins and every process reads
//! that one; and every read checks the key's length.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::service::admin::random_hex;

/// Shortest key accepted from the key file, in characters.
pub const MIN_KEY_CHARS: usize = 32;

/// Why the signing key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `auth.jwt_secret` is shorter than 16 characters.
    #[error("auth.jwt_secret must be at least 16 characters")]
    SecretTooShort,
    /// The key file holds fewer than [`MIN_KEY_CHARS`] characters.
    #[error("{0} is too short; delete it to make a new key")]
    FileTooShort(PathBuf),
    /// Reading or writing the key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

impl KeyError {
    /// The stable code (a translation key).
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::SecretTooShort => "key.secret_too_short",
            KeyError::FileTooShort(_) => "key.file_too_short",
            KeyError::Io { .. } => "key.io",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The signing key: `auth.jwt_secret`, or a random key kept in
/// `<data_dir>/jwt.key` (created once, mode 0600).
pub fn signing_key(config: &Config) -> Result<Vec<u8>, String> {
    if let Some(secret) = config.auth.jwt_secret.as_ref() {
        let s = secret.expose().trim();
        if s.len() < 16 {
            return Err(KeyError::SecretTooShort.to_string());
        }
        return Ok(s.as_bytes().to_vec());
    }
    key_file(&config.data_dir.join("jwt.key")).map_err(|e| e.to_string())
}

/// The key in `path`, made (atomically, see the module) when missing.
pub fn key_file(path: &Path) -> Result<Vec<u8>, KeyError> {
    match read_key(path) {
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let key = random_hex(MIN_KEY_CHARS);
    let tmp = dir.join(format!(".jwt.key.{}.{}.tmp", std::process::id(), random_hex(8)));
    let written = write_private(&tmp, key.as_bytes());
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path).map_err(io(path)));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new session signing key");
            Ok(key.into_bytes())
        }
        // Another process made it first: its key is complete (it was linked
        // from a flushed file), use that one.
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => read_key(path),
        Err(e) => Err(e),
    }
}

/// Reads the key and checks its length.
fn read_key(path: &Path) -> Result<Vec<u8>, KeyError> {
    let existing = std::fs::read_to_string(path).map_err(io(path))?;
    let k = existing.trim();
    if k.len() < MIN_KEY_CHARS {
        return Err(KeyError::FileTooShort(path.to_owned()));
    }
    Ok(k.as_bytes().to_vec())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_threads_agree_on_one_complete_key() {
        for round in 0..20 {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("data").join("jwt.key");
            let keys: Vec<Result<Vec<u8>, String>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| key_file(&path).map_err(|e| e.to_string())))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
                    .collect()
            });
            let first = keys[0].clone().expect("a key");
            assert_eq!(first.len(), MIN_KEY_CHARS * 2, "round {round}");
            for k in &keys {
                assert_eq!(
                    k.as_ref(),
                    Ok(&first),
                    "round {round}: every racer reads the winner's key"
                );
            }
            let on_disk = std::fs::read(&path).expect("key file");
            assert_eq!(on_disk, first);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
                assert_eq!(mode, 0o600);
            }
            let leftovers = std::fs::read_dir(path.parent().expect("dir")).expect("dir").count();
            assert_eq!(leftovers, 1, "no temporary files stay behind");
        }
    }

    #[test]
    fn a_short_key_file_is_refused_on_every_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwt.key");
        std::fs::write(&path, "").expect("write");
        assert_eq!(key_file(&path).map_err(|e| e.code()), Err("key.file_too_short"));
        std::fs::write(&path, "short").expect("write");
        assert_eq!(key_file(&path).map_err(|e| e.code()), Err("key.file_too_short"));
    }
}
