//! A host's `current` symlink and hooks: which release is live, which are
//! kept, the atomic switch, and the hooks run around it.

use super::mux::ScratchDir;
use super::quote::shell_join;
use super::remote::{describe, natural_cmp, valid_release_name, Host, NEXT_LINK};
use super::{DeployError, Target};

/// Inplace mode: a symlink in the target's directory whose target names
/// the release the directory holds (a delta needs to know it).
const INPLACE_MARKER: &str = ".slipway-release";

/// Prints each entry of `$1/releases` and, before it, `releases/<entry>`
/// for the one `$1/current` resolves to (`-ef`: the same directory).
/// Shell builtins only: reading the host costs it no program start.
const SURVEY_SCRIPT: &str = r#"cd "$1/releases" 2>/dev/null || exit 0; for r in *; do if [ ! -e "$r" ]; then continue; fi; if [ "$1/current" -ef "$r" ]; then echo "releases/$r"; fi; echo "$r"; done"#;

/// How a command ended: its exit code (`None`: killed) and last error lines.
pub(crate) type Ended = (Option<i32>, Vec<String>);

/// What a host has.
#[derive(Debug, Clone, Default)]
pub(crate) struct Survey {
    /// The release `current` points at (`None`: no `current`).
    pub live: Option<String>,
    /// The kept releases, naturally sorted (oldest first).
    pub kept: Vec<String>,
}

