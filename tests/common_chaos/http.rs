//! A minimal HTTP/1.1 JSON client over `TcpStream` for the `/api/v1` calls
//! of the fault suite (the dev-dependencies hold no HTTP client, and a
//! server that was just SIGKILLed must show up as a connection error, not a
//! retry inside a library).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A response: status and body parsed as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        let end = (start + size).min(rest.len());
        out.extend_from_slice(&rest[start..end]);
        rest = rest.get(end + 2..).unwrap_or_default();
    }
}

/// Sends one request; `Err` when the server cannot be reached or answers garbage.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Response, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", payload.len()));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(payload.as_bytes()))
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no header end in {} bytes", raw.len()))?;
    let header = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = header
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {header}"))?;
    let mut body = raw[split + 4..].to_vec();
    if header.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}

/// The API as one user.
#[derive(Clone)]
pub struct Api {
    pub port: u16,
    pub token: String,
}

impl Api {
    /// Signs in with `POST /api/v1/auth/token`.
    pub fn login(port: u16, user: &str, password: &str) -> Self {
        let body = serde_json::json!({ "username": user, "password": password });
        let r = request(port, "POST", "/api/v1/auth/token", None, Some(&body)).expect("token request");
        assert_eq!(r.status, 200, "login {user}: {:?}", r.body);
        Self {
            port,
            token: r.body["token"].as_str().expect("token").to_owned(),
        }
    }

    pub fn get(&self, path: &str) -> Result<Response, String> {
        request(self.port, "GET", path, Some(&self.token), None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Response, String> {
        request(self.port, "POST", path, Some(&self.token), Some(body))
    }

    /// `POST /api/v1/tickets/{id}/actions/{action}`.
    pub fn act(&self, id: i64, action: &str) -> Result<Response, String> {
        self.post(
            &format!("/api/v1/tickets/{id}/actions/{action}"),
            &serde_json::json!({}),
        )
    }

    /// A ticket's state (`GET /api/v1/tickets/{id}`).
    pub fn state(&self, id: i64) -> Result<String, String> {
        let r = self.get(&format!("/api/v1/tickets/{id}"))?;
        r.body["state"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("ticket {id}: {} {:?}", r.status, r.body))
    }
}
