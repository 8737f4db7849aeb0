//! The browser tests' WebDriver side: chromedriver on a loopback port and a
//! headless Chromium session driven with `fantoccini`, behind a small
//! synchronous API (navigate, find, type, click, text, attribute,
//! screenshot) so the tests read top to bottom.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::net;
pub use net::free_port;

pub mod server;
pub mod session;

/// Where Debian installs them (`chromium`, `chromium-driver`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// See [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16, timeout: Duration, what: &str) {
    assert!(
        net::listening_within(port, timeout),
        "{what} did not listen on port {port}"
    );
}

/// chromedriver and one headless Chromium session; both end on drop.
pub struct Browser {
    client: Client,
    runtime: tokio::runtime::Runtime,
    driver: Child,
    _profile: tempfile::TempDir,
    /// Where [`Browser::screenshot`] writes.
    pub shots: PathBuf,
}

/// An element handle.
#[derive(Debug, Clone)]
pub struct Element(fantoccini::elements::Element);

impl Browser {
    /// Starts chromedriver on a free port and opens a session with a fresh
    /// profile, an English Accept-Language and a 1280×1000 window.
    pub fn start(shots: &Path) -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the browser tests need Debian's chromium and chromium-driver \
                 (scripts/ensure-deps.sh installs them)"
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
        let caps = json!({
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
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("an object")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let session = runtime.block_on(
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        );
        let client = match session {
            Ok(client) => client,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("new session failed: {e}");
            }
        };
        Self {
            client,
            runtime,
            driver,
            _profile: profile,
            shots: shots.to_owned(),
        }
    }

    fn run<T>(&self, what: &str, f: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>) -> T {
        self.runtime.block_on(f).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.run(&format!("open {url}"), self.client.goto(url));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.run("current URL", self.client.current_url()).to_string()
    }

    /// The first element matching `css` now, if any.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        self.runtime
            .block_on(self.client.find(Locator::Css(css)))
            .ok()
            .map(Element)
    }

    /// The first element matching `css`, waiting up to 20 s for it.
    pub fn find(&self, css: &str) -> Element {
        self.wait(&format!("an element `{css}` on {}", self.url()), || self.try_find(css))
    }

    /// Every element matching `css` now.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.run(&format!("find `{css}`"), self.client.find_all(Locator::Css(css)))
            .into_iter()
            .map(Element)
            .collect()
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
        self.run("clear a field", el.0.clear());
        self.run("type into a field", el.0.send_keys(text));
    }

    /// Clicks `el`. Headless Chromium's layout viewport can be taller than
    /// what it paints (1000 vs 857 px), so an element in between cannot be
    /// clicked at a point; such a click is delivered by the element's own
    /// `click()` instead.
    pub fn click(&self, el: &Element) {
        match self.runtime.block_on(el.0.click()) {
            Ok(()) => {}
            Err(e) if e.to_string().contains("click intercepted") => {
                let arg = serde_json::to_value(&el.0).unwrap_or_else(|e| panic!("element as JSON: {e}"));
                self.run(
                    "click by script",
                    self.client.execute("arguments[0].click();", vec![arg]),
                );
            }
            Err(e) => panic!("click: {e}"),
        }
    }

    /// The rendered text of `el`.
    pub fn text(&self, el: &Element) -> String {
        self.run("element text", el.0.text())
    }

    /// An attribute of `el` (`None` too when the page moved on and `el` is stale).
    pub fn attr(&self, el: &Element, name: &str) -> Option<String> {
        self.runtime.block_on(el.0.attr(name)).ok().flatten()
    }

    /// A DOM property of `el` (e.g. a field's current `value`).
    pub fn prop(&self, el: &Element, name: &str) -> Option<String> {
        self.run(&format!("property {name}"), el.0.prop(name))
    }

    /// The text of the whole page body.
    pub fn body_text(&self) -> String {
        let body = self.find("body");
        self.text(&body)
    }

    /// Whether `el` is shown.
    pub fn displayed(&self, el: &Element) -> bool {
        self.run("check visibility", el.0.is_displayed())
    }

    /// Resizes the window (CSS pixels, as the page sees them).
    pub fn resize(&self, width: u32, height: u32) {
        self.run("resize the window", self.client.set_window_size(width, height));
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub fn eval(&self, script: &str) -> serde_json::Value {
        self.run("run a script", self.client.execute(script, Vec::new()))
    }

    /// The page's widths: (document scroll width, viewport width).
    pub fn widths(&self) -> (i64, i64) {
        let v = self.eval("return [document.documentElement.scrollWidth, window.innerWidth];");
        let n = |i: usize| v.get(i).and_then(serde_json::Value::as_i64).unwrap_or(i64::MAX);
        (n(0), n(1))
    }

    /// Screenshots of the current page at 1400 px and at 400 px wide
    /// (`<name>-1400`, `<name>-400`), asserting that at 400 px nothing
    /// scrolls sideways; the window is 1280 px wide again afterwards.
    pub fn at_both_widths(&self, name: &str) {
        self.resize(1400, 1000);
        self.screenshot(&format!("{name}-1400"));
        self.resize(400, 900);
        let (scroll, inner) = self.widths();
        assert!(inner <= 420, "the window is narrow: {inner} px");
        let shot = self.screenshot(&format!("{name}-400"));
        assert!(
            scroll <= inner,
            "{name} scrolls sideways at 400 px: {scroll} > {inner} ({})",
            shot.display()
        );
        self.resize(1280, 1000);
    }

    /// Saves a PNG of the viewport as `<shots>/<name>.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let path = self.shots.join(format!("{name}.png"));
        if let Ok(png) = self.runtime.block_on(self.client.screenshot()) {
            let _ = std::fs::write(&path, png);
        }
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.runtime.block_on(self.client.clone().close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
