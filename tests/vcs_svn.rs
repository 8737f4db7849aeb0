//! The svn client against real repositories made with `svnadmin` in temp
//! dirs, over `file://` and over `svn://` (svnserve on loopback, with a
//! password).

mod common;
mod common_svn;

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use common_svn::{SvnRepo, AUTHOR};
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use slipway::domain::SvnPath;
use slipway::vcs::{OutputLine, Stream, SvnClient, SvnCredentials, SvnError};

const PASSWORD: &str = "pa55-w0rd-xyzzy";

fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("src/a.txt", "a1\n"),
        ("src/b.txt", "b1\n"),
        ("docs/readme.txt", "readme1\n"),
        ("src/at@sign.txt", "at1\n"),
        ("资源/图.txt", "zh1\n"),
    ]
}

fn client(repo: &SvnRepo, credentials: Option<SvnCredentials>) -> SvnClient {
    SvnClient::new(repo.path("svn-config"), credentials, Duration::from_secs(60))
}

fn creds(password: &str) -> Option<SvnCredentials> {
    Some(SvnCredentials {
        username: "alice".into(),
        password: password.into(),
    })
}

fn paths(list: &[&str]) -> Vec<SvnPath> {
    SvnPath::parse_list(list).expect("valid paths")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A log sink that keeps every line.
#[derive(Default)]
struct Lines(Vec<OutputLine>);

impl Lines {
    fn sink(&mut self) -> impl FnMut(OutputLine) + '_ {
        |line| self.0.push(line)
    }
    fn text(&self) -> String {
        self.0.iter().map(|l| format!("{}\n", l.text)).collect()
    }
}

#[test]
fn checkout_partial_update_pinned_revision_and_new_commits_over_file_url() {
    let repo = SvnRepo::create(&files());
    let svn = client(&repo, None);
    let wc = repo.path("staging");
    let mut lines = Lines::default();

    // First run: checkout, streamed line by line.
    assert_eq!(
        svn.checkout(&repo.url, &wc, None, &mut lines.sink()).expect("checkout"),
        1
    );
    assert!(lines
        .0
        .iter()
        .any(|l| l.stream == Stream::Stdout && l.text.contains("src/a.txt")));
    assert_eq!(read(&wc.join("src/a.txt")), "a1\n");
    let info = svn.wc_info(&wc).expect("info");
    assert_eq!((info.revision, info.url.as_str()), (1, repo.url.as_str()));
    assert!(info.url.starts_with(&info.repository_root));

    let r2 = repo.commit(
        &[("src/a.txt", Some("a2\n")), ("docs/readme.txt", Some("readme2\n"))],
        "r2",
    );
    assert_eq!(svn.head_revision(&repo.url).expect("head"), r2);

    // Update of one path: the others stay at the old revision.
    let reached = svn
        .update(&wc, &paths(&["src/a.txt"]), None, &mut lines.sink())
        .expect("update one path");
    assert_eq!(reached, r2);
    assert_eq!(read(&wc.join("src/a.txt")), "a2\n");
    assert_eq!(read(&wc.join("docs/readme.txt")), "readme1\n");
    assert_eq!(svn.wc_info(&wc).expect("info").revision, 1, "the root was not updated");

    // Pinned to a revision (back to r1 for that path).
    let r3 = repo.commit(&[("src/a.txt", Some("a3\n"))], "r3");
    let reached = svn
        .update(&wc, &paths(&["src/a.txt"]), Some(1), &mut lines.sink())
        .expect("pinned update");
    assert_eq!(reached, 1);
    assert_eq!(read(&wc.join("src/a.txt")), "a1\n");

    // Paths with `@` and non-ASCII names (the `@` is not a peg revision).
    repo.commit(
        &[("src/at@sign.txt", Some("at2\n")), ("资源/图.txt", Some("zh2\n"))],
        "r4",
    );
    let reached = svn
        .update(
            &wc,
            &paths(&["src/at@sign.txt", "资源/图.txt"]),
            None,
            &mut lines.sink(),
        )
        .expect("special names");
    assert_eq!(reached, 4);
    assert_eq!(read(&wc.join("src/at@sign.txt")), "at2\n");
    assert_eq!(read(&wc.join("资源/图.txt")), "zh2\n");

    // A resubmitted ticket picks up a later commit; a new file in new
    // directories arrives with its parents.
    let r5 = repo.commit(&[("src/a.txt", Some("a5\n")), ("new1/new2/f.txt", Some("f5\n"))], "r5");
    let reached = svn
        .update(&wc, &paths(&["src/a.txt", "new1/new2/f.txt"]), None, &mut lines.sink())
        .expect("later update");
    assert_eq!(reached, r5);
    assert_eq!(read(&wc.join("src/a.txt")), "a5\n");
    assert_eq!(read(&wc.join("new1/new2/f.txt")), "f5\n");
    assert!(r3 < r5);

    // The whole working copy.
    let reached = svn.update(&wc, &[], None, &mut lines.sink()).expect("full update");
    assert_eq!(reached, r5);
    assert_eq!(read(&wc.join("docs/readme.txt")), "readme2\n");
    assert_eq!(svn.wc_info(&wc).expect("info").revision, r5);

    // Shipping a deletion: the path existed in the working copy.
    let r6 = repo.commit(&[("src/b.txt", None)], "delete b");
    let reached = svn
        .update(&wc, &paths(&["src/b.txt"]), None, &mut lines.sink())
        .expect("deleted path");
    assert_eq!(reached, r6);
    assert!(!wc.join("src/b.txt").exists());
}

