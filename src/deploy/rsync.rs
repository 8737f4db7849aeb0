//! rsync arguments: filters from the project's exclude list, the ssh `-e`
//! command, and parsing of `--stats`.

use super::settings::safe_e_word;
use super::{Context, DeployError};

/// The recursion and attribute flags of a whole-tree upload: `-rlp`, and
/// with `t` (modification times kept, as `rsync -a` keeps them) unless the
/// upload is `compared` with what the destination holds (`--link-dest`,
/// `--checksum`): a fresh release directory, or a re-run into a partial
/// one of the same export.
///
/// Kept times give every host of a release the same times (one `ETag` per
/// file across a fleet). They were also measured cheaper: on ext4 right
/// after a mass deletion (a previous tree removed), where the kernel scans
/// past freed inodes to place each new file, rsync without `-t` (or with
/// `--omit-dir-times`) used twice the CPU of `rsync -a` for the same tree;
/// with `-t` the files were placed away from the freed inodes (README,
/// "Benchmarks"). A compared upload leaves times out, because the exported
/// tree's fresh times would stop rsync from hard-linking unchanged files.
pub fn whole_tree_flags(compared: bool) -> &'static str {
    if compared {
        "-rlp"
    } else {
        "-rlpt"
    }
}

/// rsync's options for a whole tree into a release directory, direct or
/// from a relay: [`whole_tree_flags`], deletions, the project's excludes,
/// and against `link_dest` (or with `checksum`) a comparison by content.
pub fn whole_tree_args(
    link_dest: Option<&str>,
    checksum: bool,
    excludes: &[String],
) -> Result<Vec<String>, DeployError> {
    // Exported trees carry fresh mtimes: only content says what changed.
    let compared = checksum || link_dest.is_some();
    let mut args: Vec<String> = [whole_tree_flags(compared), "--delete", "--mkpath", "--stats"]
        .map(str::to_owned)
        .to_vec();
    args.extend(exclude_args(excludes)?);
    if compared {
        args.push("--checksum".to_owned());
    }
    if let Some(link) = link_dest {
        args.push(format!("--link-dest={link}"));
    }
    Ok(args)
}

/// Transfer figures from `rsync --stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// "Total bytes sent".
    pub bytes_sent: u64,
    /// "Number of regular files transferred".
    pub files_transferred: u64,
}

impl Stats {
    /// Adds the figures of one `--stats` line, if it is one of ours.
    pub fn add_line(&mut self, line: &str) {
        let number = |rest: &str| -> u64 {
            rest.split_whitespace()
                .next()
                .unwrap_or("0")
                .replace([',', '.'], "")
                .parse()
                .unwrap_or(0)
        };
        if let Some(rest) = line.strip_prefix("Total bytes sent:") {
            self.bytes_sent += number(rest);
        } else if let Some(rest) = line.strip_prefix("Number of regular files transferred:") {
            self.files_transferred += number(rest);
        }
    }

    /// Adds another run's figures.
    pub fn add(&mut self, other: Stats) {
        self.bytes_sent += other.bytes_sent;
        self.files_transferred += other.files_transferred;
    }
}

/// One exclude pattern (gitignore-like, as for snapshots: a pattern with an
/// inner `/` is anchored at the root) as an rsync pattern, or `None` for a
/// blank line or comment.
fn rsync_pattern(raw: &str) -> Result<Option<(String, bool)>, DeployError> {
    let p = raw.trim();
    if p.is_empty() || p.starts_with('#') {
        return Ok(None);
    }
    if p.starts_with('!') || p.starts_with('-') || p.chars().any(char::is_control) {
        return Err(DeployError::Settings(format!(
            "exclude `{}` is not supported (no `!`, no leading `-`, no control characters)",
            raw.escape_debug()
        )));
    }
    let dir_only = p.ends_with('/');
    let core = p.trim_end_matches('/');
    let anchored = core.contains('/');
    let core = core.trim_start_matches('/');
    if core.is_empty() {
        return Err(DeployError::Settings(format!("exclude `{raw}` matches nothing")));
    }
    let base = if anchored { format!("/{core}") } else { core.to_owned() };
    Ok(Some((base, dir_only)))
}

/// `--exclude=…` arguments protecting the excluded files on the receiver
/// (neither overwritten nor deleted: no `--delete-excluded`).
pub fn exclude_args(excludes: &[String]) -> Result<Vec<String>, DeployError> {
    let mut args = Vec::new();
    for raw in excludes {
        if let Some((base, dir_only)) = rsync_pattern(raw)? {
            args.push(format!("--exclude={base}{}", if dir_only { "/" } else { "" }));
        }
    }
    Ok(args)
}

