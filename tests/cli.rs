//! The `slipway` binary as users run it: configuration errors, user and
//! project commands, migrations, and `serve` answering `/healthz` over real
//! HTTP on SQLite and PostgreSQL.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;

/// `slipway` with a clean environment pointing at `data_dir`.
fn slipway(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SLIPWAY_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("SLIPWAY_DATA_DIR", data_dir).env("SLIPWAY_LOG__LEVEL", "warn");
    cmd
}

fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slipway");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bad_config_is_one_line_naming_the_key_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(
        slipway(dir.path())
            .env("SLIPWAY_DATABASE__POOL_SIZE", "lots")
            .arg("migrate"),
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.to_lowercase().contains("database.pool_size"), "{err}");

    let file = dir.path().join("local.toml");
    std::fs::write(&file, "[server]\nbind = \"not an address\"\n").expect("write");
    let out = run(slipway(dir.path()).arg("--config").arg(&file).arg("migrate"), "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("server.bind"), "{}", text(&out.stderr));

    let out = run(
        slipway(dir.path()).args(["--config", "/nonexistent.toml", "migrate"]),
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent.toml"));

    let out = run(
        slipway(dir.path())
            .env("SLIPWAY_WORKER__CONCURRENCY", "0")
            .arg("migrate"),
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("worker.concurrency"));
}

#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("elsewhere.db");
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, format!("sqlite:{}\n", db_path.display())).expect("write");
    let out = run(
        slipway(dir.path())
            .env("SLIPWAY_DATABASE__URL_FILE", &secret)
            .arg("migrate"),
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(db_path.exists(), "the URL came from the file");
    let out = run(
        slipway(dir.path())
            .env("SLIPWAY_DATABASE__URL_FILE", &secret)
            .env("SLIPWAY_DATABASE__URL", "x")
            .arg("migrate"),
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not both"));
}

#[test]
fn user_commands_never_take_passwords_from_argv() {
    let dir = tempfile::tempdir().expect("temp dir");
    let add = |name: &str, extra: &[&str], password: &str| {
        run(
            slipway(dir.path())
                .args(["user", "add", name, "--password-stdin"])
                .args(extra),
            &format!("{password}\n"),
        )
    };
    let out = add(
        "ada",
        &["--admin", "--email", "ada@example.test", "--name", "Ada"],
        "s3cret-pass",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!add("bob", &[], "short").status.success(), "too short");
    assert!(!add("ada", &[], "another-pass").status.success(), "duplicate");
    assert!(!add("Bad Name", &[], "another-pass").status.success(), "invalid name");
    let out = run(slipway(dir.path()).args(["user", "add", "eve", "--password", "x"]), "");
    assert_eq!(out.status.code(), Some(2), "there is no --password flag");
    let out = run(slipway(dir.path()).args(["user", "add", "eve"]), "");
    assert_eq!(out.status.code(), Some(2), "no terminal and no --password-stdin");
    let out = run(
        slipway(dir.path()).args(["user", "set-password", "ada", "--password-stdin"]),
        "new-password-1\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(slipway(dir.path()).args(["user", "disable", "ada"]), "");
    assert!(out.status.success());
    let out = run(slipway(dir.path()).args(["user", "disable", "nobody"]), "");
    assert_eq!(out.status.code(), Some(1));
    let out = run(slipway(dir.path()).args(["user", "list"]), "");
    let listing = text(&out.stdout);
    assert!(
        listing.contains("ada") && listing.contains("admin,disabled"),
        "{listing}"
    );
    assert!(
        !listing.contains("s3cret") && !listing.contains("argon2"),
        "no secrets in the listing"
    );
}

/// `slipway user add/set-password` follow the one password policy (the
/// admin form and the API use the same `service::password::check`).
#[test]
fn cli_passwords_follow_the_one_policy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let user = |args: &[&str], password: &str| {
        run(
            slipway(dir.path()).args(["user"]).args(args).arg("--password-stdin"),
            &format!("{password}\n"),
        )
    };
    assert!(!user(&["add", "bob"], "nine-char").status.success(), "9 characters");
    assert!(user(&["add", "bob"], "ten-chars!").status.success(), "10 characters");
    assert!(!user(&["set-password", "bob"], "nine-char").status.success());
    assert!(!user(&["set-password", "bob"], &"x".repeat(1025)).status.success());
    assert!(user(&["set-password", "bob"], &"x".repeat(1024)).status.success());
    let policy = slipway::service::password::check;
    assert!(policy("nine-char").is_err() && policy("ten-chars!").is_ok());
}

#[test]
fn project_import_reports_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("projects.toml");
    std::fs::write(
        &file,
        "[[project]]\nname = \"shop\"\nsvn_url = \"file:///x\"\nstaging_dir = \"relative\"\nleads = [\"ghost\"]\n",
    )
    .expect("write");
    let out = run(slipway(dir.path()).args(["project", "import"]).arg(&file), "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:line 4, column 15: staging_dir must be an absolute path",
            file.display()
        )),
        "{err}"
    );
    std::fs::write(
        &file,
        "[[project]]\nname = \"shop\"\nsvn_url = \"file:///x\"\nstaging_dir = \"/srv/s\"\n",
    )
    .expect("write");
    let out = run(slipway(dir.path()).args(["project", "import"]).arg(&file), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(slipway(dir.path()).args(["project", "list"]), "");
    assert!(text(&out.stdout).contains("shop"));
}

#[test]
fn worker_runs_until_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = slipway(dir.path())
        .arg("worker")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worker");
    std::thread::sleep(Duration::from_secs(2));
    assert!(child.try_wait().expect("poll").is_none(), "the worker keeps running");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "stops cleanly on SIGTERM: {}", text(&out.stderr));
}

use common::net::free_port;

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_answers_healthz(database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut cmd = slipway(dir.path());
    cmd.env("SLIPWAY_SERVER__BIND", format!("127.0.0.1:{port}"))
        .arg("serve");
    if let Some(url) = database_url {
        cmd.env("SLIPWAY_DATABASE__URL", url);
    }
    let _server = Server(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let response = loop {
        if let Some(response) = get(port, "/healthz") {
            break response;
        }
        assert!(Instant::now() < deadline, "serve did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""database":"ok""#), "{response}");
    assert!(
        response.contains(r#""pending_migrations":0"#),
        "serve migrated first: {response}"
    );
}

#[test]
fn serve_answers_healthz_on_sqlite() {
    serve_answers_healthz(None);
}

#[test]
fn serve_answers_healthz_on_postgres() {
    let db = TestDb::postgres_unmigrated();
    serve_answers_healthz(Some(&db.url));
}
