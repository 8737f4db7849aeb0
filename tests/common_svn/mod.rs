//! Test helpers for real SVN repositories: create one with `svnadmin`, import
//! a tree, commit changes through a scratch working copy, and serve it with
//! `svnserve` on loopback (killed on drop). Everything runs from argument
//! vectors with `LC_ALL=C.UTF-8`.
#![allow(dead_code)]

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Author name used for commits made by the helpers.
pub const AUTHOR: &str = "tester";

/// Runs a program and panics with its output when it fails; returns stdout.
pub fn run(program: &str, args: &[&str], cwd: Option<&Path>) -> String {
    let mut command = Command::new(program);
    command.args(args).env("LC_ALL", "C.UTF-8").stdin(Stdio::null());
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A repository in a temp dir with the project under `/trunk`.
pub struct SvnRepo {
    /// Holds everything; removed on drop.
    pub dir: tempfile::TempDir,
    /// The repository directory (what `svnserve -r` serves the parent of).
    pub repo: PathBuf,
    /// `file://…/repo/trunk`.
    pub url: String,
    scratch: PathBuf,
}

impl SvnRepo {
    /// A repository named `repo` whose r1 imports `files` (path, content) into `/trunk`.
    pub fn create(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path().join("repo");
        run("svnadmin", &["create", path_str(&repo)], None);
        let import = dir.path().join("import");
        for (path, content) in files {
            write_file(&import.join(path), content);
        }
        let url = format!("file://{}/trunk", repo.display());
        run(
            "svn",
            &[
                "import",
                "-q",
                "--username",
                AUTHOR,
                "-m",
                "initial import",
                path_str(&import),
                &url,
            ],
            None,
        );
        let scratch = dir.path().join("scratch");
        run("svn", &["checkout", "-q", &url, path_str(&scratch)], None);
        Self {
            dir,
            repo,
            url,
            scratch,
        }
    }

    /// Commits `changes` (path, `Some(content)` to write or `None` to delete)
    /// and returns the new revision.
    pub fn commit(&self, changes: &[(&str, Option<&str>)], message: &str) -> i64 {
        run("svn", &["update", "-q", path_str(&self.scratch)], None);
        for (path, content) in changes {
            let full = self.scratch.join(path);
            match content {
                Some(text) => {
                    write_file(&full, text);
                    let target = format!("{}@", full.display());
                    run("svn", &["add", "-q", "--force", "--parents", &target], None);
                }
                None => {
                    let target = format!("{}@", full.display());
                    run("svn", &["rm", "-q", &target], None);
                }
            }
        }
        let out = run(
            "svn",
            &["commit", "--username", AUTHOR, "-m", message, path_str(&self.scratch)],
            None,
        );
        out.lines()
            .find_map(|l| l.strip_prefix("Committed revision "))
            .and_then(|r| r.trim_end_matches('.').parse().ok())
            .unwrap_or_else(|| panic!("no revision in commit output: {out}"))
    }

    /// A fresh path inside the temp dir (for working copies, config dirs…).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Serves this repository with `svnserve`: anonymous access off, `user`
    /// with `password` may read and write. The URL is `svn://127.0.0.1:PORT/repo/trunk`.
    pub fn serve(&self, user: &str, password: &str) -> Svnserve {
        let conf = self.repo.join("conf");
        fs::write(
            conf.join("svnserve.conf"),
            "[general]\nanon-access = none\nauth-access = write\npassword-db = passwd\n",
        )
        .expect("svnserve.conf");
        fs::write(conf.join("passwd"), format!("[users]\n{user} = {password}\n")).expect("passwd");
        Svnserve::start(self.dir.path())
    }
}

/// A running `svnserve`, killed on drop.
pub struct Svnserve {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Svnserve {
    /// Starts `svnserve -r root` on a free loopback port and waits until it accepts connections.
    pub fn start(root: &Path) -> Self {
        for _attempt in 0..5 {
            let port = free_port();
            let mut child = Command::new("svnserve")
                .args(["-d", "--foreground", "--listen-host", "127.0.0.1", "--listen-port"])
                .arg(port.to_string())
                .arg("-r")
                .arg(root)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("svnserve starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken meanwhile: try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { child, port };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("svnserve did not start");
    }

    /// `svn://127.0.0.1:PORT/<rest>`.
    pub fn url(&self, rest: &str) -> String {
        format!("svn://127.0.0.1:{}/{rest}", self.port)
    }
}

impl Drop for Svnserve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use crate::common::net::free_port;

/// Writes `content` to `path`, creating parent directories.
pub fn write_file(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create dirs");
    }
    fs::write(path, content).expect("write file");
}

/// The path as `&str` (temp dirs are UTF-8 here).
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}
