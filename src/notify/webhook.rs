//! Webhooks: a JSON document per transition, signed with HMAC-SHA256 of the
//! body under the webhook's secret (`X-Slipway-Signature: sha256=<hex>`),
//! or formatted for a DingTalk, WeCom or Slack incoming webhook.
//!
//! Delivery is a minimal HTTP/1.1 POST over a TCP stream, for `http://` URLs
//! only; `https://` receivers are refused for now (a TLS client is not built
//! in yet; put a local relay in front, or wait for the TLS build).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The presets.
pub const PRESETS: [&str; 4] = ["json", "dingtalk", "wecom", "slack"];

/// The facts a webhook message is made of.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventFacts {
    /// Event id.
    pub event_id: i64,
    /// Ticket id.
    pub ticket_id: i64,
    /// `release` or `rollback`.
    pub ticket_kind: String,
    /// Project name.
    pub project: String,
    /// Why.
    pub reason: String,
    /// Action name.
    pub action: String,
    /// State before.
    pub from: Option<String>,
    /// State after.
    pub to: String,
    /// Who (user name; None: Slipway).
    pub actor: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Version (e.g. `v12`).
    pub version: Option<String>,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The ticket's page.
    pub url: String,
}

impl EventFacts {
    fn line(&self) -> String {
        let mut s = format!(
            "[{}] #{} {} → {} ({}{})",
            self.project,
            self.ticket_id,
            self.from.as_deref().unwrap_or("-"),
            self.to,
            self.action,
            self.actor.as_deref().map(|a| format!(" by {a}")).unwrap_or_default()
        );
        if let Some(v) = &self.version {
            s.push_str(&format!(" {v}"));
        }
        s.push_str(&format!(": {}", self.reason));
        if let Some(n) = self.note.as_deref().filter(|n| !n.is_empty()) {
            s.push_str(&format!(" — {n}"));
        }
        s.push_str(&format!(" {}", self.url));
        s
    }
}

/// The request body for `preset`.
pub fn body(preset: &str, facts: &EventFacts) -> Value {
    match preset {
        "dingtalk" | "wecom" => json!({ "msgtype": "text", "text": { "content": facts.line() } }),
        "slack" => json!({ "text": facts.line() }),
        _ => json!({
            "type": "ticket.transition",
            "event_id": facts.event_id,
            "ticket": {
                "id": facts.ticket_id,
                "kind": facts.ticket_kind,
                "project": facts.project,
                "reason": facts.reason,
                "version": facts.version,
                "url": facts.url,
            },
            "action": facts.action,
            "from": facts.from,
            "to": facts.to,
            "actor": facts.actor,
            "note": facts.note,
            "at": facts.at,
        }),
    }
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Why a post failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// Worth retrying (connection, timeout, a 5xx or 429).
    #[error("{0}")]
    Transient(String),
    /// Not worth retrying (bad URL, https, a 4xx).
    #[error("{0}")]
    Permanent(String),
}

struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, PostError> {
    if url.starts_with("https://") {
        return Err(PostError::Permanent(
            "https webhooks are not supported by this build yet (http:// only)".into(),
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| PostError::Permanent("a webhook URL must start with http://".into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || path.chars().any(|c| c.is_control() || c == ' ') {
        return Err(PostError::Permanent("the webhook URL is not valid".into()));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.to_owned(),
            p.parse()
                .map_err(|_| PostError::Permanent("the webhook URL has a bad port".into()))?,
        ),
        _ => (authority.to_owned(), 80),
    };
    Ok(Target {
        host,
        port,
        path: path.to_owned(),
    })
}

/// Checks a webhook URL (import, admin forms).
pub fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    parse_url(url).map(drop).map_err(|e| e.to_string())
}

/// POSTs `body` to `url` with the signature header (when `secret` is set);
/// returns the status code on 2xx.
pub fn post(url: &str, secret: &str, body: &[u8], timeout: Duration) -> Result<u16, PostError> {
    let target = parse_url(url)?;
    let addr = (target.host.trim_start_matches('[').trim_end_matches(']'), target.port)
        .to_socket_addrs()
        .map_err(|e| PostError::Transient(format!("{}: {e}", target.host)))?
        .next()
        .ok_or_else(|| PostError::Transient(format!("{}: no address", target.host)))?;
    let transient = |e: std::io::Error| PostError::Transient(format!("{}:{}: {e}", target.host, target.port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(transient)?;
    stream.set_read_timeout(Some(timeout)).map_err(transient)?;
    stream.set_write_timeout(Some(timeout)).map_err(transient)?;
    let host_header = if target.port == 80 {
        target.host.clone()
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: slipway/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        target.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if !secret.is_empty() {
        head.push_str(&format!("X-Slipway-Signature: {}\r\n", signature(secret, body)));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(transient)?;
    stream.write_all(body).map_err(transient)?;
    stream.flush().map_err(transient)?;
    // The status line is all we need.
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(transient(e)),
        }
    }
    let line = String::from_utf8_lossy(&buf);
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| PostError::Transient(format!("no HTTP status from {}", target.host)))?;
    match status {
        200..=299 => Ok(status),
        408 | 429 | 500..=599 => Err(PostError::Transient(format!("receiver answered {status}"))),
        _ => Err(PostError::Permanent(format!("receiver answered {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_the_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn urls() {
        assert!(parse_url("http://127.0.0.1:8080/hook?x=1").is_ok_and(|t| t.port == 8080 && t.path == "/hook?x=1"));
        assert!(parse_url("http://example.com").is_ok_and(|t| t.port == 80 && t.path == "/"));
        assert!(matches!(parse_url("https://x/"), Err(PostError::Permanent(_))));
        assert!(parse_url("ftp://x/").is_err());
        assert!(check_url("https://oapi.dingtalk.com/robot/send?access_token=x").is_ok());
    }
}