#[test]
fn checkout_at_a_revision() {
    let repo = SvnRepo::create(&files());
    repo.commit(&[("src/a.txt", Some("a2\n"))], "r2");
    let svn = client(&repo, None);
    let wc = repo.path("staging");
    assert_eq!(svn.checkout(&repo.url, &wc, Some(1), &mut |_| {}).expect("checkout"), 1);
    assert_eq!(read(&wc.join("src/a.txt")), "a1\n");
}

#[test]
fn a_conflict_in_the_working_copy_is_an_error_naming_the_file() {
    let repo = SvnRepo::create(&files());
    let svn = client(&repo, None);
    let wc = repo.path("staging");
    svn.checkout(&repo.url, &wc, None, &mut |_| {}).expect("checkout");
    // Someone edits the staging copy by hand; a commit changes the same line.
    fs::write(wc.join("src/a.txt"), "edited on the staging host\n").expect("edit");
    repo.commit(&[("src/a.txt", Some("a2\n"))], "r2");

    let err = svn
        .update(&wc, &paths(&["src/a.txt"]), None, &mut |_| {})
        .expect_err("conflict");
    match &err {
        SvnError::Conflict(files) => assert_eq!(files, &vec!["src/a.txt".to_owned()]),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "conflict in staging working copy: src/a.txt (someone edited the staging copy by hand)"
    );
    // It stays an error on the next ticket, even one about other paths.
    let err = svn
        .update(&wc, &paths(&["docs/readme.txt"]), None, &mut |_| {})
        .expect_err("still in conflict");
    assert!(
        matches!(err, SvnError::Conflict(ref f) if f == &["src/a.txt"]),
        "{err:?}"
    );
    assert_eq!(svn.conflicts(&wc).expect("status"), vec!["src/a.txt".to_owned()]);
}

