//! The world of one fault-suite run: a real SVN repository, two ssh hosts
//! (two `sshd` on one port, one on 127.0.0.1 and one on 127.0.0.2, so one
//! of them can refuse connections while the other answers), a data dir, the
//! users and the project set up through the `slipway` CLI, and a `slipway
//! serve` (API, worker, cron) plus a `slipway worker` on the test's database
//! with a short lease and a sweep every second.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestDb;
use crate::common_svn::SvnRepo;

use super::http::{request, Api};
use super::procs::{cli, Role, Slipway};

/// The project's name.
pub const PROJECT: &str = "chaos";
/// The users' password.
const PASSWORD: &str = "chaos-password-1";
/// Job lease in seconds: the shortest the configuration allows, so a crash is noticed quickly.
pub const LEASE_SECS: u64 = 5;

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "slipway-chaos", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One sshd listening on `addr:port`; stop and start it to make its host
/// refuse connections for a while.
pub struct SshHost {
    pub addr: &'static str,
    config: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl SshHost {
    fn new(dir: &Path, addr: &'static str, port: u16, host_key: &Path) -> Self {
        let config = dir.join(format!("sshd_config.{addr}"));
        fs::write(
            &config,
            format!(
                "ListenAddress {addr}\nPort {port}\nHostKey {hk}\nAuthorizedKeysFile {d}/authorized_keys\n\
                 StrictModes no\nUsePAM no\nPidFile {d}/sshd.{addr}.pid\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel FATAL\n\
                 MaxStartups 200\nMaxSessions 200\n",
                hk = host_key.display(),
                d = dir.display(),
            ),
        )
        .expect("sshd_config");
        Self {
            addr,
            config,
            port,
            child: None,
        }
    }

    /// Starts sshd and waits until it accepts connections.
    pub fn start(&mut self) {
        for _attempt in 0..50 {
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(&self.config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sshd starts");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if TcpStream::connect((self.addr, self.port)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port is still held (e.g. TIME_WAIT): try again
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("sshd on {}:{} did not start", self.addr, self.port);
    }

    /// Stops sshd: new connections are refused (sessions it forked stay).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port free on both 127.0.0.1 and 127.0.0.2.
fn port_for_both() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        if TcpListener::bind(("127.0.0.2", port)).is_ok() {
            return port;
        }
    }
}

/// Everything a run needs; dropping it stops every process.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub svn: SvnRepo,
    pub data: PathBuf,
    pub hosts: Vec<(String, PathBuf)>,
    pub ssh: Vec<SshHost>,
    pub procs: Vec<Slipway>,
    pub port: u16,
    pub dev: Api,
    pub tester: Api,
    pub lead: Api,
    pub flags: PathBuf,
}

const FILES: &[(&str, &str)] = &[
    ("index.html", "<h1>chaos r1</h1>\n"),
    ("css/site.css", "body { color: black }\n"),
    ("lib/app.js", "console.log('r1');\n"),
];

impl Cluster {
    pub fn start(db: &TestDb) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().to_owned();
        let svn = SvnRepo::create(FILES);
        let data = d.join("data");
        let flags = d.join("flags");
        fs::create_dir_all(data.join("ssh")).expect("data dir");
        fs::create_dir_all(&flags).expect("flags dir");

        let keys = d.join("keys");
        fs::create_dir_all(&keys).expect("keys dir");
        let (host_key, identity) = (keys.join("host_key"), keys.join("id_ed25519"));
        keygen(&host_key);
        keygen(&identity);
        fs::copy(identity.with_extension("pub"), keys.join("authorized_keys")).expect("authorized_keys");
        fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let host_pub = fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let ssh_port = port_for_both();
        let mut ssh = Vec::new();
        let mut known = String::new();
        for addr in ["127.0.0.1", "127.0.0.2"] {
            let mut host = SshHost::new(&keys, addr, ssh_port, &host_key);
            host.start();
            ssh.push(host);
            known.push_str(&format!("[{addr}]:{ssh_port} {} {}\n", host_pub[0], host_pub[1]));
        }
        fs::write(data.join("ssh").join("known_hosts"), known).expect("known_hosts");

