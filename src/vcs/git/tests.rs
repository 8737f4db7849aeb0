//! Unit tests of the ignore rules and signature cleaning.

use super::repo::clean;
use super::*;

fn rules(patterns: &[&str]) -> IgnoreRules {
    IgnoreRules::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).expect("valid patterns")
}

fn ignored(rules: &IgnoreRules, path: &str, is_dir: bool) -> bool {
    let path = Path::new(path);
    let name = path.file_name().map(Path::new).unwrap_or(path);
    rules.is_ignored(path, name, is_dir)
}

#[test]
fn ignore_rules_follow_gitignore() {
    let r = rules(&["*.log", "logs/", "WEB-INF/jdbc.properties", "# comment", "", "/build"]);
    assert!(ignored(&r, "a.log", false));
    assert!(ignored(&r, "deep/er/a.log", false));
    assert!(!ignored(&r, "a.log.txt", false));
    assert!(ignored(&r, "logs", true));
    assert!(ignored(&r, "app/logs", true));
    assert!(!ignored(&r, "logs", false), "dir-only pattern must not match a file");
    assert!(ignored(&r, "WEB-INF/jdbc.properties", false));
    assert!(!ignored(&r, "x/WEB-INF/jdbc.properties", false), "anchored to the root");
    assert!(ignored(&r, "build", true));
    assert!(!ignored(&r, "src/build", true));
}

#[test]
fn refuses_negation_and_bad_globs() {
    assert!(matches!(
        IgnoreRules::new(&["!keep.log".to_owned()]),
        Err(GitError::BadIgnore { .. })
    ));
    assert!(matches!(
        IgnoreRules::new(&["a[".to_owned()]),
        Err(GitError::BadIgnore { .. })
    ));
}

#[test]
fn cleans_signatures() {
    assert_eq!(clean("Bob <evil>\n", "x"), "Bob evil");
    assert_eq!(clean("<>", "fallback"), "fallback");
}