#[test]
fn a_path_that_does_not_exist_is_missing() {
    let repo = SvnRepo::create(&files());
    let svn = client(&repo, None);
    let wc = repo.path("staging");
    svn.checkout(&repo.url, &wc, None, &mut |_| {}).expect("checkout");

    for missing in ["nope.txt", "nope/deeper/x.txt", "src/nope.txt"] {
        let err = svn
            .update(&wc, &paths(&["src/a.txt", missing]), None, &mut |_| {})
            .expect_err("missing path");
        match &err {
            SvnError::MissingPath { path, revision } => {
                assert_eq!((path.as_str(), *revision), (missing, Some(1)));
            }
            other => panic!("{missing}: expected MissingPath, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!("path `{missing}` does not exist in the repository at r1")
        );
    }
    // Pinned before the file existed.
    let r2 = repo.commit(&[("src/c.txt", Some("c\n"))], "add c");
    assert_eq!(r2, 2);
    let err = svn
        .update(&wc, &paths(&["src/c.txt"]), Some(1), &mut |_| {})
        .expect_err("not yet at r1");
    assert!(
        matches!(err, SvnError::MissingPath { ref path, revision: Some(1) } if path == "src/c.txt"),
        "{err:?}"
    );
    // Listing a missing directory.
    let err = svn
        .list(&repo.url, Some(&SvnPath::parse("nope").expect("valid")))
        .expect_err("missing dir");
    assert!(
        matches!(err, SvnError::MissingPath { ref path, .. } if path == "nope"),
        "{err:?}"
    );
    // Checking out a URL that does not exist.
    let err = svn
        .checkout(&format!("{}/nope", repo.url), &repo.path("other"), None, &mut |_| {})
        .expect_err("missing URL");
    assert!(matches!(err, SvnError::MissingPath { .. }), "{err:?}");
}

#[test]
fn a_locked_working_copy_is_cleaned_up_and_retried_once() {
    let repo = SvnRepo::create(&files());
    let svn = client(&repo, None);
    let wc = repo.path("staging");
    svn.checkout(&repo.url, &wc, None, &mut |_| {}).expect("checkout");
    repo.commit(&[("src/a.txt", Some("a2\n"))], "r2");

    // What an interrupted svn leaves behind: a row in wc.db's WC_LOCK table.
    let db = wc.join(".svn/wc.db");
    let mut conn = SqliteConnection::establish(db.to_str().expect("utf-8")).expect("open wc.db");
    diesel::sql_query("INSERT INTO WC_LOCK (wc_id, local_dir_relpath, locked_levels) VALUES (1, '', -1)")
        .execute(&mut conn)
        .expect("lock the working copy");
    drop(conn);

    let mut lines = Lines::default();
    let reached = svn
        .update(&wc, &paths(&["src/a.txt"]), None, &mut lines.sink())
        .expect("update after cleanup");
    assert_eq!(reached, 2);
    assert_eq!(read(&wc.join("src/a.txt")), "a2\n");
    let log = lines.text();
    assert!(log.contains("E155004"), "the first attempt saw the lock:\n{log}");
    assert!(log.contains("running `svn cleanup`"), "{log}");
}

#[test]
fn log_and_list() {
    let repo = SvnRepo::create(&files());
    let svn = client(&repo, None);
    let r2 = repo.commit(
        &[("src/a.txt", Some("a2\n")), ("src/new.txt", Some("n\n"))],
        "second\nline two",
    );
    let r3 = repo.commit(&[("src/b.txt", None)], "third");

    let entries = svn.log(&repo.url, 1, r3).expect("log");
    assert_eq!(entries.iter().map(|e| e.revision).collect::<Vec<_>>(), vec![r2, r3]);
    assert_eq!(entries[0].author, AUTHOR);
    assert_eq!(entries[0].message, "second\nline two");
    assert!(entries[0].date.is_some());
    let mut changed: Vec<(String, String)> = entries[0]
        .paths
        .iter()
        .map(|p| (p.action.clone(), p.path.clone()))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        vec![
            ("A".to_owned(), "/trunk/src/new.txt".to_owned()),
            ("M".to_owned(), "/trunk/src/a.txt".to_owned())
        ]
    );
    assert_eq!(entries[1].paths[0].action, "D");
    assert!(svn.log(&repo.url, r3, r3).expect("empty range").is_empty());
    assert_eq!(svn.log(&repo.url, r2, r3).expect("one").len(), 1);

    let top = svn.list(&repo.url, None).expect("list");
    let shown: Vec<(&str, bool)> = top.iter().map(|e| (e.name.as_str(), e.is_dir)).collect();
    assert_eq!(shown, vec![("docs", true), ("src", true), ("资源", true)]);
    let src = svn
        .list(&repo.url, Some(&SvnPath::parse("src").expect("valid")))
        .expect("list src");
    let names: Vec<&str> = src.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["a.txt", "at@sign.txt", "new.txt"]);
    assert!(src.iter().all(|e| !e.is_dir));
    let zh = svn
        .list(&repo.url, Some(&SvnPath::parse("资源").expect("valid")))
        .expect("list non-ASCII dir");
    assert_eq!(zh[0].name, "图.txt");
}

