//! Snapshots of staged trees in a bare git repository (git2), in temp dirs.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::Instant;

use slipway::vcs::{GitError, Signature, SnapshotRepo, STAGING_REF};

fn write(root: &Path, path: &str, content: &str) {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent).expect("dirs");
    }
    fs::write(full, content).expect("write");
}

fn dev() -> Signature {
    Signature {
        name: "Dev Eloper".into(),
        email: "dev@example.com".into(),
    }
}

fn ignore() -> Vec<String> {
    ["*.log", "logs/", "WEB-INF/jdbc.properties"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Every path in a snapshot, from the diff against the empty tree.
fn paths(repo: &SnapshotRepo, commit: &str) -> Vec<String> {
    repo.changed_files(None, commit)
        .expect("diff")
        .into_iter()
        .map(|(status, path)| {
            assert_eq!(status, 'A');
            path
        })
        .collect()
}

#[test]
fn snapshot_skips_svn_git_and_ignored_paths() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wc = tmp.path().join("wc");
    write(&wc, "index.html", "<h1>hi</h1>\n");
    write(&wc, "WEB-INF/web.xml", "<web/>\n");
    write(&wc, "WEB-INF/jdbc.properties", "password=hunter2\n");
    write(&wc, "sub/WEB-INF/jdbc.properties", "not anchored: kept\n");
    write(&wc, "app.log", "log\n");
    write(&wc, "deep/er/debug.log", "log\n");
    write(&wc, "logs/today.txt", "in an ignored dir\n");
    write(&wc, "src/logs", "a file called logs is not a dir: kept\n");
    write(&wc, ".svn/wc.db", "svn metadata\n");
    write(&wc, "src/.svn/entries", "old svn metadata\n");
    write(&wc, ".git/HEAD", "ref: x\n");
    write(&wc, "src/main.js", "console.log(1)\n");
    fs::create_dir_all(wc.join("empty/dir")).expect("empty dir");

    let repo = SnapshotRepo::open_or_init(&tmp.path().join("git/shop.git")).expect("init");
    assert_eq!(repo.staging_tip().expect("tip"), None);
    let snap = repo
        .snapshot(&wc, &ignore(), "ticket #1: first", &dev())
        .expect("snapshot");
    assert!(snap.changed);
    assert_eq!(
        paths(&repo, &snap.commit),
        vec![
            "WEB-INF/web.xml",
            "index.html",
            "src/logs",
            "src/main.js",
            "sub/WEB-INF/jdbc.properties"
        ]
    );
    assert_eq!(repo.staging_tip().expect("tip").as_deref(), Some(snap.commit.as_str()));

    // The commit carries the message, author and committer.
    let git = git2::Repository::open_bare(repo.path()).expect("open");
    assert!(git.is_bare());
    let commit = git
        .find_commit(git2::Oid::from_str(&snap.commit).expect("oid"))
        .expect("commit");
    assert_eq!(commit.message(), Some("ticket #1: first"));
    assert_eq!(commit.author().name(), Some("Dev Eloper"));
    assert_eq!(commit.author().email(), Some("dev@example.com"));
    assert_eq!(commit.committer().name(), Some("Slipway"));
    assert_eq!(commit.committer().email(), Some("slipway@localhost"));
    assert_eq!(commit.tree_id().to_string(), snap.tree);
    assert_eq!(git.refname_to_id(STAGING_REF).expect("ref").to_string(), snap.commit);
    assert_eq!(
        git.head().ok().and_then(|h| h.name().map(str::to_owned)).as_deref(),
        Some(STAGING_REF)
    );

    // Reopening finds the same repository.
    let again = SnapshotRepo::open_or_init(&tmp.path().join("git/shop.git")).expect("reopen");
    assert_eq!(again.staging_tip().expect("tip").as_deref(), Some(snap.commit.as_str()));
}

#[test]
fn unchanged_tree_is_not_committed_again_and_changes_are_listed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wc = tmp.path().join("wc");
    write(&wc, "a.txt", "a1\n");
    write(&wc, "dir/b.txt", "b1\n");
    write(&wc, "dir/c.txt", "c1\n");
    let repo = SnapshotRepo::open_or_init(&tmp.path().join("repo.git")).expect("init");
    let first = repo.snapshot(&wc, &[], "ticket #1: one", &dev()).expect("first");

    // Only ignored or .svn content changed: same tree, same commit.
    write(&wc, "new.log", "ignored\n");
    write(&wc, ".svn/tmp/x", "svn\n");
    let same = repo
        .snapshot(&wc, &ignore(), "ticket #2: nothing", &dev())
        .expect("same");
    assert!(!same.changed);
    assert_eq!(
        (same.commit.as_str(), same.tree.as_str()),
        (first.commit.as_str(), first.tree.as_str())
    );

    write(&wc, "a.txt", "a2\n");
    fs::remove_file(wc.join("dir/c.txt")).expect("rm");
    write(&wc, "dir/d.txt", "d\n");
    let second = repo
        .snapshot(&wc, &ignore(), "ticket #3: change", &dev())
        .expect("second");
    assert!(second.changed);
    assert_ne!(second.commit, first.commit);
    assert_eq!(
        repo.changed_files(Some(&first.commit), &second.commit).expect("diff"),
        vec![
            ('M', "a.txt".to_owned()),
            ('D', "dir/c.txt".to_owned()),
            ('A', "dir/d.txt".to_owned())
        ]
    );
    assert!(repo
        .changed_files(Some(&second.commit), &second.commit)
        .expect("diff")
        .is_empty());

    assert!(repo.is_ancestor(&first.commit, &second.commit).expect("ancestry"));
    assert!(repo.is_ancestor(&second.commit, &second.commit).expect("equal"));
    assert!(!repo.is_ancestor(&second.commit, &first.commit).expect("reverse"));

    let unknown = "0123456789012345678901234567890123456789";
    assert!(matches!(
        repo.changed_files(None, unknown),
        Err(GitError::UnknownCommit(_))
    ));
    assert!(matches!(
        repo.is_ancestor(unknown, &first.commit),
        Err(GitError::UnknownCommit(_))
    ));
}

