//! What a child sees (invariant 9, see docs/design.md#invariants): a minimal, documented
//! environment and, for builds and local hooks, another Unix user.
//!
//! Every child starts from an empty environment and gets exactly:
//!
//! | variable | value |
//! | --- | --- |
//! | `PATH` | `worker.child_path` ([`DEFAULT_PATH`] by default) |
//! | `HOME` | `<data_dir>/home` (0700); for a child run as `worker.run_as`: that user's home directory |
//! | `TMPDIR` | `<data_dir>/tmp` (0700); for a child run as `worker.run_as`: the system's temporary directory |
//! | `LANG`, `LC_ALL` | `C.UTF-8` (untranslated messages that can be parsed; non-ASCII file names still convert) |
//!
//! plus the facts the caller passes (`SLIPWAY_PROJECT`, `SLIPWAY_VERSION`,
//! `SLIPWAY_TICKET`, `SLIPWAY_RELEASE_DIR`…). Nothing of the server's own
//! environment (`SLIPWAY_AUTH__JWT_SECRET`, `SLIPWAY_DATABASE__URL`…) reaches a child.
//!
//! [`configure`] sets this up once per process (`slipway serve` / `worker`);
//! without it children get the system temporary directory as `HOME` and
//! `TMPDIR`. With `run_as`, Slipway must run as root: the data dir is made
//! mode 0700 and [`super::ProcessSpec::as_build_user`] children (builds and
//! local hooks) run with that user's uid, gid and supplementary groups.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use nix::unistd::{Gid, Uid, User};

/// `PATH` of every child unless `worker.child_path` says otherwise.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `LANG` and `LC_ALL` of every child.
pub const LOCALE: &str = "C.UTF-8";

/// Why the child set-up could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `worker.run_as` names no user.
    #[error("worker.run_as: there is no Unix user `{0}`")]
    NoSuchUser(String),
    /// `worker.run_as` needs root.
    #[error("worker.run_as = \"{0}\" needs Slipway to run as root (it runs as uid {1})")]
    NotRoot(String, u32),
    /// `worker.run_as` names root itself.
    #[error("worker.run_as: `{0}` is root; name an unprivileged user")]
    RunAsRoot(String),
    /// Looking the user up failed.
    #[error("worker.run_as: cannot look up `{0}`: {1}")]
    Lookup(String, nix::Error),
    /// A directory could not be made or protected.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// The Unix user builds and local hooks run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// The user name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    /// All its groups (primary and supplementary).
    pub groups: Vec<u32>,
    /// Its home directory (`HOME` of its children).
    pub home: PathBuf,
}

impl RunAs {
    /// Looks `name` up in the user database (getpwnam_r, getgrouplist).
    pub fn lookup(name: &str) -> Result<Self, SetupError> {
        let user = User::from_name(name)
            .map_err(|e| SetupError::Lookup(name.to_owned(), e))?
            .ok_or_else(|| SetupError::NoSuchUser(name.to_owned()))?;
        if user.uid.is_root() {
            return Err(SetupError::RunAsRoot(name.to_owned()));
        }
        let cname = std::ffi::CString::new(name).map_err(|_| SetupError::NoSuchUser(name.to_owned()))?;
        let groups = nix::unistd::getgrouplist(&cname, user.gid)
            .map_err(|e| SetupError::Lookup(name.to_owned(), e))?
            .into_iter()
            .map(Gid::as_raw)
            .collect();
        Ok(Self {
            name: name.to_owned(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            groups,
            home: user.dir,
        })
    }
}

/// The process-wide child set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSetup {
    /// Slipway's data dir (`None`: not configured).
    pub data_dir: Option<PathBuf>,
    /// `PATH` of every child.
    pub path: String,
    /// The user builds and local hooks run as.
    pub run_as: Option<RunAs>,
}

impl Default for ChildSetup {
    fn default() -> Self {
        Self {
            data_dir: None,
            path: DEFAULT_PATH.to_owned(),
            run_as: None,
        }
    }
}

static SETUP: RwLock<Option<Arc<ChildSetup>>> = RwLock::new(None);

