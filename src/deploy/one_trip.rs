//! A release over ssh in one session per host, for a delta (the changed
//! files into a clone of the live release) and for a host's first release
//! (the whole tree; no `current` yet): the rsync that sends the files carries, through `--rsync-path`, the commands that
//! must run before it on the host (check `current`, clear dead uploads,
//! clone the live release, or rename its spare: `super::spare`) and after
//! it (remove the directories the new release no longer has, move the
//! upload into place, switch `current`, start the next spare, prune), so the whole release costs the host one
//! connection and one login shell, like a bare `rsync`.
//!
//! The remote command is a shell function wrapped around the rsync server:
//!
//! ```text
//! slipway_trip() { {clear;} >&2 ; {check && clone;} >&2 && echo READY >&2
//!                  && rsync "$@" && {move && switch;} >&2 && echo SWITCHED >&2
//!                  && { {spare ; prune;} >&2 ; true ; } ; } ; slipway_trip
//! ```
//!
//! (rsync appends its `--server …` arguments after `slipway_trip`). Every
//! value reaches it quoted ([`shell_join`]); the commands write to stderr
//! only, stdout being rsync's protocol. The two marker lines say how far the
//! host got: without `READY` nothing changed on the host and the caller
//! takes the ordinary path; with `READY` but without `SWITCHED` the host
//! still runs its old release.

use std::path::Path;

use super::delta::{ChangeSet, Delta, Transfer};
use super::mux::ScratchDir;
use super::quote::shell_join;
use super::releases::UPLOAD_INFIX;
use super::remote::{describe, valid_release_name, Host};
use super::rsync::{exclude_args, whole_tree_flags, Stats};
use super::spare::SPARE_PREFIX;
use super::{DeployError, Target};
use crate::process::{run, OutputLine, ProcessError};

/// Printed (to stderr) once the host is ready for the changed files.
const READY: &str = "slipway-trip: ready";
/// Printed (to stderr) once `current` points at the new release.
const SWITCHED: &str = "slipway-trip: switched";
/// Printed (to stderr) when `current` is not the release the job expected.
const MOVED: &str = "slipway-trip: current";

/// Removes the releases under `$1/releases` beyond the newest `$2`, never
/// `$3` (the one live before) nor `$4` (the new one). Names as
/// [`valid_release_name`] allows; `sort -V` orders `v9` before `v10`. With
/// no more than `$2` entries (a glob count: no program runs) there is
/// nothing to do.
pub(super) const PRUNE_SCRIPT: &str = r#"cd "$1/releases" || exit 0; n=0; for r in *; do n=$((n+1)); done; [ "$n" -gt "$2" ] || exit 0; ls -1 | grep -xE '[A-Za-z0-9][A-Za-z0-9._-]{0,199}' | sort -V | head -n "-$2" | grep -vxF -e "$3" -e "$4" | xargs -r -d '\n' rm -rf --"#;

/// Whether a release to `h` may go in one session at all: an ssh target
/// reached directly, with no checksum verification or before-switch hooks
/// to run between the upload and the switch.
fn may_go_in_one_trip(h: &Host) -> bool {
    let s = h.ctx.settings;
    matches!(h.host.target, Target::Ssh { .. }) && h.host.via.is_none() && !s.verify && s.hooks.before_switch.is_empty()
}

/// Whether this host's release can go in one session as its first: no
/// release of it is recorded, so the host is expected to have no `current`
/// (the trip checks; a host that has one is read first, as usual) and gets
/// the whole tree.
pub(super) fn first(h: &Host, delta: Option<&Delta>) -> bool {
    may_go_in_one_trip(h) && delta.is_none_or(|d| !d.recorded.contains_key(&h.host.name))
}

/// The live release and the changes from it when this host's release can
/// go in one session ([`may_go_in_one_trip`]) as a delta: the job has the
/// changes from its recorded live release, and at least one file to send.
pub(super) fn plan<'d>(
    h: &Host,
    version: &str,
    source: &Path,
    delta: Option<&'d Delta>,
) -> Option<(&'d str, &'d ChangeSet, Transfer)> {
    if !may_go_in_one_trip(h) {
        return None;
    }
    let delta = delta?;
    let live = delta.recorded.get(&h.host.name)?;
    if live == version || !valid_release_name(live) {
        return None;
    }
    let changes = delta.for_host(&h.host.name, live).ok()?;
    let transfer = changes.transfer(source);
    (!transfer.files_from.is_empty()).then_some((live.as_str(), changes, transfer))
}

/// What one host's release in one session is about.
pub(super) struct Trip<'a> {
    /// The exported release.
    pub source: &'a Path,
    /// The release the job expects `current` to point at (`None`: the
    /// host's first, with no `current` yet).
    pub live: Option<&'a str>,
    /// The hidden upload directory's name under `releases/`.
    pub upload: &'a str,
    /// The new release.
    pub version: &'a str,
    /// The files that change from `live` to `version` (`None`: the whole tree).
    pub transfer: Option<&'a Transfer>,
    /// Prune in the same session, keeping this many releases.
    pub prune_keep: Option<usize>,
}

