//! The HTTP health check after a host's switch: `GET` the URL (with `{host}`
//! replaced) until it answers 2xx or the timeout passes. Plain `http://`,
//! through [`crate::outbound`] (ureq; DNS, connect and read timeouts).

use std::time::{Duration, Instant};

use super::DeployError;
use crate::outbound::{self, Timeouts};

/// Splits `http://host[:port]/path` into (host, port, path).
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().ok()?),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return None;
    }
    Some((host.trim_matches(['[', ']']).to_owned(), port, path.to_owned()))
}

/// One GET of `url` within `budget`: the status, or what went wrong
/// (host and port, never the URL).
fn probe(url: &str, host: &str, port: u16, budget: Duration) -> Result<u16, String> {
    let tls = outbound::tls_config(None, "health check")?;
    let agent = outbound::agent(tls, Timeouts::new(budget, budget), "slipway-health");
    match agent.get(url).call() {
        Ok(response) => Ok(response.status()),
        Err(ureq::Error::Status(code, _)) => Ok(code),
        Err(ureq::Error::Transport(e)) => Err(outbound::describe(host, port, &e)),
    }
}

/// Checks `url_template` for `host`: retries every half second until a 2xx
/// answer or `timeout` (the last problem is the error).
pub fn check(url_template: &str, host: &str, timeout: Duration) -> Result<(), DeployError> {
    let url = url_template.replace("{host}", host);
    let fail = |message: String| DeployError::Health {
        url: url.clone(),
        message,
    };
    let (h, port, _) = split_url(&url).ok_or_else(|| fail("not an http://host[:port]/path URL".into()))?;
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let problem = match probe(
            &url,
            &h,
            port,
            left.clamp(Duration::from_millis(100), Duration::from_secs(5)),
        ) {
            Ok(code) if (200..300).contains(&code) => return Ok(()),
            Ok(code) => format!("HTTP status {code}"),
            Err(e) => e,
        };
        if Instant::now() + Duration::from_millis(500) >= deadline {
            return Err(fail(format!(
                "no 2xx answer within {} s (last: {problem})",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://web1:8080/health?x=1"),
            Some(("web1".into(), 8080, "/health?x=1".into()))
        );
        assert_eq!(split_url("http://web1"), Some(("web1".into(), 80, "/".into())));
        assert_eq!(split_url("https://web1"), None);
    }

    #[test]
    fn passes_on_200_and_fails_on_500_or_a_closed_port() {
        let serve = |status: &'static str| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            std::thread::spawn(move || {
                for stream in listener.incoming().take(20) {
                    let mut stream = stream.unwrap();
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(format!("HTTP/1.0 {status}\r\n\r\nok").as_bytes());
                }
            });
            port
        };
        let ok = serve("200 OK");
        check(
            &format!("http://{{host}}:{ok}/health"),
            "127.0.0.1",
            Duration::from_secs(2),
        )
        .unwrap();
        let bad = serve("500 Oops");
        let err = check(&format!("http://{{host}}:{bad}/"), "127.0.0.1", Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("500"), "{err}");
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert!(check(&format!("http://127.0.0.1:{closed}/"), "x", Duration::from_secs(1)).is_err());
    }
}
