//! Tests of the process runner.

use super::*;
use std::process::{Command, Stdio};

fn sh(script: &str) -> ProcessSpec {
    // Tests only: a fixed script, no user input.
    ProcessSpec::new("sh").arg("-c").arg(script)
}

fn collect(spec: &ProcessSpec) -> (Result<ProcessOutcome, ProcessError>, Vec<OutputLine>) {
    let mut lines = Vec::new();
    let result = run(spec, &mut |l| lines.push(l));
    (result, lines)
}

#[test]
fn streams_lines_in_order_and_as_they_arrive() {
    let spec = sh("echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three");
    let started = Instant::now();
    let mut seen = Vec::new();
    let outcome = run(&spec, &mut |l| seen.push((started.elapsed(), l))).expect("runs");
    assert!(outcome.success());
    let texts: Vec<_> = seen.iter().map(|(_, l)| (l.stream, l.text.as_str())).collect();
    assert_eq!(
        texts,
        vec![
            (Stream::Stdout, "one"),
            (Stream::Stderr, "two"),
            (Stream::Stdout, "three")
        ]
    );
    // The first line arrived long before the program ended.
    assert!(
        seen[0].0 < Duration::from_millis(250),
        "first line late: {:?}",
        seen[0].0
    );
    assert_eq!(outcome.stderr_tail, vec!["two".to_owned()]);
}

#[test]
fn kills_the_process_group_on_timeout() {
    // The grandchild `sleep` holds the pipes too: the group kill must end it.
    let spec = sh("echo started; sleep 30 & sleep 30; echo never").timeout(Duration::from_millis(400));
    let started = Instant::now();
    let (result, lines) = collect(&spec);
    assert!(matches!(result, Err(ProcessError::Timeout { .. })), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].text, "started");
}

#[test]
fn scrubs_secrets_from_every_line() {
    let spec = sh("echo \"user=bob pass=hunter2 again hunter2\"; echo \"hunter2 on stderr\" >&2")
        .secret("hunter2")
        .secret("");
    let (result, lines) = collect(&spec);
    let outcome = result.expect("runs");
    // stdout and stderr are read concurrently, so their order may vary.
    let mut texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["*** on stderr", "user=bob pass=*** again ***"]);
    assert_eq!(outcome.stderr_tail, vec!["*** on stderr".to_owned()]);
    assert!(!format!("{spec:?}").contains("hunter2"));
}

#[test]
fn reports_a_non_zero_exit_with_the_stderr_tail() {
    let spec = sh("for i in $(seq 1 80); do echo line$i >&2; done; exit 3");
    let (result, lines) = collect(&spec);
    let outcome = result.expect("runs");
    assert!(!outcome.success());
    assert_eq!(outcome.status.code(), Some(3));
    assert_eq!(lines.len(), 80);
    assert_eq!(outcome.stderr_tail.len(), STDERR_TAIL_LINES);
    assert_eq!(outcome.stderr_tail.last().map(String::as_str), Some("line80"));
}

#[test]
fn feeds_stdin_and_sets_the_environment() {
    let spec = ProcessSpec::new("sh")
        .args(["-c", "read x; echo \"got $x in $LC_ALL $EXTRA\""])
        .env("EXTRA", "yes")
        .stdin(b"secret-input\n".to_vec())
        .secret("secret-input");
    let (result, lines) = collect(&spec);
    assert!(result.expect("runs").success());
    assert_eq!(lines[0].text, "got *** in C.UTF-8 yes");
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let (result, _) = collect(&ProcessSpec::new("/nonexistent/slipway-no-such-program"));
    assert!(matches!(result, Err(ProcessError::Spawn { .. })), "{result:?}");
}