/// How a one-session release ended on a host.
pub(super) enum TripEnd {
    /// `current` points at the new release; what was sent.
    Switched(Stats),
    /// Nothing changed on the host (the reason); take the ordinary path.
    NotStarted(String),
}

impl Host<'_, '_> {
    /// The argument vector that prunes as [`PRUNE_SCRIPT`] says.
    pub(super) fn prune_command(&self, keep: usize, previous: &str, version: &str) -> Vec<String> {
        [
            "sh",
            "-c",
            PRUNE_SCRIPT,
            "sh",
            &self.dir(),
            &keep.to_string(),
            previous,
            version,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The remote command given to rsync as `--rsync-path` (see the module
    /// doc). The fixed parts are shell builtins where they can be (the host
    /// starts as few programs as it can: each one costs a fork and an exec
    /// on a busy host); every value is quoted.
    fn trip_rsync_path(&self, trip: &Trip) -> Result<String, DeployError> {
        for name in trip.live.into_iter().chain([trip.version]) {
            if !valid_release_name(name) {
                return Err(DeployError::BadVersion(name.to_owned()));
            }
        }
        let q = |word: &str| shell_join(&[word]);
        let dir = self.dir();
        let releases = format!("{dir}/releases");
        let release = |name: &str| q(&format!("{releases}/{name}"));
        // Dead uploads: a glob, so nothing runs when there are none.
        let clear = format!(
            r#"for d in {}/.*.{UPLOAD_INFIX}*; do if [ -e "$d" ]; then rm -rf -- "$d"; fi; done"#,
            q(&releases)
        );
        let current = q(&format!("{dir}/current"));
        let upload = release(trip.upload);
        let chain = |cmds: &[Vec<String>]| cmds.iter().map(|c| shell_join(c)).collect::<Vec<_>>();
        let before = match trip.live {
            // `current` resolves to the recorded release (`-ef`: the same
            // directory); its clone (the spare, else `cp -al`) takes the upload.
            Some(live) => {
                let mut before = vec![
                    format!(
                        "{{ [ {current} -ef {live} ] || {{ echo {moved} >&2 ; false ; }} ; }}",
                        live = release(live),
                        moved = q(&format!("{MOVED} is not releases/{live}")),
                    ),
                    format!(
                        "{{ mv -T -- {spare} {upload} 2>/dev/null || cp -al -- {live} {upload} ; }}",
                        spare = release(&format!("{SPARE_PREFIX}{live}")),
                        live = release(live),
                    ),
                ];
                before.extend(chain(&self.fresh_excluded_commands(live, trip.upload)?));
                before
            }
            // A first release: no `current` at all; `releases/` made if need be.
            None => vec![
                format!(
                    "{{ {{ [ ! -e {current} ] && [ ! -L {current} ] ; }} || {{ echo {moved} >&2 ; false ; }} ; }}",
                    moved = q(&format!("{MOVED} exists, but Slipway recorded no release here")),
                ),
                format!("{{ [ -d {r} ] || mkdir -p -- {r} ; }}", r = q(&releases)),
            ],
        };
        let new = release(trip.version);
        let mut after = match trip.transfer {
            Some(transfer) => chain(&self.vanished_commands(trip.upload, transfer)?),
            None => Vec::new(),
        };
        after.push(format!("{{ [ ! -e {new} ] || rm -rf -- {new} ; }}"));
        after.push(format!("mv -T -- {upload} {new}"));
        after.extend(chain(&self.switch_commands(trip.version)));
        // After the switch nothing counts: start the next spare clone
        // (detached) and prune.
        // The prune script starts only with more entries than kept (a glob
        // count here: no program runs for it in the common case).
        let prune = match trip.prune_keep {
            Some(keep) => format!(
                r#"n=0; for r in {}/*; do n=$((n+1)); done; if [ "$n" -gt {keep} ]; then {}; fi"#,
                q(&releases),
                shell_join(&self.prune_command(keep, trip.live.unwrap_or(trip.version), trip.version))
            ),
            None => "true".to_owned(),
        };
        Ok(format!(
            "slipway_trip() {{ {{ {clear} ; }} >&2 ; {{ {before} ; }} >&2 && echo {ready} >&2 && rsync \"$@\" \
             && {{ {after} ; }} >&2 && echo {switched} >&2 && {{ {{ {spare} </dev/null >/dev/null 2>&1 & {prune} ; }} >&2 ; true ; }} ; }} ; slipway_trip",
            before = before.join(" && "),
            ready = q(READY),
            after = after.join(" && "),
            switched = q(SWITCHED),
            spare = shell_join(&self.spare_script_argv(trip.version)?),
        ))
    }

    /// The commands that empty the directories the new release no longer
    /// has (but for host-only files) and remove them when that leaves them
    /// empty: an rsync `--delete` on the host from an empty directory, as
    /// [`Self::upload_changes`] does from here. None when there are none.
    fn vanished_commands(&self, upload: &str, transfer: &Transfer) -> Result<Vec<Vec<String>>, DeployError> {
        if transfer.vanished.is_empty() {
            return Ok(Vec::new());
        }
        let releases = format!("{}/releases", self.dir());
        // Named like an upload, so a run that dies leaves nothing the next one keeps.
        let empty = format!("{releases}/{upload}-empty");
        let mut rsync = vec!["rsync".to_owned(), "-r".to_owned(), "--delete".to_owned()];
        rsync.extend(exclude_args(self.ctx.excludes)?);
        rsync.extend(transfer.vanished_filters());
        rsync.extend(["--".to_owned(), format!("{empty}/"), format!("{releases}/{upload}/")]);
        Ok(vec![
            vec!["mkdir".to_owned(), "--".to_owned(), empty.clone()],
            rsync,
            vec!["rmdir".to_owned(), "--".to_owned(), empty],
        ])
    }

    /// Releases `trip` on this (ssh) host in one session: see the module doc.
    pub(super) fn release_in_one_trip(&self, trip: &Trip) -> Result<TripEnd, DeployError> {
        let rsync_path = self.trip_rsync_path(trip)?;
        let scratch = ScratchDir::new("trip")?;
        let mut src = trip.source.as_os_str().to_owned();
        src.push("/");
        // One session: no connection of its own for it (later commands start one).
        self.next_ssh_direct();
        let spec = match trip.transfer {
            Some(transfer) => {
                let list = scratch.path().join("files");
                std::fs::write(&list, &transfer.files_from).map_err(|source| DeployError::Io {
                    what: format!("writing {}", list.display()),
                    source,
                })?;
                self.rsync()?
                    .args(["-lpI", "--from0", "--delete-missing-args", "--stats"])
                    .arg(format!("--files-from={}", list.display()))
            }
            // The whole tree into an empty directory, as [`Host::upload`] sends it.
            None => self
                .rsync_bulk()?
                .arg(whole_tree_flags(false))
                .args(["--delete", "--stats"]),
        };
        let spec = spec
            .arg(format!("--rsync-path={rsync_path}"))
            .args(exclude_args(self.ctx.excludes)?)
            .arg("--")
            .arg(src)
            .arg(self.host.target.rsync_dest(&format!("releases/{}", trip.upload)))
            .cancel_on(self.ctx.cancel.cloned());
        let (mut ready, mut switched, mut moved) = (false, false, None);
        let mut stats = Stats::default();
        let outcome = run(&spec, &mut |line: OutputLine| {
            let text = line.text.trim();
            if text == READY {
                ready = true;
            } else if text == SWITCHED {
                switched = true;
            } else {
                if text.starts_with(MOVED) {
                    moved = Some(text.trim_start_matches("slipway-trip: ").to_owned());
                }
                stats.add_line(&line.text);
                (self.ctx.on_line)(self.name(), line);
            }
        });
        let (code, tail) = match outcome {
            Ok(o) => (o.status.code(), o.stderr_tail),
            Err(ProcessError::Timeout { stderr_tail, .. }) => (None, stderr_tail),
            Err(e) => return Err(e.into()),
        };
        if switched {
            return Ok(TripEnd::Switched(stats));
        }
        // ssh itself failed (or the run was killed): nothing to fall back to.
        let connection_lost = moved.is_none() && self.ssh_failed(code);
        if !ready && !connection_lost {
            let why = moved.unwrap_or_else(|| format!("preparing the clone failed ({})", describe(code, &tail)));
            return Ok(TripEnd::NotStarted(why));
        }
        Err(DeployError::Rsync {
            host: self.name().to_owned(),
            code: code.unwrap_or(-1),
            message: describe(code, &tail),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::releases::prunable;
    use super::*;

    /// The script on the host removes what [`prunable`] would.
    #[test]
    fn the_prune_script_removes_what_prunable_says() {
        let root = tempfile::tempdir().expect("tempdir");
        let names: Vec<String> = (1..=12).map(|n| format!("v{n}")).collect();
        for name in names
            .iter()
            .chain([&".v13.upload-ab".to_owned(), &"bad name".to_owned()])
        {
            std::fs::create_dir_all(root.path().join("releases").join(name)).expect("mkdir");
        }
        let dir = root.path().to_str().expect("utf-8");
        let status = std::process::Command::new("sh")
            .args(["-c", PRUNE_SCRIPT, "sh", dir, "3", "v2", "v12"])
            .status()
            .expect("sh");
        assert!(status.success());
        let mut left: Vec<String> = std::fs::read_dir(root.path().join("releases"))
            .expect("releases")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort_by(|a, b| super::super::remote::natural_cmp(a, b));
        let removed = prunable(&names[..11], "v12", Some("v2"), 3);
        let expected: Vec<String> = names.iter().filter(|n| !removed.contains(n)).cloned().collect();
        let kept: Vec<String> = left.iter().filter(|n| valid_release_name(n)).cloned().collect();
        assert_eq!(kept, expected);
        assert_eq!(kept, ["v2", "v10", "v11", "v12"]);
        // Upload leftovers and names no release has are not the script's business.
        assert!(left.contains(&".v13.upload-ab".to_owned()) && left.contains(&"bad name".to_owned()));
    }
}
