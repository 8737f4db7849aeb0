//! Per-operation helpers of a host: scratch directories and the one ssh
//! connection every ssh and rsync of one host's operation rides on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::rsync::ssh_options;
use super::{Context, DeployError, Target};
use crate::process::{Background, ProcessSpec};

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

/// The ssh connection one host's operation shares: a master (`ssh -M -N`)
/// started when the operation opens the host, on which every ssh and rsync
/// of the operation rides instead of a new handshake, so an operation costs
/// one connection set-up per host. The master is Slipway's child: killed
/// on drop, and with Slipway (see [`Background`]); never a daemon that
/// could outlive it.
pub(crate) struct Mux {
    _master: Background,
    pub(super) socket: PathBuf,
    _dir: ScratchDir,
}

/// Longest control socket path (`sun_path` holds 108 bytes; ssh appends a
/// temporary suffix while it binds).
const MAX_SOCKET_PATH: usize = 80;

impl Mux {
    /// Starts a master for an ssh target and waits until it is ready;
    /// `None` for other targets, or when it could not connect (the commands
    /// that follow then connect on their own and report why). Its control
    /// socket lives under `<data_dir>/run` (the system temporary directory
    /// when that path would be too long for a socket).
    pub(super) fn start(ctx: &Context, target: &Target) -> Option<Mux> {
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
        let socket = dir.path().join("s");
        let destination = match user {
            Some(u) => format!("{u}@{host}"),
            None => host.clone(),
        };
        let spec = ProcessSpec::new("ssh")
            .args(ssh_options(ctx).ok()?)
            .args(["-M", "-N", "-o", "ControlPersist=no", "-o"])
            .arg(format!("ControlPath={}", socket.display()))
            .arg("--")
            .arg(destination);
        let mut master = Background::start(&spec).ok()?;
        let deadline =
            std::time::Instant::now() + Duration::from_secs(u64::from(ctx.settings.ssh.connect_timeout_secs) + 5);
        while std::time::Instant::now() < deadline {
            if socket.exists() {
                return Some(Mux {
                    _master: master,
                    socket,
                    _dir: dir,
                });
            }
            if master.exited() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// The `-o` options that make an ssh ride on this connection.
    pub(super) fn ssh_options(&self) -> [String; 4] {
        [
            "-o".to_owned(),
            "ControlMaster=no".to_owned(),
            "-o".to_owned(),
            format!("ControlPath={}", self.socket.display()),
        ]
    }
}