        let hook = d.join("hook.sh");
        fs::write(
            &hook,
            format!(
                "# chaos hook: $1 = which hook; fails while its flag file exists (in colour if it says ansi)\n\
                 sleep 0.3\n\
                 f={flags}/fail-$1\n\
                 if [ -e $f ]; then\n\
                 \x20 if grep -q ansi $f; then printf '\\033[31mboom in %s\\033[0m\\n' \"$1\" >&2; else echo \"boom in $1\" >&2; fi\n\
                 \x20 exit 1\n\
                 fi\n",
                flags = flags.display()
            ),
        )
        .expect("hook script");
        let hook_argv = |which: &str| format!("[[\"sh\", \"{}\", \"{which}\"]]", hook.display());

        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let hosts: Vec<(String, PathBuf)> = vec![("web1".into(), d.join("web1")), ("web2".into(), d.join("web2"))];
        let targets = format!(
            "{{ name = \"web1\", target = \"{user}@127.0.0.1:{}\" }}, {{ name = \"web2\", target = \"{user}@127.0.0.2:{}\" }}",
            hosts[0].1.display(),
            hosts[1].1.display()
        );
        let import = d.join("projects.toml");
        fs::write(
            &import,
            format!(
                "[[host_group]]\nname = \"chaos-web\"\nhosts = [{targets}]\n\n\
                 [[project]]\nname = \"{PROJECT}\"\nsvn_url = \"{svn_url}\"\nstaging_dir = \"{staging}\"\n\
                 build_command = [\"sh\", \"-c\", \"sleep 0.5\"]\nhost_groups = [\"chaos-web\"]\n\
                 excludes = [\"*.log\"]\nleads = [\"lead\"]\ndevelopers = [\"dev\"]\ntesters = [\"tester\"]\n\n\
                 [project.deploy]\nstrategy = \"serial\"\nkeep_releases = 3\n\
                 ssh = {{ port = {ssh_port}, identity_file = \"{identity}\", connect_timeout_secs = 3 }}\n\
                 hooks = {{ before_switch = {bs}, after_switch = {asw}, after_release = {ar} }}\n",
                svn_url = svn.url,
                staging = d.join("staging").display(),
                identity = identity.display(),
                bs = hook_argv("before_switch"),
                asw = hook_argv("after_switch"),
                ar = hook_argv("after_release"),
            ),
        )
        .expect("import file");

        let port = port_for_both();
        let env = vec![
            ("SLIPWAY_DATA_DIR".to_owned(), data.display().to_string()),
            ("SLIPWAY_DATABASE__URL".to_owned(), db.url.clone()),
            ("SLIPWAY_SERVER__BIND".to_owned(), format!("127.0.0.1:{port}")),
            ("SLIPWAY_WORKER__LEASE_SECS".to_owned(), LEASE_SECS.to_string()),
            ("SLIPWAY_WORKER__POLL_INTERVAL_SECS".to_owned(), "1".to_owned()),
            ("SLIPWAY_WORKER__RETRY_BASE_SECS".to_owned(), "1".to_owned()),
            ("SLIPWAY_WORKER__RETRY_CAP_SECS".to_owned(), "2".to_owned()),
            ("SLIPWAY_WORKER__MAX_ATTEMPTS".to_owned(), "3".to_owned()),
            ("SLIPWAY_CRON__SWEEP".to_owned(), "* * * * * *".to_owned()),
            ("SLIPWAY_LOG__LEVEL".to_owned(), "warn".to_owned()),
        ];
        for (name, admin) in [("admin", true), ("lead", false), ("dev", false), ("tester", false)] {
            let mut args = vec!["user", "add", name, "--password-stdin"];
            if admin {
                args.push("--admin");
            }
            cli(&env, &args, &format!("{PASSWORD}\n"));
        }
        cli(&env, &["project", "import", import.to_str().expect("utf-8 path")], "");

        let log = d.join("slipway.log");
        let mut procs = vec![
            Slipway::new(Role::Serve, env.clone(), &log),
            Slipway::new(Role::Worker, env, &log),
        ];
        for p in &mut procs {
            p.start();
        }
        wait_healthy(port);
        Self {
            dev: Api::login(port, "dev", PASSWORD),
            tester: Api::login(port, "tester", PASSWORD),
            lead: Api::login(port, "lead", PASSWORD),
            dir,
            svn,
            data,
            hosts,
            ssh,
            procs,
            port,
            flags,
        }
    }

    /// The `slipway` stderr log (warnings and errors of every process).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("slipway.log")
    }

    /// Starts `role` again and, for `serve`, waits until it answers.
    pub fn restart(&mut self, role: Role) {
        let port = self.port;
        let p = self.procs.iter_mut().find(|p| p.role == role).expect("process");
        for _attempt in 0..10 {
            p.start();
            if role == Role::Worker || wait_healthy_or_exit(port, p) {
                return;
            }
            let _ = p.kill_hard(); // bind failed: try again
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("slipway {} did not come back", role.as_str());
    }

    /// Makes hook `which` fail (printing in colour with `ansi`, as npm or
    /// mvn do) until [`Self::pass_hook`].
    pub fn fail_hook(&self, which: &str, ansi: bool) {
        let flag = self.flags.join(format!("fail-{which}"));
        fs::write(flag, if ansi { "ansi" } else { "plain" }).expect("flag");
    }

    /// Lets hook `which` pass again.
    pub fn pass_hook(&self, which: &str) {
        let _ = fs::remove_file(self.flags.join(format!("fail-{which}")));
    }
}

fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if request(port, "GET", "/healthz", None, None).is_ok_and(|r| r.status == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("slipway serve did not answer /healthz on port {port} within 60 s");
}

/// Waits for /healthz; `false` if the process exited first.
fn wait_healthy_or_exit(port: u16, p: &mut Slipway) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if request(port, "GET", "/healthz", None, None).is_ok_and(|r| r.status == 200) {
            return true;
        }
        if p.exited() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("slipway serve did not answer /healthz on port {port} within 60 s");
}
