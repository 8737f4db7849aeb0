//! Per-operation helpers of a host: scratch directories and the one ssh
//! connection every ssh and rsync of one host's operation rides on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{DeployError, Target};
use crate::process::ProcessSpec;

/// A directory under the system temp dir, removed on drop.
pub(crate) struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new directory under the system temporary directory.
    pub(crate) fn new(what: &str) -> Result<Self, DeployError> {
        Self::new_in(&std::env::temp_dir(), &format!("slipway-{what}-"))
    }

    /// A new directory `<parent>/<prefix><unique>` (mode 0700).
    pub(crate) fn new_in(parent: &Path, prefix: &str) -> Result<Self, DeployError> {
        use std::os::unix::fs::DirBuilderExt;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = parent.join(format!("{prefix}{}-{n}-{}", std::process::id(), nanos % 1_000_000));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|source| DeployError::Io {
                what: format!("creating {}", path.display()),
                source,
            })?;
        Ok(Self(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The ssh connection one host's operation shares (OpenSSH
/// `ControlMaster=auto`): the first ssh or rsync of the operation opens it
/// and stays in the background as its master, every later one rides on it
/// instead of a new handshake, so an operation costs one connection set-up
/// per host. Dropping it asks the master to exit (`ssh -O exit`); should
/// Slipway be killed first, the master exits by itself once idle for
/// [`PERSIST_SECS`].
pub(crate) struct Mux {
    pub(super) socket: PathBuf,
    destination: String,
    _dir: ScratchDir,
}

/// Longest control socket path (`sun_path` holds 108 bytes; ssh appends a
/// temporary suffix while it binds).
const MAX_SOCKET_PATH: usize = 80;

/// How long an orphaned master waits idle before it exits.
pub(crate) const PERSIST_SECS: u32 = 30;

impl Mux {
    /// A control path for an ssh target (`None` for other targets, or when
    /// no directory could be made: every ssh then connects on its own). It
    /// lives under `<data_dir>/run` (the system temporary directory when
    /// that path would be too long for a socket).
    pub(super) fn new(target: &Target) -> Option<Mux> {
        let Target::Ssh { user, host, .. } = target else {
            return None;
        };
        let dir = crate::process::env::runtime_dir()
            .and_then(|run| ScratchDir::new_in(&run, "m").ok())
            .filter(|d| d.path().join("s").as_os_str().len() <= MAX_SOCKET_PATH);
        let dir = match dir {
            Some(dir) => dir,
            None => ScratchDir::new("mux").ok()?,
        };
        Some(Mux {
            socket: dir.path().join("s"),
            destination: match user {
                Some(u) => format!("{u}@{host}"),
                None => host.clone(),
            },
            _dir: dir,
        })
    }

    /// The `-o` options that make an ssh share this connection.
    pub(super) fn ssh_options(&self) -> [String; 6] {
        [
            "-o".to_owned(),
            "ControlMaster=auto".to_owned(),
            "-o".to_owned(),
            format!("ControlPath={}", self.socket.display()),
            "-o".to_owned(),
            format!("ControlPersist={PERSIST_SECS}"),
        ]
    }
}

impl Drop for Mux {
    fn drop(&mut self) {
        if !self.socket.exists() {
            return;
        }
        let spec = ProcessSpec::new("ssh")
            .args([
                "-o",
                &format!("ControlPath={}", self.socket.display()),
                "-O",
                "exit",
                "--",
            ])
            .arg(&self.destination)
            .timeout(Duration::from_secs(5));
        let _ = crate::process::run(&spec, &mut |_| {});
    }
}
