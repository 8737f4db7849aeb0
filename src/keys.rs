//! The key that signs session tokens, API tokens and emailed approval
//! links. It sits below the web and jobs layers because both sign with it.

use std::io::Write;

use crate::config::Config;
use crate::service::admin::random_hex;

/// The signing key: `auth.jwt_secret`, or a random key kept in
/// `<data_dir>/jwt.key` (created once, mode 0600).
pub fn signing_key(config: &Config) -> Result<Vec<u8>, String> {
    if let Some(secret) = config.auth.jwt_secret.as_ref() {
        let s = secret.expose().trim();
        if s.len() < 16 {
            return Err("auth.jwt_secret must be at least 16 characters".into());
        }
        return Ok(s.as_bytes().to_vec());
    }
    let path = config.data_dir.join("jwt.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let k = existing.trim();
        if k.len() >= 32 {
            return Ok(k.as_bytes().to_vec());
        }
        return Err(format!("{} is too short; delete it to make a new key", path.display()));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let key = random_hex(32);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(key.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "created a new session signing key");
            Ok(key.into_bytes())
        }
        // Another instance made it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(&path)
            .map(|k| k.trim().as_bytes().to_vec())
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
