//! Uploading a release into a host: a full upload into a fresh directory
//! (`--link-dest` to the live release, checksums decide), or a delta: a
//! hard-link clone of the live release plus only the files that changed;
//! an optional checksum verification; moving the upload into place.

use std::path::Path;

use super::delta::ChangeSet;
use super::mux::ScratchDir;
use super::releases::UPLOAD_INFIX;
use super::remote::{valid_release_name, Host};
use super::rsync::{exclude_args, only_excluded_args, whole_tree_args, Stats};
use super::{DeployError, Target};

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
            .rsync_bulk()?
            .args(whole_tree_args(link_dest, checksum, self.ctx.excludes)?);
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

    /// The commands that move the complete upload `releases/<upload>` into
    /// place as `releases/<version>` (replacing a not-live leftover of that
    /// name); none when the upload went there directly (rsync daemons).
    pub fn finish_commands(&self, upload: &str, version: &str) -> Result<Vec<Vec<String>>, DeployError> {
        if upload == version {
            return Ok(Vec::new());
        }
        if !valid_release_name(version) {
            return Err(DeployError::BadVersion(version.to_owned()));
        }
        let releases = format!("{}/releases", self.dir());
        Ok(vec![
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
        ])
    }

    /// Moves the upload into place ([`Self::finish_commands`]) and, with
    /// `switch`, points `current` at it, in one round trip on ssh and local
    /// targets, after removing the releases in `prune` (never the live one
    /// nor the new one; whether that removal worked does not count).
    pub fn finish_upload(
        &self,
        upload: &str,
        version: &str,
        switch: bool,
        prune: &[String],
    ) -> Result<(), DeployError> {
        let mut cmds = self.finish_commands(upload, version)?;
        if matches!(self.host.target, Target::Daemon { .. }) {
            if !cmds.is_empty() {
                self.commands(&cmds, None, &[])?;
            }
            if switch {
                self.switch(version)?;
            }
            return self.remove_releases(prune);
        }
        if switch {
            cmds.extend(self.switch_commands(version));
            // Returns at once with status 0, so the exit code stays the switch's.
            cmds.push(self.spare_command(version)?);
        }
        if cmds.is_empty() {
            return self.remove_releases(prune);
        }
        let removal = self.removal_command(prune)?;
        let mut groups: Vec<&[Vec<String>]> = Vec::new();
        if let Some(removal) = &removal {
            groups.push(std::slice::from_ref(removal));
        }
        groups.push(&cmds);
        let (code, _, tail) = self.groups(&groups, None, &[], false)?;
        if code != Some(0) {
            let what = if switch {
                format!("move the upload into releases/{version} and switch current to it")
            } else {
                format!("move the upload into releases/{version}")
            };
            return Err(self.remote_failed(what, code, &tail));
        }
        Ok(())
    }

    /// The commands that make `releases/<upload>` a hard-link clone of
    /// `releases/<live>` on the host (its spare renamed, else `cp -al`:
    /// `super::spare`), then give the excluded
    /// (host-only) files fresh copies of their own (`rsync -I` on the host
    /// writes each by rename), so nothing the new release's files or
    /// host-only files go through later shares an inode with the live
    /// release. ssh and local targets only.
    pub fn clone_commands(&self, live: &str, upload: &str) -> Result<Vec<Vec<String>>, DeployError> {
        let mut cmds = vec![self.take_clone_command(live, upload)];
        cmds.extend(self.copy_excluded_commands(live, upload, true)?);
        Ok(cmds)
    }

    /// The command (none without excludes) that copies the excluded files
    /// of `releases/<from>` into `releases/<to>` on the host itself; with
    /// `fresh`, files already there (hard links from a clone) are replaced
    /// by copies of their own.
    fn copy_excluded_commands(&self, from: &str, to: &str, fresh: bool) -> Result<Vec<Vec<String>>, DeployError> {
        let filters = only_excluded_args(self.ctx.excludes)?;
        if filters.is_empty() {
            return Ok(Vec::new());
        }
        let releases = format!("{}/releases", self.dir());
        let mut rsync = vec!["rsync".to_owned(), if fresh { "-rlpI" } else { "-rlp" }.to_owned()];
        rsync.extend(filters);
        rsync.extend([
            "--".to_owned(),
            format!("{releases}/{from}/"),
            format!("{releases}/{to}/"),
        ]);
        Ok(vec![rsync])
    }

    /// The command (none without excludes) that gives `releases/<to>`
    /// fresh copies of the excluded files of `releases/<from>` (see
    /// [`Self::clone_commands`]).
    pub(super) fn fresh_excluded_commands(&self, from: &str, to: &str) -> Result<Vec<Vec<String>>, DeployError> {
        self.copy_excluded_commands(from, to, true)
    }

    /// Runs [`Self::clone_commands`].
    pub fn clone_live(&self, live: &str, upload: &str) -> Result<(), DeployError> {
        let (code, _, tail) = self.commands(&self.clone_commands(live, upload)?, None, &[])?;
        if code != Some(0) {
            return Err(self.remote_failed(format!("clone releases/{live}"), code, &tail));
        }
        Ok(())
    }

    /// Sends the files of `changes` from `source` into `sub` below the
    /// target's directory (the clone `releases/<upload>`, or `""` in
    /// inplace mode): each listed file is written anew and renamed into
    /// place (`-I`: never an in-place change of an inode the live release
    /// shares), a listed file `source` lacks is deleted
    /// (`--delete-missing-args`), excluded files are left alone. Directories
    /// the new release no longer has are emptied but for host-only files,
    /// and removed when that leaves them empty.
    pub fn upload_changes(&self, source: &Path, sub: &str, changes: &ChangeSet) -> Result<Stats, DeployError> {
        let transfer = changes.transfer(source);
        let dest = self.host.target.rsync_dest(sub);
        let scratch = ScratchDir::new("delta")?;
        let mut stats = Stats::default();
        if !transfer.files_from.is_empty() {
            let list = scratch.path().join("files");
            std::fs::write(&list, &transfer.files_from).map_err(|source| DeployError::Io {
                what: format!("writing {}", list.display()),
                source,
            })?;
            let mut src = source.as_os_str().to_owned();
            src.push("/");
            let spec = self
                .rsync()?
                .args(["-lpI", "--from0", "--delete-missing-args", "--stats"])
                .arg(format!("--files-from={}", list.display()))
                .args(exclude_args(self.ctx.excludes)?)
                .arg("--")
                .arg(src)
                .arg(&dest);
            stats = self.run_rsync(spec)?.0;
        }
        if !transfer.vanished.is_empty() {
            // An empty source with `--delete`, limited to the vanished
            // directories: what the full upload would remove there.
            let empty = scratch.path().join("empty");
            std::fs::create_dir(&empty).map_err(|source| DeployError::Io {
                what: format!("creating {}", empty.display()),
                source,
            })?;
            let mut src = empty.into_os_string();
            src.push("/");
            let spec = self
                .rsync()?
                .args(["-r", "--delete"])
                .args(exclude_args(self.ctx.excludes)?)
                .args(transfer.vanished_filters())
                .arg("--")
                .arg(src)
                .arg(&dest);
            self.run_rsync(spec)?;
        }
        Ok(stats)
    }

    /// Compares `sub` below the target's directory with `source` by
    /// checksum (a dry run; the excludes are left out) and fails on any difference.
    pub fn verify(&self, source: &Path, sub: &str) -> Result<(), DeployError> {
        let mut src = source.as_os_str().to_owned();
        src.push("/");
        let spec = self
            .rsync()?
            .args(["-rlpn", "--checksum", "--delete", "-i"])
            .args(exclude_args(self.ctx.excludes)?)
            .arg("--")
            .arg(src)
            .arg(self.host.target.rsync_dest(sub));
        let (_, lines) = self.run_rsync(spec)?;
        self.verified(&lines)
    }

    /// The verdict on a checksum dry run's itemised lines: none is a pass;
    /// any is a [`DeployError::Verify`] naming the first few.
    pub(super) fn verified(&self, lines: &[String]) -> Result<(), DeployError> {
        let differences: Vec<&String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
        if differences.is_empty() {
            return Ok(());
        }
        Err(DeployError::Verify {
            host: self.name().to_owned(),
            count: differences.len(),
            first: differences
                .iter()
                .take(5)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" / "),
        })
    }

    /// Copies the excluded (host-only) files of `releases/<from>` into
    /// `releases/<to>`, through a local scratch directory (works for every
    /// kind of target). Files already in `<to>` are kept.
    pub fn carry_excluded(&self, from: &str, to: &str) -> Result<Stats, DeployError> {
        let filters = only_excluded_args(self.ctx.excludes)?;
        if filters.is_empty() {
            return Ok(Stats::default());
        }
        if !matches!(self.host.target, Target::Daemon { .. }) {
            // On the host itself: nothing crosses the wire.
            let (code, _, tail) = self.commands(&self.copy_excluded_commands(from, to, false)?, None, &[])?;
            if code != Some(0) {
                return Err(self.remote_failed(format!("copy the host-only files of releases/{from}"), code, &tail));
            }
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
}