#[test]
fn children_get_only_the_minimal_environment() {
    // What `slipway serve` has in its environment must not reach a child.
    std::env::set_var("SLIPWAY_AUTH__JWT_SECRET", "env-leak-jwt-0123456789");
    std::env::set_var("SLIPWAY_DATABASE__URL", "postgres://u:env-leak-pw@db/slipway");
    let spec = ProcessSpec::new("env").env("SLIPWAY_PROJECT", "shop");
    let (result, lines) = collect(&spec);
    assert!(result.expect("runs").success());
    let mut keys: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.text.split_once('=').map(|(k, _)| k))
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["HOME", "LANG", "LC_ALL", "PATH", "SLIPWAY_PROJECT", "TMPDIR"],
        "{lines:?}"
    );
    let all: String = lines.iter().map(|l| l.text.as_str()).collect();
    assert!(!all.contains("env-leak"), "{all}");
    assert!(all.contains(&format!("PATH={}", env::DEFAULT_PATH)));
}

#[test]
fn an_endless_line_is_capped() {
    // 50 MB without a newline, then a normal line.
    let spec = sh("head -c 50000000 /dev/zero | tr '\\0' a; echo; echo after");
    let (result, lines) = collect(&spec);
    assert!(result.expect("runs").success());
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "one capped line, then the next");
    let dropped = 50_000_000 - output::MAX_LINE_BYTES as u64;
    assert_eq!(
        texts[0],
        format!("{}{}", "a".repeat(output::MAX_LINE_BYTES), output::cut_marker(dropped))
    );
    assert_eq!(texts[1], "after");
}

#[test]
fn known_secrets_are_scrubbed_from_every_child() {
    scrub::register("known-child-secret-42");
    let spec = sh("echo token=known-child-secret-42; echo known-child-secret-42 >&2");
    let (result, lines) = collect(&spec);
    let outcome = result.expect("runs");
    assert!(
        lines.iter().all(|l| !l.text.contains("known-child-secret")),
        "{lines:?}"
    );
    assert_eq!(outcome.stderr_tail, vec!["***".to_owned()]);
    assert_eq!(scrub_known("a known-child-secret-42 b"), "a *** b");
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_for_pid(path: &std::path::Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

const HELPER_ENV: &str = "SLIPWAY_TEST_PDEATH_DIR";

/// Not a test: the process `children_die_with_slipway` SIGKILLs. It starts a
/// background child from a thread that then exits, and a foreground child.
#[test]
#[ignore = "helper process of children_die_with_slipway"]
fn pdeath_helper() {
    let Some(dir) = std::env::var_os(HELPER_ENV).map(std::path::PathBuf::from) else {
        return;
    };
    let bg_pid = dir.join("bg.pid");
    let background = thread::spawn(move || {
        let script = format!("echo $$ > {}; exec sleep 300", bg_pid.display());
        Background::start(&sh(&script)).expect("starts")
    })
    .join()
    .expect("thread");
    let script = format!("echo $$ > {}; exec sleep 300", dir.join("run.pid").display());
    let _ = run(&sh(&script), &mut |_| {});
    drop(background);
}

#[test]
fn children_die_with_slipway() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut helper = Command::new(exe)
        .args(["--exact", "process::tests::pdeath_helper", "--ignored", "--nocapture"])
        .env(HELPER_ENV, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("helper starts");
    let bg = wait_for_pid(&dir.path().join("bg.pid"));
    let fg = wait_for_pid(&dir.path().join("run.pid"));
    // The thread that started the background child has exited: the child
    // must live on (the parent-death signal follows the process, not the thread).
    std::thread::sleep(Duration::from_millis(300));
    assert!(!gone(bg), "the background child died with the thread that started it");
    helper.kill().expect("SIGKILL the helper");
    let _ = helper.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(gone(bg) && gone(fg)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in [bg, fg] {
        if !gone(pid) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("child {pid} outlived the killed process that started it");
        }
    }
}

#[test]
fn a_set_cancel_flag_kills_the_process_group() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let flag: CancelFlag = Arc::new(AtomicBool::new(false));
    let spec = sh("echo started; sleep 30 & sleep 30; echo never").cancel_on(Some(Arc::clone(&flag)));
    let setter = Arc::clone(&flag);
    let started = Instant::now();
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        setter.store(true, Ordering::SeqCst);
    });
    let (result, lines) = collect(&spec);
    assert!(matches!(result, Err(ProcessError::Cancelled { .. })), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(lines.len(), 1);
}
