//! Test helpers for deploy targets: a real `sshd` on 127.0.0.1 with generated
//! host and user keys (the user is the current one: root in CI), and an
//! `rsync --daemon` with one password-protected module. Both are killed on drop.
#![allow(dead_code)]

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::common::net::free_port;

fn wait_for_port(port: u16, child: &mut Child, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("{what} exited early: {status}");
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running sshd on 127.0.0.1 accepting the generated user key.
pub struct Sshd {
    child: Child,
    /// Holds keys, config and known_hosts.
    pub dir: tempfile::TempDir,
    /// The port.
    pub port: u16,
    /// The user's private key.
    pub identity: PathBuf,
    /// A known_hosts file pinning the host key for `[127.0.0.1]:port`.
    pub known_hosts: PathBuf,
}

impl Sshd {
    /// Generates keys, writes the config and starts `sshd -D -e`.
    pub fn start() -> Self {
        Self::start_with_max_sessions(200)
    }

    /// [`Sshd::start`] allowing `max_sessions` sessions per connection.
    pub fn start_with_max_sessions(max_sessions: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let host_key = d.join("host_key");
        let identity = d.join("id_ed25519");
        for key in [&host_key, &identity] {
            run(
                "ssh-keygen",
                &[
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "slipway-test",
                    "-f",
                    key.to_str().unwrap(),
                ],
            );
        }
        fs::copy(identity.with_extension("pub"), d.join("authorized_keys")).expect("authorized_keys");
        fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let host_pub = fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        for _attempt in 0..5 {
            let port = free_port();
            let config = d.join("sshd_config");
            fs::write(
                &config,
                format!(
                    "ListenAddress 127.0.0.1\nPort {port}\nHostKey {hk}\nAuthorizedKeysFile {d}/authorized_keys\n\
                     StrictModes no\nUsePAM no\nPidFile {d}/sshd.pid\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel FATAL\n\
                     MaxStartups 200\nMaxSessions {max_sessions}\n",
                    hk = host_key.display(),
                    d = d.display(),
                ),
            )
            .expect("sshd_config");
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("sshd starts");
            if wait_for_port(port, &mut child, "sshd") {
                let known_hosts = d.join("known_hosts");
                fs::write(
                    &known_hosts,
                    format!("[127.0.0.1]:{port} {} {}\n", host_pub[0], host_pub[1]),
                )
                .expect("known_hosts");
                return Self {
                    child,
                    dir,
                    port,
                    identity,
                    known_hosts,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("sshd did not start");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `rsync --daemon` with module `deploy` (path: `root`), user
/// `deployer`, password in `password_file`.
pub struct RsyncDaemon {
    child: Child,
    /// Holds config, secrets and the module directory.
    pub dir: tempfile::TempDir,
    /// The port.
    pub port: u16,
    /// The module's directory.
    pub root: PathBuf,
    /// The client's password file (mode 0600).
    pub password_file: PathBuf,
}

impl RsyncDaemon {
    /// Writes the config and starts the daemon in the foreground.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let root = d.join("module");
        fs::create_dir(&root).expect("module dir");
        let secrets = d.join("rsyncd.secrets");
        fs::write(&secrets, "deployer:s3cret-pw\n").expect("secrets");
        fs::set_permissions(&secrets, fs::Permissions::from_mode(0o600)).expect("chmod");
        let password_file = d.join("password");
        fs::write(&password_file, "s3cret-pw\n").expect("password");
        fs::set_permissions(&password_file, fs::Permissions::from_mode(0o600)).expect("chmod");
        for _attempt in 0..5 {
            let port = free_port();
            let config = d.join("rsyncd.conf");
            fs::write(
                &config,
                format!(
                    "use chroot = no\nmunge symlinks = no\nuid = root\ngid = root\npid file = {d}/rsyncd.pid\n\
                     [deploy]\npath = {root}\nread only = false\nauth users = deployer\nsecrets file = {secrets}\n",
                    d = d.display(),
                    root = root.display(),
                    secrets = secrets.display(),
                ),
            )
            .expect("rsyncd.conf");
            let _ = fs::remove_file(d.join("rsyncd.pid"));
            let mut child = Command::new("rsync")
                .args(["--daemon", "--no-detach", "--address=127.0.0.1"])
                .arg(format!("--port={port}"))
                .arg(format!("--config={}", config.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("rsync daemon starts");
            if wait_for_port(port, &mut child, "rsync daemon") {
                return Self {
                    child,
                    dir,
                    port,
                    root,
                    password_file,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("rsync daemon did not start");
    }

    /// The target for directory `sub` of the module.
    pub fn target(&self, sub: &str) -> String {
        format!("rsync://deployer@127.0.0.1:{}/deploy/{sub}", self.port)
    }

    /// The local path of directory `sub` of the module.
    pub fn path(&self, sub: &str) -> PathBuf {
        self.root.join(sub)
    }
}

impl Drop for RsyncDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `content` to `path`, creating parent directories.
pub fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, content).expect("write");
}