impl Host<'_, '_> {
    /// The release `current` points at (`None`: no `current` yet).
    pub fn live(&self) -> Result<Option<String>, DeployError> {
        let link = match &self.host.target {
            Target::Daemon { .. } => {
                let spec = self
                    .rsync()?
                    .args(["--list-only", "-l", "--"])
                    .arg(self.host.target.rsync_dest("current").trim_end_matches('/'));
                match self.run_rsync(spec) {
                    Ok((_, lines)) => lines
                        .iter()
                        .find_map(|l| l.split_once(" current -> ").map(|(_, t)| t.trim().to_owned())),
                    // 23: partial transfer, here "no such file".
                    Err(DeployError::Rsync { code: 23, .. }) => None,
                    Err(e) => return Err(e),
                }
            }
            _ => {
                let current = format!("{}/current", self.dir());
                let argv = vec!["readlink".to_owned(), "--".to_owned(), current];
                let (code, stdout, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
                if self.ssh_failed(code) {
                    return Err(self.remote_failed(shell_join(&argv), code, &tail));
                }
                if code == Some(0) {
                    stdout.first().map(|s| s.trim().to_owned())
                } else {
                    None
                }
            }
        };
        Ok(link.map(|target| {
            let target = target.trim_end_matches('/');
            target.rsplit('/').next().unwrap_or(target).to_owned()
        }))
    }

    /// The live release and the kept ones (naturally sorted), in one round
    /// trip on ssh and local targets. With `clear_uploads` the same round
    /// trip removes the upload directories of earlier attempts that died
    /// (the project lock means none is in use). `then` (ssh and local
    /// targets only) runs last in the same round trip, whatever came
    /// before; its exit code and last error lines are returned (`None` when
    /// not run).
    pub fn survey(&self, clear_uploads: bool, then: &[Vec<String>]) -> Result<(Survey, Option<Ended>), DeployError> {
        if matches!(self.host.target, Target::Daemon { .. }) {
            let survey = Survey {
                live: self.live()?,
                kept: self.releases()?,
            };
            return Ok((survey, None));
        }
        let read = [["sh", "-c", SURVEY_SCRIPT, "sh", &self.dir()]
            .map(str::to_owned)
            .to_vec()];
        let mut groups: Vec<&[Vec<String>]> = vec![&read];
        let clear = [self.partial_uploads_removal()];
        if clear_uploads {
            groups.push(&clear);
        }
        if !then.is_empty() {
            groups.push(then);
        }
        let (code, stdout, tail) = self.groups(&groups, None, &[], false)?;
        if self.ssh_failed(code) {
            return Err(self.remote_failed("read current and releases".to_owned(), code, &tail));
        }
        // `releases/<version>` for the live one; bare names for all.
        let live = stdout.iter().find(|l| l.contains('/')).map(|l| {
            l.trim()
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        let mut kept: Vec<String> = stdout.into_iter().filter(|l| valid_release_name(l)).collect();
        kept.sort_by(|a, b| natural_cmp(a, b));
        Ok((Survey { live, kept }, (!then.is_empty()).then_some((code, tail))))
    }

    /// [`Self::survey`], then in the same round trip (ssh, local) point
    /// `current` at `version` when the host keeps it; the `bool` says
    /// whether it switched.
    pub fn survey_and_switch(&self, version: &str) -> Result<(Survey, bool), DeployError> {
        if !valid_release_name(version) {
            return Err(DeployError::BadVersion(version.to_owned()));
        }
        if matches!(self.host.target, Target::Daemon { .. }) {
            let (survey, _) = self.survey(false, &[])?;
            let kept = survey.kept.iter().any(|k| k == version);
            if kept {
                self.switch(version)?;
            }
            return Ok((survey, kept));
        }
        let mut cmds = vec![vec![
            "test".to_owned(),
            "-d".to_owned(),
            format!("{}/releases/{version}", self.dir()),
        ]];
        cmds.extend(self.switch_commands(version));
        let (survey, ended) = self.survey(false, &cmds)?;
        if !survey.kept.iter().any(|k| k == version) {
            return Ok((survey, false));
        }
        match ended {
            Some((Some(0), _)) => Ok((survey, true)),
            Some((code, tail)) => Err(self.remote_failed(format!("switch current to releases/{version}"), code, &tail)),
            None => Err(self.remote_failed(format!("switch current to releases/{version}"), None, &[])),
        }
    }

    /// Inplace mode: the release the target's directory holds, as its
    /// marker says, removing the marker in the same round trip, so an upload
    /// that dies leaves none and the next run sends everything (ssh, local).
    pub fn take_inplace_marker(&self) -> Result<Option<String>, DeployError> {
        let marker = format!("{}/{INPLACE_MARKER}", self.dir());
        let read = [vec!["readlink".to_owned(), "--".to_owned(), marker.clone()]];
        let remove = [vec!["rm".to_owned(), "-f".to_owned(), "--".to_owned(), marker]];
        let (code, stdout, tail) = self.groups(&[&read, &remove], None, &[], false)?;
        if code != Some(0) {
            return Err(self.remote_failed(format!("read and remove {INPLACE_MARKER}"), code, &tail));
        }
        Ok(stdout
            .first()
            .map(|l| l.trim().to_owned())
            .filter(|l| valid_release_name(l)))
    }

    /// Inplace mode: records that the target's directory holds `version`.
    pub fn write_inplace_marker(&self, version: &str) -> Result<(), DeployError> {
        if !valid_release_name(version) {
            return Err(DeployError::BadVersion(version.to_owned()));
        }
        let marker = format!("{}/{INPLACE_MARKER}", self.dir());
        let next = format!("{marker}.next");
        let cmds = [
            vec![
                "ln".into(),
                "-sfn".into(),
                "--".into(),
                version.to_owned(),
                next.clone(),
            ],
            vec!["mv".into(), "-T".into(), "--".into(), next, marker],
        ];
        let (code, _, tail) = self.commands(&cmds, None, &[])?;
        if code != Some(0) {
            return Err(self.remote_failed(format!("write {INPLACE_MARKER}"), code, &tail));
        }
        Ok(())
    }

    /// The commands that point `current` at `releases/<version>` (ssh, local).
    pub(super) fn switch_commands(&self, version: &str) -> [Vec<String>; 2] {
        let dir = self.dir();
        let next = format!("{dir}/{NEXT_LINK}");
        [
            vec![
                "ln".into(),
                "-sfn".into(),
                "--".into(),
                format!("releases/{version}"),
                next.clone(),
            ],
            vec!["mv".into(), "-T".into(), "--".into(), next, format!("{dir}/current")],
        ]
    }

    /// Points `current` at `releases/<version>` by renaming a fresh symlink
    /// over it (rename(2) is atomic: a reader sees the old or the new release).
    pub fn switch(&self, version: &str) -> Result<(), DeployError> {
        let link_target = format!("releases/{version}");
        match &self.host.target {
            Target::Daemon { .. } => {
                // rsync creates a changed symlink under a temporary name and
                // renames it into place. The module needs `munge symlinks = no`.
                let scratch = ScratchDir::new("switch")?;
                let link = scratch.path().join("current");
                std::os::unix::fs::symlink(&link_target, &link).map_err(|source| DeployError::Io {
                    what: format!("creating {}", link.display()),
                    source,
                })?;
                let spec = self
                    .rsync()?
                    .args(["-l", "--"])
                    .arg(&link)
                    .arg(self.host.target.rsync_dest(""));
                self.run_rsync(spec)?;
                Ok(())
            }
            _ => {
                let (code, _, tail) = self.commands(&self.switch_commands(version), None, &[])?;
                if code != Some(0) {
                    return Err(self.remote_failed(format!("switch current to releases/{version}"), code, &tail));
                }
                Ok(())
            }
        }
    }

    /// Runs the hooks in the target's directory with the context's
    /// environment plus `SLIPWAY_RELEASE_DIR`; the first failure is returned.
    pub fn hooks(&self, hooks: &[Vec<String>], release_dir: &str) -> Result<(), DeployError> {
        if hooks.is_empty() {
            return Ok(());
        }
        let mut env = self.ctx.env.to_vec();
        env.push(("SLIPWAY_RELEASE_DIR".into(), release_dir.to_owned()));
        for hook in hooks {
            let failed = |message: String| DeployError::Hook {
                host: self.name().to_owned(),
                command: hook.join(" "),
                message,
            };
            let dir = self.dir();
            let (code, _, tail) = self
                .commands_with(std::slice::from_ref(hook), Some(&dir), &env, true, true)
                .map_err(|e| failed(e.to_string()))?;
            if code != Some(0) {
                return Err(failed(describe(code, &tail)));
            }
        }
        Ok(())
    }
}
