//! Ports for test servers: the one free-port helper every test helper uses
//! (svnserve, sshd, SMTP, chromedriver, the slipway binary), and a wait for
//! a server to listen. The other helpers (`common_svn`, `common_ssh`,
//! `common_webdriver`) use this one, so a test crate that includes them
//! also includes `common`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A port nothing listens on, never handed out twice in this process (two
/// servers started at once in one test cannot race for the same port).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..100 {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
    panic!("no free port after 100 tries");
}

/// Waits until something accepts connections on `port` of 127.0.0.1;
/// whether it did within `timeout`.
pub fn listening_within(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}
