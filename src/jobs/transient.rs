//! Which failures are worth trying again (issue 9, defect 8): a host that
//! could not be reached (refused or timed-out connection, a name that did
//! not resolve, a dropped link) may answer next time; a refused host key,
//! refused credentials, a missing path or a failing hook will not, so those
//! fail the job at once with their message.

/// Phrases ssh, rsync and the resolver print when the network, not the
/// request, is at fault.
const TRANSIENT: &[&str] = &[
    "connection refused",
    "connection timed out",
    "operation timed out",
    "no route to host",
    "network is unreachable",
    "connection reset",
    "connection closed by remote host",
    "connection unexpectedly closed",
    "broken pipe",
    "could not resolve hostname",
    "temporary failure in name resolution",
    "kex_exchange_identification",
    "did not finish within",
];

/// Phrases that mean trying again cannot help, even when a network phrase
/// is there too.
const PERMANENT: &[&str] = &[
    "host key verification failed",
    "remote host identification has changed",
    "permission denied",
    "authentication failed",
    "no such file or directory",
    "hook `",
    "switched, then:",
];

/// Whether a host's failure message describes a passing network problem.
pub fn is_transient_host_error(message: &str) -> bool {
    let text = message.to_lowercase();
    !PERMANENT.iter().any(|p| text.contains(p)) && TRANSIENT.iter().any(|t| text.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_failures_are_transient() {
        for m in [
            "`readlink current` on web1 failed: exit 255: ssh: connect to host 127.0.0.1 port 2222: Connection refused",
            "rsync to web2 failed (exit 255): ssh: connect to host 10.0.0.9 port 22: Connection timed out",
            "ssh: Could not resolve hostname web9: Temporary failure in name resolution",
            "`ssh` did not finish within 600 s and was killed",
        ] {
            assert!(is_transient_host_error(m), "{m}");
        }
    }

    #[test]
    fn refusals_are_permanent() {
        for m in [
            "`readlink current` on web1 failed: exit 255: Host key verification failed.",
            "rsync to web1 failed (exit 255): deploy@127.0.0.1: Permission denied (publickey).",
            "hook `restart` on web1 failed: exit 1: boom",
            "switched, then: health check http://web1/health failed: Connection refused",
            "rsync to web1 failed (exit 3): mkdir failed: Not a directory",
        ] {
            assert!(!is_transient_host_error(m), "{m}");
        }
    }
}
