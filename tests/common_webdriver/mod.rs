//! A small W3C WebDriver client for the browser tests: chromedriver on a
//! loopback port, headless Chromium, and the handful of endpoints the tests
//! use (navigate, find, type, click, text, attribute, screenshot), spoken as
//! JSON over plain HTTP/1.1 with `std::net`. No WebDriver crate needed.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where Debian installs them (`chromium`, `chromium-driver`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// See [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

use crate::common::net;
pub use net::free_port;

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration, what: &str) {
    assert!(
        net::listening_within(port, timeout),
        "{what} did not listen on port {port}"
    );
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if body.is_some() {
        request.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{payload}", payload.len()));
    stream.write_all(request.as_bytes()).expect("send");
    // Read the head, then exactly Content-Length bytes (chromedriver keeps
    // the connection open), or to the end when there is none.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut buf).expect("receive");
        assert!(n > 0, "connection closed before the HTTP head ended");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let complete = match length {
            Some(len) => body.len() >= len,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf).expect("receive");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    if chunked {
        body = dechunk(&body);
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let mut n = 0u32;
        for (i, s) in chunk.iter().enumerate() {
            n |= u32::from(*s) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

/// chromedriver and one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
    /// Where [`Browser::screenshot`] writes.
    pub shots: PathBuf,
}

/// An element handle.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver on a free port and opens a session with a fresh
    /// profile, an English Accept-Language and a 1280×1000 window.
    pub fn start(shots: &Path) -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the browser tests need Debian's chromium and chromium-driver \
                 (scripts/test.sh installs them)"
            );
        }
        std::fs::create_dir_all(shots).expect("screenshot dir");
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        wait_for_port(port, Duration::from_secs(20), "chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-extensions", "--lang=en-US", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {"intl.accept_languages": "en-US,en"},
            },
        }}});
        let (status, body) = http(port, "POST", "/session", Some(&caps));
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(session) = answer["value"]["sessionId"].as_str().map(str::to_owned) else {
            let _ = driver.kill();
            let _ = driver.wait();
            panic!("new session failed ({status}): {body}");
        };
        Self {
            driver,
            port,
            session,
            _profile: profile,
            shots: shots.to_owned(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let path = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.port, method, &path, body.as_ref());
        let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?;
        if status == 200 {
            Ok(answer["value"].clone())
        } else {
            Err(format!(
                "{method} {path}: {status} {} {}",
                answer["value"]["error"], answer["value"]["message"]
            ))
        }
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.ok("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.ok("GET", "/url", None).as_str().unwrap_or("").to_owned()
    }

    /// The first element matching `css` now, if any.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})))
            .ok()
            .and_then(|v| v[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
    }

    /// The first element matching `css`, waiting up to 20 s for it.
    pub fn find(&self, css: &str) -> Element {
        self.wait(&format!("an element `{css}` on {}", self.url()), || self.try_find(css))
    }

    /// Every element matching `css` now.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.ok(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Polls `f` every 100 ms until it gives something (20 s at most).
    pub fn wait<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let shot = self.screenshot("timeout");
                panic!("timed out waiting for {what} (screenshot: {})", shot.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `text` into `el`.
    pub fn type_into(&self, el: &Element, text: &str) {
        self.ok("POST", &format!("/element/{}/clear", el.0), Some(json!({})));
        self.ok(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        );
    }

    /// Clicks `el`.
    pub fn click(&self, el: &Element) {
        self.ok("POST", &format!("/element/{}/click", el.0), Some(json!({})));
    }

    /// The rendered text of `el`.
    pub fn text(&self, el: &Element) -> String {
        self.ok("GET", &format!("/element/{}/text", el.0), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// An attribute of `el` (`None` too when the page moved on and `el` is stale).
    pub fn attr(&self, el: &Element, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{}/attribute/{name}", el.0), None)
            .ok()?
            .as_str()
            .map(str::to_owned)
    }

    /// A DOM property of `el` (e.g. a field's current `value`).
    pub fn prop(&self, el: &Element, name: &str) -> Option<String> {
        self.ok("GET", &format!("/element/{}/property/{name}", el.0), None)
            .as_str()
            .map(str::to_owned)
    }

    /// The text of the whole page body.
    pub fn body_text(&self) -> String {
        let body = self.find("body");
        self.text(&body)
    }

    /// Saves a PNG of the viewport as `<shots>/<name>.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.shots.join(format!("{name}.png"));
        if let Ok(v) = self.call("GET", "/screenshot", None) {
            let _ = std::fs::write(&path, base64_decode(v.as_str().unwrap_or("")));
        }
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn base64_round_trip() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8h"), b"hello!");
    assert_eq!(base64_decode("aGk="), b"hi");
}