#[test]
fn svnserve_with_a_password() {
    let repo = SvnRepo::create(&files());
    let server = repo.serve("alice", PASSWORD);
    let url = server.url("repo/trunk");
    let mut lines = Lines::default();

    // Right password: checkout, update, log, list, head.
    let svn = client(&repo, creds(PASSWORD));
    let wc = repo.path("staging");
    assert_eq!(svn.checkout(&url, &wc, None, &mut lines.sink()).expect("checkout"), 1);
    let r2 = repo.commit(&[("src/a.txt", Some("a2\n"))], "r2");
    assert_eq!(svn.head_revision(&url).expect("head"), r2);
    assert_eq!(
        svn.update(&wc, &paths(&["src/a.txt"]), None, &mut lines.sink())
            .expect("update"),
        r2
    );
    assert_eq!(read(&wc.join("src/a.txt")), "a2\n");
    assert_eq!(svn.log(&url, 1, r2).expect("log").len(), 1);
    assert_eq!(svn.list(&url, None).expect("list").len(), 3);
    assert!(!lines.0.is_empty());

    // Wrong password, and none at all.
    let mut errors = Vec::new();
    for credentials in [creds("wrong-password"), None] {
        let bad = client(&repo, credentials);
        let err = bad
            .checkout(&url, &repo.path("other"), None, &mut lines.sink())
            .expect_err("auth fails");
        assert!(matches!(err, SvnError::Auth(ref u) if u == &url), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("svn: authentication failed for {url} (check the project's SVN credentials)")
        );
        errors.push(err.to_string());
        let err = bad
            .update(&wc, &paths(&["src/a.txt"]), None, &mut lines.sink())
            .expect_err("auth fails on update");
        assert!(
            matches!(err, SvnError::Auth(ref u) if u.starts_with(&server.url("repo"))),
            "{err:?}"
        );
        errors.push(err.to_string());
        let err = bad.head_revision(&url).expect_err("auth fails on info");
        assert!(matches!(err, SvnError::Auth(_)), "{err:?}");
    }
    // The password never shows up: not in any streamed line, not in an error,
    // not in the svn config dir (no auth cache).
    assert!(lines.0.iter().all(|l| !l.text.contains(PASSWORD)));
    assert!(errors.iter().all(|e| !e.contains(PASSWORD)));
    assert!(!format!("{svn:?}").contains(PASSWORD));
    let cache = repo.path("svn-config/auth");
    let cached: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|f| read(f).contains(PASSWORD))
        .collect();
    assert!(cached.is_empty(), "password cached in {cached:?}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let repo = SvnRepo::create(&files());
    // Accepts connections and says nothing: svn:// waits for a greeting.
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let svn = SvnClient::new(repo.path("svn-config"), creds(PASSWORD), Duration::from_millis(800));
    let started = std::time::Instant::now();
    let err = svn
        .head_revision(&format!("svn://127.0.0.1:{port}/repo"))
        .expect_err("timeout");
    assert!(matches!(err, SvnError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(listener);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
