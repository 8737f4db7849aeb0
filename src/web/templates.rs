//! The tera templates, compiled into the binary (autoescaping on for `.html`).

use tera::Tera;

/// Every template, by name.
const TEMPLATES: [(&str, &str); 2] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
];

/// Parses the embedded templates.
pub fn load() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES)?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_parse() {
        assert!(super::load().is_ok());
    }
}
