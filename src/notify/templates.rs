//! The email templates (`templates/email/<name>/{subject.txt,body.txt,body.html}.tera`),
//! compiled in. Each template speaks English and Simplified Chinese (the
//! `lang` variable); HTML bodies are autoescaped.

use tera::{Context, Tera};

macro_rules! email {
    ($name:literal) => {
        [
            (
                concat!("email/", $name, "/subject.txt.tera"),
                include_str!(concat!("../../templates/email/", $name, "/subject.txt.tera")),
            ),
            (
                concat!("email/", $name, "/body.txt.tera"),
                include_str!(concat!("../../templates/email/", $name, "/body.txt.tera")),
            ),
            (
                concat!("email/", $name, "/body.html.tera"),
                include_str!(concat!("../../templates/email/", $name, "/body.html.tera")),
            ),
        ]
    };
}

/// Parses the embedded email templates.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html.tera"]);
    let mut all: Vec<(&str, &str)> = vec![(
        "email/layout/body.html.tera",
        include_str!("../../templates/email/layout/body.html.tera"),
    )];
    for set in [
        email!("staged"),
        email!("approval_requested"),
        email!("decision"),
        email!("finished"),
        email!("reminder"),
        email!("schedule_failed"),
        email!("drift"),
    ] {
        all.extend(set);
    }
    tera.add_raw_templates(all)?;
    Ok(tera)
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// Plain text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Renders template set `name` with `context`.
pub fn render(tera: &Tera, name: &str, context: &Context) -> Result<Rendered, tera::Error> {
    let subject = tera.render(&format!("email/{name}/subject.txt.tera"), context)?;
    Ok(Rendered {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: tera.render(&format!("email/{name}/body.txt.tera"), context)?,
        html: tera.render(&format!("email/{name}/body.html.tera"), context)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_in_both_languages() {
        let tera = load().unwrap_or_else(|e| panic!("{e:?}"));
        for name in [
            "staged",
            "approval_requested",
            "decision",
            "finished",
            "reminder",
            "schedule_failed",
        ] {
            for lang in ["en", "zh-CN"] {
                let mut c = Context::new();
                c.insert("lang", lang);
                c.insert("name", "Ann <ann>");
                c.insert("project", "shop");
                c.insert(
                    "ticket",
                    &serde_json::json!({ "id": 7, "reason": "fix <b>", "state": "tested" }),
                );
                c.insert("ticket_url", "http://x/tickets/7");
                c.insert(
                    "outside_paths",
                    &serde_json::json!([{ "status": "D", "path": "lib/cart.js", "brought_by": ["r3", "ticket #2"] }]),
                );
                c.insert("profile_url", "http://x/profile");
                c.insert("staging_url", "http://staging/");
                c.insert("submitter", "dev");
                c.insert("actor", "lead");
                c.insert("note", "");
                c.insert("to_state", "released");
                c.insert("version", "v3");
                c.insert("approve_url", "http://x/approve/a");
                c.insert("reject_url", "http://x/approve/r");
                c.insert("link_hours", &72);
                c.insert("waited_hours", &5);
                c.insert("to_admin", &false);
                let r = render(&tera, name, &c).unwrap_or_else(|e| panic!("{name} {lang}: {e:?}"));
                assert!(r.subject.contains("#7"), "{name} {lang}: {}", r.subject);
                assert!(
                    r.html.contains("fix &lt;b&gt;") || !r.html.contains("fix"),
                    "{name}: HTML is escaped"
                );
                assert!(!r.text.contains("&lt;"), "{name}: text is not escaped");
                if lang == "zh-CN" {
                    assert!(r.text.contains("您好"), "{name}");
                }
            }
        }
    }

    #[test]
    fn the_drift_mail_renders_in_both_languages() {
        let tera = load().unwrap_or_else(|e| panic!("{e:?}"));
        for lang in ["en", "zh-CN"] {
            let mut c = Context::new();
            c.insert("lang", lang);
            c.insert("name", "Ann");
            c.insert("project", "shop");
            c.insert("host", "web<1>");
            c.insert("version", "v1");
            c.insert("changed", &1);
            c.insert("missing", &0);
            c.insert("added", &2);
            c.insert("paths", &["changed lib/a.js"]);
            c.insert("project_url", "http://x/projects/shop");
            c.insert("profile_url", "http://x/profile");
            let r = render(&tera, "drift", &c).unwrap_or_else(|e| panic!("{lang}: {e:?}"));
            assert!(r.subject.contains("web<1>"), "{}", r.subject);
            assert!(r.html.contains("web&lt;1&gt;") && r.text.contains("lib/a.js"));
        }
    }
}