/// Makes `dir` (and its parents) and sets its mode to 0700.
fn private_dir(dir: &Path) -> Result<(), SetupError> {
    let io = |what, source| SetupError::Io {
        what,
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io("creating", e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io("protecting", e))
}

/// Sets the process-wide child set-up: makes `<data_dir>/home`, `tmp` and
/// `run` (mode 0700); with `run_as` (looked up first) checks that Slipway
/// runs as root and makes the data dir itself mode 0700.
pub fn configure(data_dir: &Path, path: Option<&str>, run_as: Option<&str>) -> Result<(), SetupError> {
    let run_as = match run_as.map(str::trim).filter(|n| !n.is_empty()) {
        None => None,
        Some(name) => {
            let user = RunAs::lookup(name)?;
            let me = Uid::effective();
            if me.as_raw() == user.uid {
                None
            } else if !me.is_root() {
                return Err(SetupError::NotRoot(name.to_owned(), me.as_raw()));
            } else {
                Some(user)
            }
        }
    };
    std::fs::create_dir_all(data_dir).map_err(|source| SetupError::Io {
        what: "creating",
        path: data_dir.to_owned(),
        source,
    })?;
    if run_as.is_some() {
        private_dir(data_dir)?;
    }
    for sub in ["home", "tmp", "run"] {
        private_dir(&data_dir.join(sub))?;
    }
    let setup = ChildSetup {
        data_dir: Some(data_dir.to_owned()),
        path: path.filter(|p| !p.trim().is_empty()).unwrap_or(DEFAULT_PATH).to_owned(),
        run_as,
    };
    *SETUP.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(setup));
    Ok(())
}

/// The current set-up (the default when [`configure`] was not called).
pub fn current() -> Arc<ChildSetup> {
    SETUP
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// A directory for short-lived runtime files such as ssh control sockets:
/// `<data_dir>/run`, or `None` when not configured.
pub fn runtime_dir() -> Option<PathBuf> {
    current().data_dir.as_ref().map(|d| d.join("run"))
}

/// The environment of a child: the fixed variables, then `extra`.
pub(super) fn child_env(
    setup: &ChildSetup,
    build_user: bool,
    extra: &[(OsString, OsString)],
) -> Vec<(OsString, OsString)> {
    let temp = std::env::temp_dir();
    let (home, tmp) = match (&setup.run_as, &setup.data_dir) {
        (Some(user), _) if build_user => (user.home.clone(), temp),
        (_, Some(data)) => (data.join("home"), data.join("tmp")),
        (_, None) => (temp.clone(), temp),
    };
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), setup.path.clone().into()),
        ("HOME".into(), home.into()),
        ("TMPDIR".into(), tmp.into()),
        ("LANG".into(), LOCALE.into()),
        ("LC_ALL".into(), LOCALE.into()),
    ];
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

/// Hands the staging working copy `dir` to the build user before a build:
/// every file and directory (symlinks themselves, never their targets)
/// not already theirs becomes owned by the user's uid and gid, except the
/// `.svn` administrative directory, which stays Slipway's. Does nothing
/// without `run_as`.
pub fn hand_over(dir: &Path) -> Result<(), SetupError> {
    let setup = current();
    let Some(user) = &setup.run_as else {
        return Ok(());
    };
    let io = |what, path: &Path, source| SetupError::Io {
        what,
        path: path.to_owned(),
        source,
    };
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io("reading", &path, e))?;
        if std::os::unix::fs::MetadataExt::uid(&meta) != user.uid {
            std::os::unix::fs::lchown(&path, Some(user.uid), Some(user.gid))
                .map_err(|e| io("handing over", &path, e))?;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(|e| io("listing", &path, e))? {
                let entry = entry.map_err(|e| io("listing", &path, e))?;
                if entry.file_name() != ".svn" {
                    stack.push(entry.path());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_must_name_an_unprivileged_user_that_exists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = configure(dir.path(), None, Some("no-such-user-slipway")).expect_err("unknown user");
        assert!(matches!(error, SetupError::NoSuchUser(_)), "{error}");
        let error = configure(dir.path(), None, Some("root")).expect_err("root");
        assert!(matches!(error, SetupError::RunAsRoot(_)), "{error}");
        assert!(error.to_string().contains("worker.run_as"), "{error}");
    }

    #[test]
    fn the_environment_is_fixed_and_facts_come_last() {
        let setup = ChildSetup {
            data_dir: Some(PathBuf::from("/srv/slipway")),
            ..ChildSetup::default()
        };
        let extra = [("SLIPWAY_PROJECT".into(), "shop".into()), ("HOME".into(), "/x".into())];
        let env = child_env(&setup, true, &extra);
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("TMPDIR"), Some("/srv/slipway/tmp".into()));
        assert_eq!(get("HOME"), Some("/x".into()), "an explicit fact wins");
        assert_eq!(get("SLIPWAY_PROJECT"), Some("shop".into()));
        assert_eq!(env.len(), 6);
    }
}
