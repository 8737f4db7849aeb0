//! The release directories of a host: listing them, removing old ones and
//! the leftovers of uploads that died (uploading: `super::upload`).

use super::mux::ScratchDir;
use super::quote::shell_join;
use super::remote::{natural_cmp, valid_release_name, Host};
use super::{DeployError, Target};

/// Marks an upload directory: `releases/.<version>.upload-<random>`.
pub(super) const UPLOAD_INFIX: &str = "upload-";

impl Host<'_, '_> {
    /// The command that removes the upload directories of earlier attempts
    /// that died (`releases/.*.upload-*`); the project lock means none is in
    /// use. Exit 1 with no `releases/` yet is fine: nothing to remove.
    pub(super) fn partial_uploads_removal(&self) -> Vec<String> {
        vec![
            "find".to_owned(),
            format!("{}/releases", self.dir()),
            "-mindepth".to_owned(),
            "1".to_owned(),
            "-maxdepth".to_owned(),
            "1".to_owned(),
            "-name".to_owned(),
            format!(".*.{UPLOAD_INFIX}*"),
            "-exec".to_owned(),
            "rm".to_owned(),
            "-rf".to_owned(),
            "--".to_owned(),
            "{}".to_owned(),
            "+".to_owned(),
        ]
    }

    /// The release directories on the host, naturally sorted (oldest first).
    pub fn releases(&self) -> Result<Vec<String>, DeployError> {
        let mut names: Vec<String> = match &self.host.target {
            Target::Daemon { .. } => {
                let spec = self
                    .rsync()?
                    .args(["--list-only", "--"])
                    .arg(self.host.target.rsync_dest("releases"));
                match self.run_rsync(spec) {
                    Ok((_, lines)) => lines
                        .iter()
                        .filter(|l| l.starts_with('d'))
                        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_owned))
                        .collect(),
                    Err(DeployError::Rsync { code: 23, .. }) => Vec::new(),
                    Err(e) => return Err(e),
                }
            }
            _ => {
                let argv = vec![
                    "ls".to_owned(),
                    "-1".to_owned(),
                    "--".to_owned(),
                    format!("{}/releases", self.dir()),
                ];
                let (code, stdout, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
                if self.ssh_failed(code) {
                    return Err(self.remote_failed(shell_join(&argv), code, &tail));
                }
                if code == Some(0) {
                    stdout
                } else {
                    Vec::new()
                }
            }
        };
        names.retain(|n| valid_release_name(n));
        names.sort_by(|a, b| natural_cmp(a, b));
        Ok(names)
    }

    /// Removes the upload directory `releases/<upload>` (ssh, local).
    pub fn remove_upload(&self, upload: &str) -> Result<(), DeployError> {
        let argv = vec![
            "rm".to_owned(),
            "-rf".to_owned(),
            "--".to_owned(),
            format!("{}/releases/{upload}", self.dir()),
        ];
        let (code, _, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
        if code != Some(0) {
            return Err(self.remote_failed(shell_join(&argv), code, &tail));
        }
        Ok(())
    }

    /// The command that removes `releases/<name>` for each of `names`
    /// (none for no names), ssh and local targets.
    pub(super) fn removal_command(&self, names: &[String]) -> Result<Option<Vec<String>>, DeployError> {
        if let Some(bad) = names.iter().find(|n| !valid_release_name(n)) {
            return Err(DeployError::BadVersion(bad.clone()));
        }
        if names.is_empty() {
            return Ok(None);
        }
        let mut argv = vec!["rm".to_owned(), "-rf".to_owned(), "--".to_owned()];
        argv.extend(names.iter().map(|name| format!("{}/releases/{name}", self.dir())));
        Ok(Some(argv))
    }

    /// Removes `releases/<name>` for each of `names`, in one round trip.
    pub fn remove_releases(&self, names: &[String]) -> Result<(), DeployError> {
        if let Some(bad) = names.iter().find(|n| !valid_release_name(n)) {
            return Err(DeployError::BadVersion(bad.clone()));
        }
        if names.is_empty() {
            return Ok(());
        }
        match &self.host.target {
            Target::Daemon { .. } => {
                let empty = ScratchDir::new("prune")?;
                let mut src = empty.path().as_os_str().to_owned();
                src.push("/");
                let spec = self
                    .rsync()?
                    .args(["-r", "--delete"])
                    .args(names.iter().map(|name| format!("--include=/{name}/***")))
                    .arg("--exclude=*")
                    .arg("--")
                    .arg(src)
                    .arg(self.host.target.rsync_dest("releases"));
                self.run_rsync(spec)?;
                Ok(())
            }
            _ => {
                let Some(argv) = self.removal_command(names)? else {
                    return Ok(());
                };
                let (code, _, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
                if code != Some(0) {
                    return Err(self.remote_failed(shell_join(&argv), code, &tail));
                }
                Ok(())
            }
        }
    }
}

/// The releases to remove after switching to `version`: all but the newest
/// `keep`, never the live one nor the one live before.
pub(super) fn prunable(kept: &[String], version: &str, previous: Option<&str>, keep: usize) -> Vec<String> {
    let mut all: Vec<String> = kept.iter().filter(|k| *k != version).cloned().collect();
    all.push(version.to_owned());
    all.sort_by(|a, b| natural_cmp(a, b));
    let cut = all.len().saturating_sub(keep);
    all.truncate(cut);
    all.retain(|name| name != version && Some(name.as_str()) != previous);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pruning_keeps_the_newest_the_live_and_the_previous() {
        let kept = names(&["v1", "v2", "v3", "v4"]);
        assert_eq!(prunable(&kept, "v5", Some("v4"), 2), names(&["v1", "v2", "v3"]));
        assert_eq!(prunable(&kept, "v5", Some("v1"), 2), names(&["v2", "v3"]));
        assert!(prunable(&kept, "v5", Some("v4"), 10).is_empty());
        // A rollback target older than the rest is live: never pruned.
        assert_eq!(prunable(&kept, "v2", Some("v4"), 1), names(&["v1", "v3"]));
    }
}
