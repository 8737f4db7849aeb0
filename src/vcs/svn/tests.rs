//! Unit tests of the parsing and error sorting.

use crate::domain::SvnPath;

use super::client::Failure;
use super::parse::*;
use super::*;

#[test]
fn credentials_debug_hides_the_password() {
    let creds = SvnCredentials {
        username: "alice".into(),
        password: "s3cret".into(),
    };
    let shown = format!("{creds:?}");
    assert!(shown.contains("alice") && !shown.contains("s3cret"), "{shown}");
    let client = SvnClient::new("/tmp/cfg".into(), Some(creds), Duration::from_secs(5));
    assert!(!format!("{client:?}").contains("s3cret"));
    let spec = client.command("info", true);
    assert!(spec.get_args().iter().all(|a| a != "s3cret"));
    assert!(!spec.display_command().contains("s3cret"));
}

#[test]
fn joins_urls_with_percent_encoding() {
    let path = SvnPath::parse("资源/a b@1#x.txt").expect("valid");
    assert_eq!(
        url_join("svn://h/repo/", &path),
        "svn://h/repo/%E8%B5%84%E6%BA%90/a%20b%401%23x.txt"
    );
}

#[test]
fn parses_revision_lines() {
    assert_eq!(parse_revision_line("At revision 12."), Some(12));
    assert_eq!(parse_revision_line("Updated to revision 3."), Some(3));
    assert_eq!(parse_revision_line("Checked out revision 1."), Some(1));
    assert_eq!(parse_revision_line("U    a/b"), None);
}

#[test]
fn classifies_errors() {
    let failure = Failure {
        subcommand: "update",
        target: "/srv/wc",
        path: Some("src/x"),
        revision: Some(5),
    };
    let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let auth = classify(
        &lines(&[
            "svn: E170013: Unable to connect to a repository at URL 'svn://127.0.0.1:3690/repo'",
            "svn: E170001: Authentication error from server: Password incorrect",
        ]),
        &failure,
        Some(1),
    );
    assert_eq!(
        auth.to_string(),
        "svn: authentication failed for svn://127.0.0.1:3690/repo (check the project's SVN credentials)"
    );
    let missing = classify(
        &lines(&["svn: warning: W160013: Path '/x' not found"]),
        &failure,
        Some(1),
    );
    assert_eq!(
        missing.to_string(),
        "path `src/x` does not exist in the repository at r5"
    );
    let locked = classify(
        &lines(&["svn: E155004: Working copy '/srv/wc' locked."]),
        &failure,
        Some(1),
    );
    assert!(matches!(locked, SvnError::Locked(_)));
    let other = classify(&lines(&["svn: E000111: Can't connect to host"]), &failure, Some(1));
    assert_eq!(
        other.to_string(),
        "svn update of /srv/wc failed (exit 1): E000111: Can't connect to host"
    );
}

#[test]
fn parses_log_xml() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<log>
<logentry revision="2">
<author>bob</author>
<date>2024-05-01T10:00:00.123456Z</date>
<paths>
<path action="M" kind="file" prop-mods="false" text-mods="true">/trunk/a.txt</path>
<path action="A" kind="dir">/trunk/new</path>
</paths>
<msg>fix &amp; ship</msg>
</logentry>
<logentry revision="3">
<paths><path action="D">/trunk/old</path></paths>
<msg></msg>
</logentry>
</log>"#;
    let entries = parse_log(xml).expect("parses");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].revision, 2);
    assert_eq!(entries[0].author, "bob");
    assert_eq!(entries[0].message, "fix & ship");
    assert_eq!(entries[0].paths[1].path, "/trunk/new");
    assert!(entries[0].date.is_some());
    assert_eq!(entries[1].author, "");
    assert_eq!(entries[1].paths[0].action, "D");
}