#[test]
fn executable_bit_and_symlinks_are_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wc = tmp.path().join("wc");
    write(&wc, "bin/run.sh", "#!/bin/sh\necho hi\n");
    write(&wc, "plain.txt", "plain\n");
    fs::set_permissions(wc.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
    symlink("plain.txt", wc.join("link.txt")).expect("symlink");
    symlink("../nowhere", wc.join("dangling")).expect("dangling symlink");
    symlink("bin", wc.join("bin-link")).expect("dir symlink");

    let repo = SnapshotRepo::open_or_init(&tmp.path().join("repo.git")).expect("init");
    let snap = repo.snapshot(&wc, &[], "modes", &dev()).expect("snapshot");
    let git = git2::Repository::open_bare(repo.path()).expect("open");
    let tree = git
        .find_tree(git2::Oid::from_str(&snap.tree).expect("oid"))
        .expect("tree");
    let mode = |path: &str| {
        tree.get_path(Path::new(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .filemode()
    };
    assert_eq!(mode("bin/run.sh"), 0o100755);
    assert_eq!(mode("plain.txt"), 0o100644);
    assert_eq!(mode("link.txt"), 0o120000);
    assert_eq!(mode("dangling"), 0o120000);
    assert_eq!(mode("bin-link"), 0o120000, "a symlink to a directory is not followed");
    let target = tree
        .get_path(Path::new("link.txt"))
        .and_then(|e| e.to_object(&git))
        .expect("blob");
    assert_eq!(target.as_blob().map(|b| b.content()), Some(&b"plain.txt"[..]));

    // Dropping the executable bit is a change.
    fs::set_permissions(wc.join("bin/run.sh"), fs::Permissions::from_mode(0o644)).expect("chmod");
    let next = repo.snapshot(&wc, &[], "chmod", &dev()).expect("snapshot");
    assert!(next.changed);
    assert_eq!(
        repo.changed_files(Some(&snap.commit), &next.commit).expect("diff"),
        vec![('M', "bin/run.sh".to_owned())]
    );
}

#[test]
fn a_bad_ignore_pattern_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = SnapshotRepo::open_or_init(&tmp.path().join("repo.git")).expect("init");
    let err = repo
        .snapshot(tmp.path(), &["!keep.log".to_owned()], "x", &dev())
        .expect_err("negation");
    assert!(err.to_string().contains("!keep.log"), "{err}");
}

#[test]
fn five_thousand_files_then_a_one_file_change() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wc = tmp.path().join("wc");
    for dir in 0..50 {
        for file in 0..100 {
            write(
                &wc,
                &format!("module{dir:02}/src/file{file:03}.java"),
                &format!("class F{dir}_{file} {{ /* {} */ }}\n", "x".repeat(200 + file)),
            );
        }
        // Subversion metadata that must not slow the snapshot down much.
        write(&wc, &format!("module{dir:02}/.svn/pristine"), "meta\n");
    }
    let repo = SnapshotRepo::open_or_init(&tmp.path().join("repo.git")).expect("init");

    let started = Instant::now();
    let first = repo.snapshot(&wc, &ignore(), "ticket #1: all", &dev()).expect("first");
    let cold = started.elapsed();
    assert!(first.changed);

    let started = Instant::now();
    let same = repo.snapshot(&wc, &ignore(), "ticket #2: same", &dev()).expect("same");
    let unchanged = started.elapsed();
    assert!(!same.changed);

    write(&wc, "module07/src/file042.java", "class Changed {}\n");
    let started = Instant::now();
    let second = repo
        .snapshot(&wc, &ignore(), "ticket #3: one file", &dev())
        .expect("second");
    let one_file = started.elapsed();
    assert!(second.changed);
    assert_eq!(
        repo.changed_files(Some(&first.commit), &second.commit).expect("diff"),
        vec![('M', "module07/src/file042.java".to_owned())]
    );
    // Every object reached the disk (the first snapshot as a pack, the
    // change as loose objects): a fresh handle reads all 5,000 files.
    let reopened = SnapshotRepo::open_or_init(repo.path()).expect("reopen");
    assert_eq!(
        reopened.changed_files(None, &second.commit).expect("all files").len(),
        5000
    );
    eprintln!(
        "snapshot of 5,000 files: first {:.0} ms, unchanged {:.0} ms, one-file change {:.0} ms",
        cold.as_secs_f64() * 1000.0,
        unchanged.as_secs_f64() * 1000.0,
        one_file.as_secs_f64() * 1000.0
    );
}
