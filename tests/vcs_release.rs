//! Release side of the snapshot repository: annotated tags and export of a
//! tagged tree (modes, symlinks), in temp dirs.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use slipway::vcs::{GitError, Signature, SnapshotRepo};

fn write(root: &Path, path: &str, content: &str) {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        fs::create_dir_all(parent).expect("dirs");
    }
    fs::write(full, content).expect("write");
}

fn lead() -> Signature {
    Signature {
        name: "Lea D".into(),
        email: "lead@example.com".into(),
    }
}

/// A repository with two snapshots; returns (tmp, repo, first, second).
fn two_snapshots() -> (tempfile::TempDir, SnapshotRepo, String, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let staging = tmp.path().join("staging");
    write(&staging, "index.html", "one");
    write(&staging, "bin/run.sh", "#!/bin/sh\necho run\n");
    fs::set_permissions(staging.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("index.html", staging.join("home.html")).unwrap();
    write(&staging, "deep/er/file.txt", "deep");
    write(&staging, "app.log", "ignored");
    let repo = SnapshotRepo::open_or_init(&tmp.path().join("shop.git")).expect("repo");
    let first = repo
        .snapshot(&staging, &["*.log".to_owned()], "ticket #1: first", &lead())
        .expect("snapshot")
        .commit;
    write(&staging, "index.html", "two");
    let second = repo
        .snapshot(&staging, &["*.log".to_owned()], "ticket #2: second", &lead())
        .expect("snapshot")
        .commit;
    (tmp, repo, first, second)
}

#[test]
fn tags_are_annotated_idempotent_and_never_moved() {
    let (_tmp, repo, first, second) = two_snapshots();
    repo.tag(
        &first,
        "v1",
        "Release v1\n\nticket #1 by dev, approved by lead",
        &lead(),
    )
    .expect("tag");
    // Same tag, same commit: fine (a re-run of the release job).
    repo.tag(&first, "v1", "again", &lead()).expect("idempotent");
    assert_eq!(
        repo.tag_target("v1").unwrap().map(|o| o.to_string()),
        Some(first.clone())
    );
    // Same tag, other commit: refused.
    let err = repo.tag(&second, "v1", "moved", &lead()).unwrap_err();
    assert!(matches!(err, GitError::TagExists { .. }), "{err}");
    assert_eq!(
        repo.tag_target("v1").unwrap().map(|o| o.to_string()),
        Some(first.clone())
    );
    assert_eq!(repo.tag_target("v9").unwrap(), None);
    // Annotated: a tag object with the message and tagger.
    let git = git2::Repository::open_bare(repo.path()).unwrap();
    let tag = git
        .find_reference("refs/tags/v1")
        .unwrap()
        .peel(git2::ObjectType::Tag)
        .unwrap()
        .into_tag()
        .unwrap();
    assert!(tag.message().unwrap().contains("approved by lead"));
    assert_eq!(tag.tagger().unwrap().name(), Some("Lea D"));
    for bad in ["", "a b", "..", "-v1", "v1.lock", "a~1"] {
        assert!(repo.tag(&first, bad, "x", &lead()).is_err(), "{bad:?} accepted");
    }
    assert!(matches!(
        repo.tag("0000000000000000000000000000000000000000", "v5", "x", &lead()),
        Err(GitError::UnknownCommit(_))
    ));
}

#[test]
fn export_writes_the_tagged_tree_with_modes_and_symlinks() {
    let (tmp, repo, first, second) = two_snapshots();
    repo.tag(&first, "v1", "Release v1", &lead()).unwrap();
    let out = tmp.path().join("export-v1");
    repo.export("v1", &out).expect("export by tag");
    assert_eq!(fs::read_to_string(out.join("index.html")).unwrap(), "one");
    assert_eq!(fs::read_to_string(out.join("deep/er/file.txt")).unwrap(), "deep");
    assert_eq!(fs::read_link(out.join("home.html")).unwrap(), Path::new("index.html"));
    let mode = |p: &str| fs::metadata(out.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("bin/run.sh"), 0o755);
    assert_eq!(mode("index.html"), 0o644);
    assert!(!out.join("app.log").exists(), "never snapshotted");

    let out2 = tmp.path().join("export-c2");
    repo.export(&second, &out2).expect("export by commit");
    assert_eq!(fs::read_to_string(out2.join("index.html")).unwrap(), "two");

    // Never into a directory that holds something.
    assert!(repo.export("v1", &out).is_err());
    assert!(repo.export("nope", &tmp.path().join("x")).is_err());
}

/// Every path below `root` with what it is: file content and mode, symlink
/// target, or directory mode.
fn describe_tree(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).expect("stat");
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {:o}", meta.permissions().mode() & 0o777)
            } else {
                format!(
                    "{:o} {}",
                    meta.permissions().mode() & 0o777,
                    fs::read_to_string(&path).unwrap()
                )
            };
            out.push((rel, what));
        }
    }
    out.sort();
    out
}

#[test]
fn exporting_the_changes_onto_a_hard_link_clone_equals_a_whole_export_and_leaves_the_base_alone() {
    let (tmp, repo, first, _) = two_snapshots();
    let staging = tmp.path().join("staging");
    // Every kind of change: modified, added, deleted (a whole directory),
    // file → directory, directory → file, mode, symlink target, file → symlink.
    write(&staging, "index.html", "three");
    write(&staging, "added/new.txt", "new");
    fs::remove_dir_all(staging.join("deep")).unwrap();
    write(&staging, "deep", "now a file");
    fs::remove_file(staging.join("bin/run.sh")).unwrap();
    write(&staging, "bin/run.sh/inner.txt", "file became a directory");
    fs::remove_file(staging.join("home.html")).unwrap();
    symlink("added/new.txt", staging.join("home.html")).unwrap();
    write(&staging, "plain.txt", "plain");
    fs::set_permissions(staging.join("plain.txt"), fs::Permissions::from_mode(0o755)).unwrap();
    let third = repo
        .snapshot(&staging, &["*.log".to_owned()], "ticket #3: third", &lead())
        .expect("snapshot")
        .commit;
    repo.tag(&first, "v1", "Release v1", &lead()).unwrap();
    repo.tag(&third, "v3", "Release v3", &lead()).unwrap();

    let base = tmp.path().join("v1");
    repo.export("v1", &base).unwrap();
    let before = describe_tree(&base);
    let clone = tmp.path().join("v3-from-v1");
    assert!(std::process::Command::new("cp")
        .arg("-al")
        .arg(&base)
        .arg(&clone)
        .status()
        .unwrap()
        .success());
    let changed = repo.export_changes("v1", "v3", &clone).expect("export changes");
    assert!(changed > 0);
    let whole = tmp.path().join("v3-whole");
    repo.export("v3", &whole).unwrap();
    assert_eq!(describe_tree(&clone), describe_tree(&whole));
    // The base export shares inodes with the clone but was never changed.
    assert_eq!(describe_tree(&base), before);
}
