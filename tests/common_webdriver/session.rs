//! A signed-in user's view of Slipway in the browser: navigate, sign in
//! and out, read a ticket's state, act on it, file a ticket.

use std::time::{Duration, Instant};

use super::Browser;

/// The password the browser tests give every user.
pub const PASSWORD: &str = "browser-test-pw";

/// One browser session against one server.
pub struct Session<'a> {
    /// The browser.
    pub b: &'a Browser,
    /// The server's base URL.
    pub base: &'a str,
}

impl Session<'_> {
    pub fn goto(&self, path: &str) {
        self.b.goto(&format!("{}{path}", self.base));
    }

    pub fn login(&self, user: &str) {
        self.goto("/login");
        let name = self.b.find("#username");
        self.b.type_into(&name, user);
        let pw = self.b.find("#password");
        self.b.type_into(&pw, PASSWORD);
        self.b.click(&self.b.find("#login"));
        self.b.wait(&format!("{user} signed in"), || {
            self.b
                .try_find("form[action='/logout']")
                .filter(|_| !self.b.url().contains("/login"))
        });
    }

    pub fn logout(&self) {
        self.b.click(&self.b.find("form[action='/logout'] button"));
        self.b.wait("the login page", || {
            self.b.try_find("#login").filter(|_| self.b.url().ends_with("/login"))
        });
    }

    pub fn state(&self) -> String {
        self.b.wait("the ticket's state", || {
            self.b
                .try_find("#ticket-state")
                .and_then(|el| self.b.attr(&el, "data-state"))
        })
    }

    /// Reloads the ticket page until it is in `state` (the worker's jobs take a moment).
    pub fn wait_state(&self, id: i64, states: &[&str]) -> String {
        let start = Instant::now();
        loop {
            self.goto(&format!("/tickets/{id}"));
            let now = self.state();
            if states.contains(&now.as_str()) {
                return now;
            }
            if start.elapsed() > Duration::from_secs(90) {
                let shot = self.b.screenshot(&format!("timeout-ticket-{id}"));
                panic!(
                    "ticket {id} stayed `{now}`, wanted {states:?}: {} ({})",
                    self.b.body_text(),
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Presses an action button on the ticket page and waits for the page to come back.
    pub fn act(&self, id: i64, action: &str, note: &str) {
        self.goto(&format!("/tickets/{id}"));
        self.act_here(id, action, note);
    }

    /// Presses an action button on the ticket page already shown.
    pub fn act_here(&self, id: i64, action: &str, note: &str) {
        if !note.is_empty() {
            let n = self.b.find("#note");
            self.b.type_into(&n, note);
        }
        let before = self.state();
        self.b.click(&self.b.find(&format!("#act-{action}")));
        self.b.wait(&format!("{action} on #{id} done"), || {
            self.b
                .try_find("#ticket-state")
                .and_then(|el| self.b.attr(&el, "data-state"))
                .filter(|s| *s != before || self.b.try_find("#action-error").is_some())
        });
        if let Some(err) = self.b.try_find("#action-error") {
            panic!("{action} on #{id} refused: {}", self.b.text(&err));
        }
    }

    /// Files a ticket through the form; returns its id.
    pub fn file_ticket(&self, reason: &str, paths: &str) -> i64 {
        self.goto("/tickets/new");
        self.b.click(&self.b.find("#project option[value='shop']"));
        let r = self.b.find("#reason");
        self.b.type_into(&r, reason);
        let p = self.b.find("#svn_paths");
        self.b.type_into(&p, paths);
        self.b.click(&self.b.find("#file-ticket"));
        self.b.wait("the new ticket's page", || {
            let url = self.b.url();
            let id = url.rsplit("/tickets/").next()?.parse::<i64>().ok()?;
            self.b.try_find("#ticket-state").map(|_| id)
        })
    }
}
