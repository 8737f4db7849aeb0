//! `slipway serve` for the browser tests: the binary run with a data dir
//! and a free port, its CLI for set-up, and the directory screenshots and
//! server logs go to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_for_port};

/// `slipway serve` on a free port; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `slipway` binary with data dir `data`, listening on `port`.
pub fn slipway(data: &Path, port: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    cmd.env("SLIPWAY_DATA_DIR", data)
        .env("SLIPWAY_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("SLIPWAY_WORKER__POLL_INTERVAL_SECS", "1")
        .env("SLIPWAY_LOG__LEVEL", "info")
        .env_remove("SLIPWAY_CONFIG")
        .env_remove("SLIPWAY_DATABASE__URL");
    cmd
}

/// Runs a `slipway` CLI command with `stdin`; panics with its output when it fails.
pub fn cli(data: &Path, args: &[&str], stdin: &str) {
    let mut child = slipway(data, 0)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run slipway");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("slipway exits");
    assert!(
        out.status.success(),
        "slipway {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where screenshots and server logs go (`target/screenshots`).
pub fn shots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots")
}

/// Adds user `name` (an admin with `admin`) with `password`.
pub fn add_user(data: &Path, name: &str, admin: bool, password: &str) {
    let mut args = vec!["user", "add", name, "--password-stdin", "--name", name];
    if admin {
        args.push("--admin");
    }
    cli(data, &args, &format!("{password}\n"));
}

/// Imports the project file `toml`, then starts `slipway serve` (its
/// output in `<shots_dir>/<log>`) and waits until it listens.
pub fn serve(data: &Path, toml: &str, log: &str) -> Server {
    let file = data.join("projects.toml");
    std::fs::write(&file, toml).expect("write import");
    cli(data, &["project", "import", file.to_str().expect("utf8 path")], "");
    let port = free_port();
    std::fs::create_dir_all(shots_dir()).expect("screenshot dir");
    let log = std::fs::File::create(shots_dir().join(log)).expect("serve log");
    let child = slipway(data, port)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start slipway serve");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_for_port(port, Duration::from_secs(60), "slipway serve");
    server
}
