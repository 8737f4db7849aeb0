//! The catalogue each page template gets: only the sections it (with the
//! templates it extends, includes or imports) names as `t.<section>`.
//!
//! Tera copies every value put into a page's context, so handing each page
//! the whole catalogue (some 600 messages) cost a deep copy per request.
//! The sections a template uses are read from its source once at start-up;
//! a template that indexes `t` itself (`t[…]`) gets the whole catalogue.

use std::collections::{BTreeSet, HashMap};

use tera::Value;

use super::i18n::{Catalogues, Lang};

/// Per template and language, the catalogue sections the template uses.
pub struct PageCatalogues {
    by_template: HashMap<&'static str, [Value; 2]>,
}

/// What a template's source names from the catalogue.
#[derive(Debug, PartialEq, Eq)]
enum Uses {
    /// These top-level sections (`t.nav`, `t.state`…).
    Sections(BTreeSet<String>),
    /// The catalogue as a whole (`t[…]`).
    Everything,
}

/// The templates `source` extends, includes or imports, by name.
fn referenced(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for tag in source.split("{%").skip(1) {
        // `{%- include … %}` trims whitespace: the `-` is not part of the tag.
        let tag = tag.trim_start_matches('-').trim_start();
        if ["extends", "include", "import"].iter().any(|k| tag.starts_with(k)) {
            if let Some(name) = tag.split('"').nth(1) {
                out.push(name);
            }
        }
    }
    out
}

/// The `t.<section>` names in `source` (a `t` not part of a longer name).
fn scan(source: &str, into: &mut BTreeSet<String>) -> bool {
    let bytes = source.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for (i, _) in source.match_indices('t') {
        if i > 0 && (ident(bytes[i - 1]) || bytes[i - 1] == b'.') {
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'[') => return false,
            Some(b'.') => {
                let name: String = source[i + 2..]
                    .chars()
                    .take_while(|&c| c.is_ascii() && ident(c as u8))
                    .collect();
                if !name.is_empty() {
                    into.insert(name);
                }
            }
            _ => {}
        }
    }
    true
}

/// What `name` and every template it pulls in use from the catalogue.
fn uses(name: &str, sources: &HashMap<&str, &str>) -> Uses {
    let mut sections = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut todo = vec![name];
    while let Some(next) = todo.pop() {
        if !seen.insert(next) {
            continue;
        }
        let Some(source) = sources.get(next) else {
            return Uses::Everything;
        };
        if !scan(source, &mut sections) {
            return Uses::Everything;
        }
        todo.extend(referenced(source));
    }
    Uses::Sections(sections)
}

/// `catalogue` cut down to `uses`.
fn cut(catalogue: &Value, uses: &Uses) -> Value {
    match (uses, catalogue.as_object()) {
        (Uses::Sections(names), Some(map)) => Value::Object(
            map.iter()
                .filter(|(k, _)| names.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => catalogue.clone(),
    }
}

impl PageCatalogues {
    /// Works out, for each of `templates` (name, source), what it uses.
    pub fn new(catalogues: &Catalogues, templates: &[(&'static str, &'static str)]) -> Self {
        let sources: HashMap<&str, &str> = templates.iter().copied().collect();
        let by_template = templates
            .iter()
            .map(|&(name, _)| {
                let uses = uses(name, &sources);
                let cut = |lang| cut(catalogues.get(lang), &uses);
                (name, [cut(Lang::En), cut(Lang::ZhCn)])
            })
            .collect();
        Self { by_template }
    }

    /// The catalogue `template` gets in `lang`; `None` for a template not
    /// known at start-up (the caller hands it the whole catalogue).
    pub fn get(&self, template: &str, lang: Lang) -> Option<&Value> {
        let [en, zh] = self.by_template.get(template)?;
        Some(match lang {
            Lang::En => en,
            Lang::ZhCn => zh,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(names: &[&str]) -> Uses {
        Uses::Sections(names.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn a_template_gets_its_own_sections_and_those_it_pulls_in() {
        let sources: HashMap<&str, &str> = [
            ("base.html", "<nav>{{ t.nav.home }}</nav>{% block body %}{% endblock %}"),
            ("macros.html", "{% macro s(x, t) %}{{ t.state[x] }}{% endmacro s %}"),
            (
                "page.html",
                "{% extends \"base.html\" %}{% import \"macros.html\" as m %}{{ t.home.title }} {{ at.x }} {{ m::s(x=1, t=t) }}",
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(uses("page.html", &sources), sections(&["home", "nav", "state"]));
    }

    #[test]
    fn indexing_the_catalogue_itself_or_an_unknown_template_gets_everything() {
        let sources: HashMap<&str, &str> = [
            ("a.html", "{{ t[key] }}"),
            ("b.html", "{% include \"missing.html\" %}"),
            ("c.html", "{%- include \"missing.html\" -%}"),
        ]
        .into_iter()
        .collect();
        assert_eq!(uses("a.html", &sources), Uses::Everything);
        assert_eq!(uses("b.html", &sources), Uses::Everything);
        // Whitespace control (`{%-`) does not hide what a template pulls in.
        assert_eq!(uses("c.html", &sources), Uses::Everything);
    }

    #[test]
    fn every_page_template_keeps_what_it_names() {
        let catalogues = Catalogues::load().expect("catalogues");
        let pages = PageCatalogues::new(&catalogues, &crate::web::templates::TEMPLATES);
        let ticket = pages.get("ticket.html", Lang::ZhCn).expect("ticket.html");
        for section in ["nav", "ticket", "state", "outside", "live"] {
            assert!(ticket.get(section).is_some(), "{section}");
        }
        assert!(ticket.get("admin").is_none());
        assert!(pages.get("nope.html", Lang::En).is_none());
    }
}
