//! The release directories of a host: uploading a release into a fresh
//! directory of its own and moving it into place, carrying the host-only
//! files over, listing and removing releases.

use std::path::Path;

use super::mux::ScratchDir;
use super::quote::shell_join;
use super::remote::{natural_cmp, valid_release_name, Host};
use super::rsync::{exclude_args, only_excluded_args, Stats};
use super::{DeployError, Target};

/// Marks an upload directory: `releases/.<version>.upload-<random>`.
const UPLOAD_INFIX: &str = "upload-";

impl Host<'_, '_> {
    /// Uploads `source` into `sub` below the target's directory (created with
    /// its parents): checksums decide what changed, `--delete` removes what
    /// the tree no longer has, the excludes are neither sent, overwritten nor
    /// deleted; `link_dest` (relative to the destination) hard-links unchanged files.
    /// Without `link_dest` on an atomic upload there is nothing to compare
    /// with, so checksums are skipped unless `checksum` asks for them.
    pub fn upload(
        &self,
        source: &Path,
        sub: &str,
        link_dest: Option<&str>,
        checksum: bool,
    ) -> Result<Stats, DeployError> {
        let mut spec = self
            .rsync()?
            .args(["-rlp", "--delete", "--mkpath", "--stats"])
            .args(exclude_args(self.ctx.excludes)?);
        if checksum || link_dest.is_some() {
            // Exported trees carry fresh mtimes: only content says what changed.
            spec = spec.arg("--checksum");
        }
        if let Some(link) = link_dest {
            spec = spec.arg(format!("--link-dest={link}"));
        }
        let mut src = source.as_os_str().to_owned();
        src.push("/");
        spec = spec.arg("--").arg(src).arg(self.host.target.rsync_dest(sub));
        Ok(self.run_rsync(spec)?.0)
    }

    /// A fresh name under `releases/` for this attempt's upload of `version`
    /// (`.<version>.upload-<random>`: hidden, never listed as a release,
    /// never shared with a writer left over from an attempt that died).
    /// rsync daemon targets cannot rename, so there it is `version` itself.
    pub fn upload_name(&self, version: &str) -> String {
        if matches!(self.host.target, Target::Daemon { .. }) {
            return version.to_owned();
        }
        let mut bytes = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(".{version}.{UPLOAD_INFIX}{token}")
    }

    /// Removes the upload directories of earlier attempts that died
    /// (`releases/.*.upload-*`); the project lock means none is in use.
    pub fn clear_partial_uploads(&self) -> Result<(), DeployError> {
        if matches!(self.host.target, Target::Daemon { .. }) {
            return Ok(());
        }
        let argv = vec![
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
        ];
        let (code, _, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
        if self.ssh_failed(code) {
            return Err(self.remote_failed("remove partial uploads".to_owned(), code, &tail));
        }
        // Exit 1 with no `releases/` yet is fine: nothing to remove.
        Ok(())
    }

    /// Moves the complete upload `releases/<upload>` into place as
    /// `releases/<version>` (replacing a not-live leftover of that name).
    pub fn finish_upload(&self, upload: &str, version: &str) -> Result<(), DeployError> {
        if upload == version {
            return Ok(());
        }
        if !valid_release_name(version) {
            return Err(DeployError::BadVersion(version.to_owned()));
        }
        let releases = format!("{}/releases", self.dir());
        let cmds = vec![
            vec![
                "rm".to_owned(),
                "-rf".to_owned(),
                "--".to_owned(),
                format!("{releases}/{version}"),
            ],
            vec![
                "mv".to_owned(),
                "-T".to_owned(),
                "--".to_owned(),
                format!("{releases}/{upload}"),
                format!("{releases}/{version}"),
            ],
        ];
        let (code, _, tail) = self.commands(&cmds, None, &[])?;
        if code != Some(0) {
            return Err(self.remote_failed(format!("move the upload into releases/{version}"), code, &tail));
        }
        Ok(())
    }

    /// Copies the excluded (host-only) files of `releases/<from>` into
    /// `releases/<to>`, through a local scratch directory (works for every
    /// kind of target). Files already in `<to>` are kept.
    pub fn carry_excluded(&self, from: &str, to: &str) -> Result<Stats, DeployError> {
        let filters = only_excluded_args(self.ctx.excludes)?;
        if filters.is_empty() {
            return Ok(Stats::default());
        }
        let scratch = ScratchDir::new("carry")?;
        let pull = self
            .rsync()?
            .args(["-rlp"])
            .args(&filters)
            .arg("--")
            .arg(self.host.target.rsync_dest(&format!("releases/{from}")))
            .arg(scratch.path());
        self.run_rsync(pull)?;
        let empty = std::fs::read_dir(scratch.path())
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        if empty {
            return Ok(Stats::default());
        }
        let mut src = scratch.path().as_os_str().to_owned();
        src.push("/");
        let push = self
            .rsync()?
            .args(["-rlp", "--ignore-existing", "--mkpath", "--stats", "--"])
            .arg(src)
            .arg(self.host.target.rsync_dest(&format!("releases/{to}")));
        Ok(self.run_rsync(push)?.0)
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

    /// Removes `releases/<name>`.
    pub fn remove_release(&self, name: &str) -> Result<(), DeployError> {
        if !valid_release_name(name) {
            return Err(DeployError::BadVersion(name.to_owned()));
        }
        match &self.host.target {
            Target::Daemon { .. } => {
                let empty = ScratchDir::new("prune")?;
                let mut src = empty.path().as_os_str().to_owned();
                src.push("/");
                let spec = self
                    .rsync()?
                    .args(["-r", "--delete"])
                    .arg(format!("--include=/{name}/***"))
                    .arg("--exclude=*")
                    .arg("--")
                    .arg(src)
                    .arg(self.host.target.rsync_dest("releases"));
                self.run_rsync(spec)?;
                Ok(())
            }
            _ => {
                let argv = vec![
                    "rm".to_owned(),
                    "-rf".to_owned(),
                    "--".to_owned(),
                    format!("{}/releases/{name}", self.dir()),
                ];
                let (code, _, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
                if code != Some(0) {
                    return Err(self.remote_failed(shell_join(&argv), code, &tail));
                }
                Ok(())
            }
        }
    }
}
