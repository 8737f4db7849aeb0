//! The tera templates, compiled into the binary (autoescaping on for `.html`).

use std::collections::HashMap;

use tera::{Tera, Value};

/// Every template, by name.
pub const TEMPLATES: [(&str, &str); 23] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("tickets.html", include_str!("../../templates/tickets.html")),
    ("new_ticket.html", include_str!("../../templates/new_ticket.html")),
    ("ticket.html", include_str!("../../templates/ticket.html")),
    ("project.html", include_str!("../../templates/project.html")),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("profile.html", include_str!("../../templates/profile.html")),
    ("admin_users.html", include_str!("../../templates/admin_users.html")),
    (
        "admin_projects.html",
        include_str!("../../templates/admin_projects.html"),
    ),
    (
        "admin_project_form.html",
        include_str!("../../templates/admin_project_form.html"),
    ),
    ("admin_hosts.html", include_str!("../../templates/admin_hosts.html")),
    ("admin_import.html", include_str!("../../templates/admin_import.html")),
    (
        "admin_host_edit.html",
        include_str!("../../templates/admin_host_edit.html"),
    ),
    ("admin_confirm.html", include_str!("../../templates/admin_confirm.html")),
    (
        "admin_host_check.html",
        include_str!("../../templates/admin_host_check.html"),
    ),
    ("approve_link.html", include_str!("../../templates/approve_link.html")),
    ("notify_prefs.html", include_str!("../../templates/notify_prefs.html")),
    ("services.html", include_str!("../../templates/services.html")),
    ("service_job.html", include_str!("../../templates/service_job.html")),
];

/// `{{ rfc3339 | utc }}`: `2026-11-25 12:00 UTC` (what pages show without JS).
fn utc(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let s = value.as_str().unwrap_or("");
    Ok(Value::String(match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => s.to_owned(),
    }))
}

/// Parses the embedded templates.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.register_filter("utc", utc);
    tera.add_raw_templates(TEMPLATES)?;
    Ok(tera)
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_parse() {
        if let Err(e) = super::load() {
            panic!("{e:?}");
        }
    }
}
