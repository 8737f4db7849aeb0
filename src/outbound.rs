//! Outbound HTTP (webhooks, deploy health checks): one way to build a
//! [`ureq`] agent with rustls, trusting the Mozilla roots plus an optional
//! private CA, and bounded at every step: the DNS lookup, the TCP connect,
//! each read and write, and the whole exchange.
//!
//! Errors never carry the URL (webhook URLs hold tokens in their path or
//! query): [`describe`] names only the host and port and what went wrong.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// How long each step of one request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving the host name.
    pub resolve: Duration,
    /// Opening the TCP connection (each address tried).
    pub connect: Duration,
    /// Each read and each write on the connection.
    pub io: Duration,
    /// The whole request, from lookup to the answer's status line.
    pub overall: Duration,
}

impl Timeouts {
    /// Every step bounded by `each`, the whole request by `overall`.
    pub fn new(connect: Duration, overall: Duration) -> Self {
        let connect = connect.min(overall);
        Self {
            resolve: connect,
            connect,
            io: overall,
            overall,
        }
    }
}

/// The TLS settings: the Mozilla roots plus the certificates in `ca_file`
/// (PEM), if any. `key` names the setting in errors (e.g.
/// `notify.webhook_ca_file`).
pub fn tls_config(ca_file: Option<&Path>, key: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let bad = |e: &dyn std::fmt::Display| format!("{key}: {}: {e}", path.display());
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))?;
        let mut added = 0;
        for cert in certs {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad(&"no certificate in the file"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// An agent with `tls` and `timeouts` that follows no redirects (a 3xx is
/// an answer like any other) and keeps no idle connections.
pub fn agent(tls: Arc<rustls::ClientConfig>, timeouts: Timeouts, user_agent: &str) -> ureq::Agent {
    let resolve = timeouts.resolve;
    ureq::AgentBuilder::new()
        .tls_config(tls)
        .resolver(move |netloc: &str| resolve_within(netloc, resolve))
        .timeout_connect(timeouts.connect)
        .timeout_read(timeouts.io)
        .timeout_write(timeouts.io)
        .timeout(timeouts.overall)
        .redirects(0)
        .max_idle_connections(0)
        .user_agent(user_agent)
        .build()
}

/// Resolves `host:port`, giving up after `limit` (the lookup itself goes on
/// in its own thread; the system resolver cannot be interrupted).
fn resolve_within(netloc: &str, limit: Duration) -> std::io::Result<Vec<SocketAddr>> {
    let (tx, rx) = mpsc::channel();
    let owned = netloc.to_owned();
    std::thread::Builder::new().name("dns".into()).spawn(move || {
        let _ = tx.send(owned.to_socket_addrs().map(Iterator::collect));
    })?;
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no DNS answer within {} ms", limit.as_millis()),
        ))
    })
}

/// What went wrong with a request to `host:port`, without the URL.
pub fn describe(host: &str, port: u16, error: &ureq::Transport) -> String {
    let mut text = format!("{host}:{port}: {}", error.kind());
    if let Some(message) = error.message() {
        text.push_str(&format!(": {message}"));
    }
    if let Some(source) = std::error::Error::source(error) {
        text.push_str(&format!(": {source}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_and_times_out() {
        let addrs = resolve_within("127.0.0.1:80", Duration::from_secs(5)).expect("resolved");
        assert_eq!(addrs, vec![SocketAddr::from(([127, 0, 0, 1], 80))]);
        assert!(resolve_within("no port", Duration::from_secs(5)).is_err());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("slipway-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("empty.pem");
        std::fs::write(&file, "nothing\n").expect("write");
        let err = tls_config(Some(&file), "notify.webhook_ca_file").expect_err("refused");
        assert!(err.starts_with("notify.webhook_ca_file: "), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
