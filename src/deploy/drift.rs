//! Drift: compare a host's live tree with the release it claims to run (an
//! exported tag), by content checksums, honouring the project's excludes —
//! the same `rsync -rlpn --checksum --delete -i` dry run as a release's
//! verify step, read as files changed, missing and added on the host.

use std::path::Path;

use super::remote::Host;
use super::rsync::exclude_args;
use super::settings::DeployMode;
use super::{Context, DeployError, DeployHost};

/// How a host's live tree differs from its release (paths relative to the tree).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drift {
    /// Files on the host whose content (or size) differs.
    pub changed: Vec<String>,
    /// Files of the release not on the host.
    pub missing: Vec<String>,
    /// Files on the host that the release does not have.
    pub added: Vec<String>,
}

impl Drift {
    /// Whether the host's tree is exactly the release.
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.added.is_empty()
    }

    /// Sorts rsync's itemized lines (`-i`) into the three lists; directory and
    /// attribute-only lines are left out.
    pub fn from_itemized(lines: &[String]) -> Self {
        let mut d = Drift::default();
        for line in lines {
            if let Some(path) = line.strip_prefix("*deleting") {
                let path = path.trim_start();
                if !path.ends_with('/') && !path.is_empty() {
                    d.added.push(path.to_owned());
                }
                continue;
            }
            let Some((flags, path)) = line.split_once(' ') else {
                continue;
            };
            let kind = flags.as_bytes().get(1).copied();
            if flags.len() != 11 || !flags.starts_with(['<', '>', 'c']) || !matches!(kind, Some(b'f' | b'L')) {
                continue;
            }
            if flags[2..].starts_with('+') {
                d.missing.push(path.to_owned());
            } else {
                d.changed.push(path.to_owned());
            }
        }
        d
    }
}

/// Compares the live tree on `host` (atomic: `<path>/current`; inplace:
/// `<path>`) with `release_dir`, the exported release it claims to run.
pub fn drift(ctx: &Context, host: &DeployHost, release_dir: &Path) -> Result<Drift, DeployError> {
    let h = Host::open_for_one(ctx, host);
    let sub = match ctx.settings.mode {
        DeployMode::Atomic => "current",
        DeployMode::Inplace => "",
    };
    let mut src = release_dir.as_os_str().to_owned();
    src.push("/");
    let mut excludes = exclude_args(ctx.excludes)?;
    // Slipway's own marker of an inplace tree is not drift.
    excludes.push("--exclude=/.slipway-release".into());
    let spec = h
        .rsync()?
        .args(["-rlpn", "--checksum", "--delete", "-i"])
        .args(excludes)
        .arg("--")
        .arg(src)
        .arg(host.target.rsync_dest(sub));
    let (_, lines) = h.run_rsync(spec)?;
    Ok(Drift::from_itemized(&lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_itemized_lines() {
        let lines: Vec<String> = [
            ".d..t...... ./",
            ">fcst...... index.html",
            "<f+++++++++ gone.txt",
            "cd+++++++++ newdir/",
            "*deleting   extra.txt",
            "*deleting   olddir/",
            ".f...p..... mode-only.txt",
            "cL+++++++++ link -> target",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let d = Drift::from_itemized(&lines);
        assert_eq!(d.changed, ["index.html"]);
        assert_eq!(d.missing, ["gone.txt", "link -> target"]);
        assert_eq!(d.added, ["extra.txt"]);
        assert!(!d.is_clean());
    }
}
