//! One ssh connection per machine, not per target: the targets of one
//! operation that log in to the same machine (the same `user@host`; port,
//! identity and options are the operation's own) share one master
//! connection ([`Mux`]) for all their commands and uploads.
//!
//! Several targets on one machine are common (a game's zones, or several
//! instances of a service, each in its own directory), and each ssh
//! handshake costs both ends a key exchange and a login, which is most of
//! what a small release costs a host. A target alone on its machine keeps
//! the connection of its own ([`super::remote::Host`]).
//!
//! A target holds at most one session on the connection at a time (its
//! steps run one after the other), and OpenSSH's sshd allows 10 sessions per
//! connection by default (`MaxSessions`), so at most [`SHARED_TARGETS`]
//! targets share one connection; more targets on a machine get one
//! connection per [`SHARED_TARGETS`]. A machine that allows fewer sessions
//! per connection (some hardening guides set `MaxSessions 1` or 2) refuses
//! the extra ones, and ssh then connects on its own for each; should the
//! master die, ssh does the same (the control socket does not answer).
//! The masters are closed when the pool is dropped, at the end of the
//! operation.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::mux::Mux;
use super::{Context, DeployHost, Target};

/// The most targets that share one connection (see the module doc).
pub(super) const SHARED_TARGETS: usize = 8;

/// A connection shared by some targets, started by the first to need it.
pub(crate) struct SharedMux(OnceLock<Option<Mux>>);

impl SharedMux {
    /// The running master for `target` (the machine every sharer logs in
    /// to), started on first use; `None` when it could not connect (each
    /// command then connects on its own and says why).
    pub(super) fn get(&self, ctx: &Context, target: &Target) -> Option<&Mux> {
        self.0.get_or_init(|| Mux::start(ctx, target)).as_ref()
    }
}

/// The shared connections of one operation over `hosts`.
pub(crate) struct MuxPool {
    shared: Vec<SharedMux>,
    /// Per host (by index): its shared connection in `shared`, if any.
    of_host: Vec<Option<usize>>,
}

impl MuxPool {
    /// Groups `hosts` by the ssh login they reach (a relayed host: its
    /// relay's), in runs of at most [`SHARED_TARGETS`]; a group of one
    /// shares nothing.
    pub(crate) fn new(hosts: &[DeployHost]) -> Self {
        let mut groups: BTreeMap<(Option<&str>, &str), Vec<usize>> = BTreeMap::new();
        for (i, h) in hosts.iter().enumerate() {
            let reached = h.via.as_ref().map_or(&h.target, |relay| &relay.target);
            if let Target::Ssh { user, host, .. } = reached {
                groups.entry((user.as_deref(), host.as_str())).or_default().push(i);
            }
        }
        let mut pool = Self {
            shared: Vec::new(),
            of_host: vec![None; hosts.len()],
        };
        for members in groups.values() {
            for run in members.chunks(SHARED_TARGETS).filter(|run| run.len() > 1) {
                for &i in run {
                    pool.of_host[i] = Some(pool.shared.len());
                }
                pool.shared.push(SharedMux(OnceLock::new()));
            }
        }
        pool
    }

    /// The connection host `index` shares, if any.
    pub(crate) fn of(&self, index: usize) -> Option<&SharedMux> {
        self.of_host.get(index).copied().flatten().map(|s| &self.shared[s])
    }

    /// How many connections are shared (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shared.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(target: &str) -> DeployHost {
        DeployHost {
            name: target.to_owned(),
            target: Target::parse(target).expect("target"),
            via: None,
        }
    }

    /// Targets share by login, in runs of at most SHARED_TARGETS; a lone
    /// target, a local one and another user on the same machine share nothing.
    #[test]
    fn targets_share_by_login_in_runs() {
        let mut hosts: Vec<DeployHost> = (0..10)
            .map(|i| host(&format!("deploy@10.0.0.1:/srv/zone{i}")))
            .collect();
        hosts.push(host("deploy@10.0.0.2:/srv/app"));
        hosts.push(host("other@10.0.0.1:/srv/app"));
        hosts.push(host("/srv/local"));
        hosts.push(host("deploy@10.0.0.3:/srv/a"));
        hosts.push(host("deploy@10.0.0.3:/srv/b"));
        let pool = MuxPool::new(&hosts);
        assert_eq!(pool.len(), 3);
        let first = pool.of_host[0].expect("shared");
        assert!((0..SHARED_TARGETS).all(|i| pool.of_host[i] == Some(first)));
        let rest = pool.of_host[8].expect("shared");
        assert_ne!(rest, first);
        assert_eq!(pool.of_host[9], Some(rest));
        assert_eq!(pool.of_host[10..13], [None, None, None]);
        assert!(pool.of_host[13].is_some() && pool.of_host[13] == pool.of_host[14]);
        assert!(pool.of(99).is_none());
    }
}