/// Filter arguments that select only the excluded files (and the directories
/// leading to them), to carry them from the live release into a new one.
/// Empty when there are no excludes.
pub fn only_excluded_args(excludes: &[String]) -> Result<Vec<String>, DeployError> {
    let mut args = vec!["--include=*/".to_owned()];
    let mut any = false;
    for raw in excludes {
        if let Some((base, dir_only)) = rsync_pattern(raw)? {
            any = true;
            if !dir_only {
                args.push(format!("--include={base}"));
            }
            args.push(format!("--include={base}/***"));
        }
    }
    if !any {
        return Ok(Vec::new());
    }
    args.push("--exclude=*".to_owned());
    args.push("--prune-empty-dirs".to_owned());
    Ok(args)
}

/// The ssh options every connection uses: batch mode, the pinned
/// known_hosts file with strict checking, the connect timeout, then the
/// project's port, identity and `-o` options.
pub fn ssh_options(ctx: &Context) -> Result<Vec<String>, DeployError> {
    ssh_options_for(&ctx.settings.ssh, ctx.known_hosts)
}

/// [`ssh_options`] from the ssh settings and the known_hosts file alone
/// (the admin's "Test connection" uses the same options as a release).
pub fn ssh_options_for(s: &super::SshSettings, known_hosts: &std::path::Path) -> Result<Vec<String>, DeployError> {
    let kh = known_hosts.to_string_lossy();
    if !safe_e_word(&kh) {
        return Err(DeployError::Settings(format!(
            "the known_hosts path `{}` must not contain spaces or quotes",
            kh.escape_debug()
        )));
    }
    let mut args = vec![
        "-o".to_owned(),
        "BatchMode=yes".to_owned(),
        "-o".to_owned(),
        "StrictHostKeyChecking=yes".to_owned(),
        "-o".to_owned(),
        format!("UserKnownHostsFile={kh}"),
        "-o".to_owned(),
        "GlobalKnownHostsFile=/dev/null".to_owned(),
        "-o".to_owned(),
        format!("ConnectTimeout={}", s.connect_timeout_secs),
    ];
    if let Some(port) = s.port {
        args.push("-p".to_owned());
        args.push(port.to_string());
    }
    if let Some(identity) = &s.identity_file {
        args.push("-i".to_owned());
        args.push(identity.to_string_lossy().into_owned());
        args.push("-o".to_owned());
        args.push("IdentitiesOnly=yes".to_owned());
    }
    for option in &s.options {
        args.push("-o".to_owned());
        args.push(option.clone());
    }
    Ok(args)
}

/// rsync's `-e` value: `ssh` and `words` (from [`ssh_options`]),
/// space-separated (rsync splits it on spaces; every word is checked to hold none).
pub fn rsh(words: &[String]) -> Result<String, DeployError> {
    if let Some(bad) = words.iter().find(|w| !safe_e_word(w)) {
        return Err(DeployError::Settings(format!(
            "ssh option `{}` cannot be passed to rsync",
            bad.escape_debug()
        )));
    }
    Ok(format!("ssh {}", words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_stats() {
        let mut s = Stats::default();
        for line in [
            "Number of files: 12 (reg: 10, dir: 2)",
            "Number of regular files transferred: 1,234",
            "Total bytes sent: 98,765",
            "Total bytes received: 35",
        ] {
            s.add_line(line);
        }
        assert_eq!(
            s,
            Stats {
                bytes_sent: 98765,
                files_transferred: 1234
            }
        );
    }

    #[test]
    fn translates_excludes() {
        assert_eq!(
            exclude_args(&v(&["*.log", "WEB-INF/jdbc.properties", "logs/", "/build", "# c", ""])).unwrap(),
            v(&[
                "--exclude=*.log",
                "--exclude=/WEB-INF/jdbc.properties",
                "--exclude=logs/",
                "--exclude=/build"
            ])
        );
        assert_eq!(
            only_excluded_args(&v(&["logs/", "a/b.conf"])).unwrap(),
            v(&[
                "--include=*/",
                "--include=logs/***",
                "--include=/a/b.conf",
                "--include=/a/b.conf/***",
                "--exclude=*",
                "--prune-empty-dirs"
            ])
        );
        assert!(only_excluded_args(&[]).unwrap().is_empty());
        assert!(exclude_args(&v(&["!x"])).is_err());
    }
}
