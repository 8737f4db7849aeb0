//! The spare clone: right after a switch, the host starts (detached, so the
//! release does not wait for it) a hard-link clone of the release it now
//! runs, `releases/.spare.<version>`. The next delta release from that
//! release renames the spare into its upload directory instead of cloning
//! the whole tree while the release waits; without a spare it clones as
//! before (`cp -al`).
//!
//! A spare is renamed into its name only once complete (while it is being
//! made it is `.spare.<version>.making-<pid>`), so a spare that exists is a
//! whole clone of its release; release contents never change (a version
//! is an immutable tag, a release directory is only ever replaced whole),
//! so a spare stays good for as long as it lives. Its hidden name keeps it
//! out of the release list, pruning and `current`. Making a spare removes
//! every other spare and half-made one. The host-only (excluded) files a
//! spare shares with its release are replaced by fresh copies when it
//! becomes an upload (`super::upload::Host::clone_commands`), as after a
//! `cp -al`; the changed files are written by rename, so a release's
//! inodes are never changed through its spare.

use super::remote::{valid_release_name, Host};
use super::DeployError;

/// The prefix of spare clones under `releases/` (`MAKE_SCRIPT` and
/// `TAKE_SCRIPT` spell it out).
pub(super) const SPARE_PREFIX: &str = ".spare.";

/// Under `$1/releases`: removes every spare but `.spare.$2` (and half-made
/// ones), then makes `.spare.$2` as a `cp -al` of `$2` unless it exists.
/// It first puts itself in the idle I/O class where `ionice` exists
/// (housekeeping: a release's own disk work goes first).
const MAKE_SCRIPT: &str = r#"ionice -c3 -p $$ >/dev/null 2>&1; cd "$1/releases" || exit 0; for s in .spare.*; do if [ -e "$s" ] && [ "$s" != ".spare.$2" ]; then rm -rf -- "$s"; fi; done; [ -d ".spare.$2" ] || { cp -al -- "$2" ".spare.$2.making-$$" && mv -T -- ".spare.$2.making-$$" ".spare.$2"; } || rm -rf -- ".spare.$2.making-$$""#;

/// Runs the script `$1` with the remaining arguments in the background, at
/// the lowest CPU priority (housekeeping: a release on the same host goes
/// first), its standard streams closed (an ssh session need not wait for
/// it), and returns at once with status 0.
const DETACH: &str = r#"s=$1; shift; nice -n 19 sh -c "$s" sh "$@" </dev/null >/dev/null 2>&1 &"#;

/// Makes `$1/$3` a hard-link clone of `$1/$2`: the spare of `$2` renamed,
/// or `cp -al` without one.
const TAKE_SCRIPT: &str = r#"mv -T -- "$1/.spare.$2" "$1/$3" 2>/dev/null || cp -al -- "$1/$2" "$1/$3""#;

/// `version` when it is a valid release name.
fn checked(version: &str) -> Result<&str, DeployError> {
    if valid_release_name(version) {
        Ok(version)
    } else {
        Err(DeployError::BadVersion(version.to_owned()))
    }
}

impl Host<'_, '_> {
    /// The command that starts making the spare of `releases/<version>` in
    /// the background and returns at once (ssh and local targets).
    pub(super) fn spare_command(&self, version: &str) -> Result<Vec<String>, DeployError> {
        Ok(["sh", "-c", DETACH, "sh", MAKE_SCRIPT, &self.dir(), checked(version)?]
            .map(str::to_owned)
            .to_vec())
    }

    /// The command that makes the spare of `releases/<version>` (and waits
    /// for it), at the lowest CPU priority: `nice -n 19 sh -c <script> sh
    /// <dir> <version>`.
    pub(super) fn spare_script_argv(&self, version: &str) -> Result<Vec<String>, DeployError> {
        Ok([
            "nice",
            "-n",
            "19",
            "sh",
            "-c",
            MAKE_SCRIPT,
            "sh",
            &self.dir(),
            checked(version)?,
        ]
        .map(str::to_owned)
        .to_vec())
    }

    /// The command that makes `releases/<upload>` a hard-link clone of
    /// `releases/<live>`: its spare renamed when there is one, else `cp -al`.
    pub(super) fn take_clone_command(&self, live: &str, upload: &str) -> Vec<String> {
        let releases = format!("{}/releases", self.dir());
        ["sh", "-c", TAKE_SCRIPT, "sh", &releases, live, upload]
            .map(str::to_owned)
            .to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    fn sh(script: &str, args: &[&str]) {
        let status = Command::new("sh")
            .args(["-c", script, "sh"])
            .args(args)
            .status()
            .expect("sh");
        assert!(status.success(), "{script}");
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The make script clones, replaces stale and half-made spares, and the
    /// take script prefers the spare (same inode: renamed) over copying.
    #[test]
    fn spares_are_made_replaced_and_taken() {
        use std::os::unix::fs::MetadataExt;
        let root = tempfile::tempdir().expect("tempdir");
        let releases = root.path().join("releases");
        std::fs::create_dir_all(releases.join("v2/sub")).expect("mkdir");
        std::fs::write(releases.join("v2/sub/a.txt"), "a").expect("write");
        std::fs::create_dir_all(releases.join(".spare.v1/x")).expect("stale spare");
        std::fs::create_dir_all(releases.join(".spare.v2.making-77")).expect("half-made spare");
        let dir = root.path().to_str().expect("utf-8");
        sh(MAKE_SCRIPT, &[dir, "v2"]);
        assert_eq!(names(&releases), [".spare.v2", "v2"]);
        let spare = releases.join(".spare.v2/sub/a.txt");
        let live = releases.join("v2/sub/a.txt");
        assert_eq!(
            std::fs::metadata(&spare).expect("spare").ino(),
            std::fs::metadata(&live).expect("live").ino()
        );
        let spare_ino = std::fs::metadata(releases.join(".spare.v2")).expect("spare").ino();
        let rel = releases.to_str().expect("utf-8");
        sh(TAKE_SCRIPT, &[rel, "v2", ".v3.upload-1"]);
        assert_eq!(
            std::fs::metadata(releases.join(".v3.upload-1")).expect("upload").ino(),
            spare_ino
        );
        // Without a spare: a copy.
        sh(TAKE_SCRIPT, &[rel, "v2", ".v3.upload-2"]);
        assert_eq!(
            std::fs::read_to_string(releases.join(".v3.upload-2/sub/a.txt")).expect("copy"),
            "a"
        );
        assert_eq!(names(&releases), [".v3.upload-1", ".v3.upload-2", "v2"]);
    }

    /// The detached launcher returns at once and the spare appears later.
    #[test]
    fn the_detached_spare_appears() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(root.path().join("releases/v5")).expect("mkdir");
        let dir = root.path().to_str().expect("utf-8");
        sh(DETACH, &[MAKE_SCRIPT, dir, "v5"]);
        let spare = root.path().join("releases/.spare.v5");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !spare.is_dir() {
            assert!(std::time::Instant::now() < deadline, "no spare");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
