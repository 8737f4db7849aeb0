//! A real `supervisord` (Debian's `supervisor` package) under the test's own
//! configuration: its unix socket, logs and pid file in a temp dir, managing
//! `app` (a shell loop printing `tick N`), `broken` (exits at once: FATAL
//! when started) and whatever extra `[program:x]` sections a test gives.
//! Stopped with SIGTERM (which stops its programs) on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running supervisord.
pub struct Supervisor {
    child: Child,
    /// Config, socket, logs.
    pub dir: tempfile::TempDir,
    /// The configuration file (`supervisorctl -c <conf>`).
    pub conf: PathBuf,
}

impl Supervisor {
    /// Starts supervisord in the foreground and waits until `app` runs.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let conf = d.join("supervisord.conf");
        let text = format!(
            "[unix_http_server]\nfile={d}/supervisor.sock\n\n\
             [supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nnodaemon=true\ndirectory={d}\nchildlogdir={d}\n\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n\n\
             [program:app]\ncommand=/bin/sh -c 'n=0; while true; do n=$((n+1)); echo tick $n; sleep 0.1; done'\n\
             autostart=true\nstartsecs=1\nstopwaitsecs=2\nstdout_logfile={d}/app.log\nredirect_stderr=true\n\n\
             [program:broken]\ncommand=/bin/sh -c 'echo cannot start; exit 3'\nautostart=false\nstartsecs=1\nstartretries=0\n\
             stdout_logfile={d}/broken.log\nredirect_stderr=true\n",
            d = d.display()
        );
        std::fs::write(&conf, text).expect("write supervisord.conf");
        let child = Command::new("supervisord")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("supervisord runs (install the `supervisor` package: scripts/ensure-deps.sh --test)");
        let s = Self { child, dir, conf };
        s.wait_for("app", "RUNNING", Duration::from_secs(20));
        s
    }

    /// `supervisorctl -c <conf>` as an argument vector.
    pub fn ctl(&self) -> Vec<String> {
        vec!["supervisorctl".into(), "-c".into(), self.conf.display().to_string()]
    }

    /// The state word `supervisorctl status NAME` prints.
    pub fn state(&self, name: &str) -> String {
        let out = Command::new("supervisorctl")
            .arg("-c")
            .arg(&self.conf)
            .args(["status", name])
            .output()
            .expect("supervisorctl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().nth(1).unwrap_or_default().to_owned()
    }

    /// The pid of a running program.
    pub fn pid(&self, name: &str) -> Option<u32> {
        let out = Command::new("supervisorctl")
            .arg("-c")
            .arg(&self.conf)
            .args(["pid", name])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
    }

    /// Waits until `name` is in `state`.
    pub fn wait_for(&self, name: &str, state: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.state(name) == state {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{name} not {state} within {timeout:?}: {}", self.state(name));
    }

    /// The temp dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // SIGTERM: supervisord stops its programs, then exits.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
