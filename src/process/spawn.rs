//! Starting a child so that it never outlives Slipway (docs/design.md#layers, "process";
//! issue 9 defect 9).
//!
//! Each child gets `PR_SET_PDEATHSIG(SIGKILL)` between fork and exec, after
//! any change of user (a change of credentials clears it), and then checks
//! that its parent is still the Slipway process (closing the race where
//! Slipway died before the signal was armed).
//!
//! The kernel sends the parent-death signal when the *thread* that forked
//! the child exits, not the process. So every child is forked by one
//! long-lived spawner thread that lives as long as the process: a child
//! started from a short-lived worker thread (a tokio blocking thread, a
//! fan-out thread) is not killed when that thread ends, and is killed when
//! the process dies.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};

use nix::sys::signal::Signal;
use nix::unistd::{Gid, Pid, Uid};

use super::env::RunAs;

type Request = (Command, mpsc::SyncSender<io::Result<Child>>);

static SPAWNER: OnceLock<Mutex<Sender<Request>>> = OnceLock::new();

fn spawner() -> io::Result<Sender<Request>> {
    if let Some(tx) = SPAWNER.get() {
        return Ok(tx.lock().unwrap_or_else(|e| e.into_inner()).clone());
    }
    let (tx, rx) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("slipway-spawner".into())
        .spawn(move || {
            // Lives until the process exits: the parent thread of every child.
            for (mut command, reply) in rx {
                let _ = reply.send(command.spawn());
            }
        })?;
    let tx = SPAWNER.get_or_init(|| Mutex::new(tx));
    Ok(tx.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

/// Arms the parent-death signal (and, with `user`, drops to that user
/// first) in the child, between fork and exec.
pub(super) fn arm(command: &mut Command, user: Option<&RunAs>) {
    let parent = Pid::from_raw(i32::try_from(std::process::id()).unwrap_or(i32::MAX));
    let user = user.map(|u| {
        let groups: Vec<Gid> = u.groups.iter().copied().map(Gid::from_raw).collect();
        (Uid::from_raw(u.uid), Gid::from_raw(u.gid), groups)
    });
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (setgroups, setgid, setuid, prctl,
    // getppid) on data prepared before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid, groups)) = &user {
                nix::unistd::setgroups(groups)?;
                nix::unistd::setgid(*gid)?;
                nix::unistd::setuid(*uid)?;
            }
            // After the change of user: changing credentials clears it.
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                // Slipway died before the signal was armed.
                return Err(io::Error::other("the parent process exited"));
            }
            Ok(())
        });
    }
}

/// Spawns `command` from the spawner thread.
pub(super) fn spawn(command: Command) -> io::Result<Child> {
    let (reply, result) = mpsc::sync_channel(1);
    spawner()?
        .send((command, reply))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    result
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

/// SIGKILLs the process group `pgid` (a child started by [`super::run`]
/// leads its own group).
pub(super) fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.kill();
}
