//! A real `slipway worker` process for the tests that kill workers
//! (invariants 4 and 5): short leases, fast polling, no `SLIPWAY_*`
//! variables of the test's own environment; killed with SIGKILL on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestDb;

/// A `slipway worker` process on a test database, killed on drop.
pub struct WorkerProcess(Child);

impl WorkerProcess {
    /// Starts `slipway worker` on `db` with `data_dir`, 5 s leases, 1 s
    /// polling and retries, and the variables `extra` on top.
    pub fn start(db: &TestDb, data_dir: &Path, extra: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SLIPWAY_") {
                cmd.env_remove(key);
            }
        }
        cmd.arg("worker")
            .env("SLIPWAY_DATA_DIR", data_dir)
            .env("SLIPWAY_DATABASE__URL", &db.url)
            .env("SLIPWAY_WORKER__LEASE_SECS", "5")
            .env("SLIPWAY_WORKER__POLL_INTERVAL_SECS", "1")
            .env("SLIPWAY_WORKER__RETRY_BASE_SECS", "1")
            .env("SLIPWAY_LOG__LEVEL", "warn");
        for (key, value) in extra {
            cmd.env(key, value);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn slipway worker");
        Self(child)
    }

    /// Kills the worker with SIGKILL (no clean-up, like a crash) and reaps it.
    pub fn kill_hard(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// Polls `done` every 100 ms; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
