//! How a release reaches one host: only the changes (into a hard-link
//! clone of the live release, or straight into an inplace directory) when
//! the job knows them, else the full upload, with the reason in the log.

use super::delta::{ChangeSet, Delta};
use super::remote::Host;
use super::rsync::Stats;
use super::{DeployError, Target};
use crate::process::{OutputLine, Stream};

/// How the files of a release reach the host.
pub(super) enum Upload<'d> {
    /// Into a hard-link clone of the live release: only these changes.
    Delta(&'d ChangeSet),
    /// The whole tree, checksums against the live release deciding.
    Full,
}

/// The changes to send to a host whose live release is `live`, when the
/// job knows them; otherwise `None`, saying why when a delta was asked for.
pub(super) fn choose<'d>(h: &Host, live: Option<&str>, delta: Option<&'d Delta>) -> Option<&'d ChangeSet> {
    let delta = delta?;
    let why = match live {
        None => "no release is known to be live on this host".to_owned(),
        Some(_) if matches!(h.host.target, Target::Daemon { .. }) => {
            "an rsync daemon target cannot clone the live release".to_owned()
        }
        Some(live) => match delta.for_host(&h.host.name, live) {
            Ok(changes) => return Some(changes),
            Err(why) => why,
        },
    };
    say(h, format!("full upload: {why}"));
    None
}

/// The log line that says a host gets a delta.
pub(super) fn delta_line(live: &str, changes: &ChangeSet) -> String {
    format!(
        "delta from {live}: {} file(s) change, {} deleted",
        changes.len(),
        changes.deleted.len()
    )
}

/// Reports `text` as an output line of the host.
pub(super) fn say(h: &Host, text: String) {
    (h.ctx.on_line)(
        &h.host.name,
        OutputLine {
            stream: Stream::Stdout,
            text,
        },
    )
}

/// A clone of a release made ahead, in the round trip that read `current`.
#[derive(Debug, Default)]
pub(super) struct EarlyClone {
    /// Whether one was tried (the upload directory may exist, whole or in part).
    pub attempted: bool,
    /// The release it cloned, when it worked.
    pub from: Option<String>,
}

/// Decides how the release reaches the host and prepares its upload
/// directory: a hard-link clone of the live release when the job knows the
/// changes since it ([`choose`]; `made` is a clone made ahead), else a
/// fresh directory with the host-only files carried over (what carrying
/// them sent).
pub(super) fn prepare<'d>(
    h: &Host,
    live: Option<&str>,
    delta: Option<&'d Delta>,
    upload: &str,
    made: &EarlyClone,
) -> Result<(Upload<'d>, Stats), DeployError> {
    let mut leftover = made.attempted;
    if let (Some(changes), Some(live)) = (choose(h, live, delta), live) {
        let cloned = if made.from.as_deref() == Some(live) {
            Ok(())
        } else {
            if leftover {
                h.remove_upload(upload)?;
            }
            h.clone_live(live, upload)
        };
        leftover = true;
        match cloned {
            Ok(()) => {
                say(h, delta_line(live, changes));
                return Ok((Upload::Delta(changes), Stats::default()));
            }
            Err(e) => say(h, format!("full upload: cloning {live} failed: {e}")),
        }
    }
    if leftover {
        h.remove_upload(upload)?;
    }
    let carried = match live {
        Some(live) => h.carry_excluded(live, upload)?,
        None => Stats::default(),
    };
    Ok((Upload::Full, carried))
}
