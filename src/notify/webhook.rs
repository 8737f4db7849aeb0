//! Webhooks: a JSON document per transition, signed with HMAC-SHA256 of the
//! body under the webhook's secret (`X-Slipway-Signature: sha256=<hex>`),
//! or formatted for a DingTalk, WeCom, Feishu/Lark or Slack robot (see
//! [`super::chat`]; DingTalk and Feishu robots with a secret are signed
//! their own way, [`super::chat_sign`]).
//!
//! Delivery is an HTTP POST through [`crate::outbound`] (ureq over rustls for
//! `https://`: certificates checked against the Mozilla roots plus an
//! optional extra CA; DNS, connect, read and overall timeouts).

use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::outbound::{self, Timeouts};

/// The presets.
pub const PRESETS: [&str; 5] = ["json", "dingtalk", "wecom", "feishu", "slack"];

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

/// The request body for `preset` (chat presets in English, mentioning
/// no one; see [`super::chat::body`]).
pub fn body(preset: &str, facts: &EventFacts) -> Value {
    super::chat::body(preset, super::chat::Lang::En, facts, &[]).unwrap_or_else(|| json_body(facts))
}

/// The `json` preset's document.
pub fn json_body(facts: &EventFacts) -> Value {
    json!({
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
    })
}

/// What to send for one event to one webhook: the URL (DingTalk's signed
/// URL), the body (Feishu's signature inside) and the
/// `X-Slipway-Signature` header (the `json` preset with a secret).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Where to POST.
    pub url: String,
    /// The JSON body.
    pub body: Vec<u8>,
    /// `X-Slipway-Signature`, when any.
    pub signature: Option<String>,
}

/// Builds the post of `facts` for a webhook (`preset`, `url`, `secret`,
/// message `lang`) mentioning `mentions`, signed at `now`.
pub fn outgoing(
    preset: &str,
    url: &str,
    secret: &str,
    lang: super::chat::Lang,
    facts: &EventFacts,
    mentions: &[super::chat::Mention],
    now: chrono::DateTime<chrono::Utc>,
) -> Outgoing {
    let value = super::chat::body(preset, lang, facts, mentions).unwrap_or_else(|| json_body(facts));
    signed(preset, url, secret, value, now)
}

/// Signs a finished body `value` for a webhook (`preset`, `url`, `secret`)
/// at `now`: DingTalk's signed URL, Feishu's signature inside the body, or
/// the `X-Slipway-Signature` header.
pub fn signed(preset: &str, url: &str, secret: &str, mut value: Value, now: chrono::DateTime<chrono::Utc>) -> Outgoing {
    let mut url = url.to_owned();
    let mut header = false;
    match preset {
        _ if secret.is_empty() => {}
        "dingtalk" => url = super::chat_sign::dingtalk_url(&url, secret, now.timestamp_millis()),
        "feishu" => {
            let ts = now.timestamp();
            value["timestamp"] = json!(ts.to_string());
            value["sign"] = json!(super::chat_sign::feishu_sign(secret, ts));
        }
        _ => header = true,
    }
    let body = serde_json::to_vec(&value).unwrap_or_default();
    let signature = header.then(|| signature(secret, &body));
    Outgoing { url, body, signature }
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

/// A webhook URL's parts (checked before any post; errors name host and port).
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "scheme and path are checked, ureq uses the URL itself")
)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, PostError> {
    let (https, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => {
            return Err(PostError::Permanent(
                "a webhook URL must start with http:// or https://".into(),
            ))
        }
    };
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
        _ => (authority.to_owned(), if https { 443 } else { 80 }),
    };
    Ok(Target {
        https,
        host,
        port,
        path: path.to_owned(),
    })
}

/// Checks a webhook URL (import, admin forms).
pub fn check_url(url: &str) -> Result<(), String> {
    parse_url(url).map(drop).map_err(|e| e.to_string())
}

/// Posts webhooks: a [`ureq`] agent with the TLS settings and timeouts.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "webhook::Client({:?})", self.timeouts)
    }
}

impl Client {
    /// A client trusting the Mozilla roots and the CA in `ca_file` (PEM), if
    /// any; `timeout` bounds every step and the whole post.
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Result<Self, String> {
        Self::with_timeouts(ca_file, Timeouts::new(timeout, timeout))
    }

    /// [`Client::new`] with each step's limit given.
    pub fn with_timeouts(ca_file: Option<&Path>, timeouts: Timeouts) -> Result<Self, String> {
        let tls = outbound::tls_config(ca_file, "notify.webhook_ca_file")?;
        let user_agent = concat!("slipway/", env!("CARGO_PKG_VERSION"));
        Ok(Self {
            agent: outbound::agent(tls, timeouts, user_agent),
            timeouts,
        })
    }

    /// POSTs `body` to `url` with the signature header (when `secret` is
    /// set); returns the status code on 2xx. Errors never contain the URL.
    pub fn post(&self, url: &str, secret: &str, body: &[u8]) -> Result<u16, PostError> {
        let signature = (!secret.is_empty()).then(|| signature(secret, body));
        self.send(url, signature.as_deref(), body)
    }

    /// POSTs `body` to `url` with `X-Slipway-Signature: signature` when given.
    pub fn send(&self, url: &str, signature: Option<&str>, body: &[u8]) -> Result<u16, PostError> {
        let target = parse_url(url)?;
        let mut request = self.agent.post(url).set("Content-Type", "application/json");
        if let Some(signature) = signature {
            request = request.set("X-Slipway-Signature", signature);
        }
        let status = match request.send_bytes(body) {
            Ok(response) => response.status(),
            Err(ureq::Error::Status(status, _)) => status,
            Err(ureq::Error::Transport(e)) => {
                let text = outbound::describe(&target.host, target.port, &e);
                return Err(match e.kind() {
                    ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => PostError::Permanent(text),
                    _ => PostError::Transient(text),
                });
            }
        };
        match status {
            200..=299 => Ok(status),
            408 | 429 | 500..=599 => Err(PostError::Transient(format!("receiver answered {status}"))),
            _ => Err(PostError::Permanent(format!("receiver answered {status}"))),
        }
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
        assert!(parse_url("https://hooks.slack.com/services/x").is_ok_and(|t| t.https && t.port == 443));
        assert!(parse_url("ftp://x/").is_err());
        assert!(check_url("https://oapi.dingtalk.com/robot/send?access_token=x").is_ok());
    }
}
