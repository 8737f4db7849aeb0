//! Every error code used in `src/` has an English and a Chinese message, and
//! every field an input error names has a label in both languages: the test
//! reads the sources for `"input.*"` and `"error.*"` codes, the domain's
//! refusal codes (`Refusal::code`) and the fields of `InvalidInput::new` and
//! `.on(…)`, and looks each up in `locales/en.toml` and `locales/zh-CN.toml`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// String literals in `text` that start with `prefix` and look like a key.
fn literals(text: &str, prefix: &str, out: &mut BTreeSet<String>) {
    let needle = format!("\"{prefix}");
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let tail = &rest[at + 1..];
        let end = tail.find('"').unwrap_or(0);
        let key = &tail[..end];
        // `input.empty`, not `error.html`: one word of a-z and `_` after the section.
        let word = &key[prefix.len().min(key.len())..];
        if !word.is_empty() && !word.ends_with("html") && word.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.insert(key.to_owned());
        }
        rest = &tail[end..];
    }
}

/// The first string literal after each `marker` (skipping whitespace).
fn first_literal_after(text: &str, marker: &str, out: &mut BTreeSet<String>) {
    for (i, _) in text.match_indices(marker) {
        let tail = text[i + marker.len()..].trim_start();
        if let Some(lit) = tail.strip_prefix('"') {
            if let Some(end) = lit.find('"') {
                out.insert(lit[..end].to_owned());
            }
        }
    }
}

fn lookup<'a>(catalogue: &'a toml::Table, key: &str) -> Option<&'a str> {
    let mut parts = key.split('.');
    let mut value = catalogue.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    value.as_str()
}

#[test]
fn every_error_code_and_field_has_english_and_chinese_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let (mut codes, mut fields) = (BTreeSet::new(), BTreeSet::new());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        literals(&text, "input.", &mut codes);
        literals(&text, "error.", &mut codes);
        first_literal_after(&text, "InvalidInput::new(", &mut fields);
        first_literal_after(&text, ".on(", &mut fields);
    }
    // The domain's refusals: `Refusal::X { .. } => "code"` in `Refusal::code`.
    let decision = std::fs::read_to_string(root.join("src/domain/decision.rs")).expect("decision.rs");
    let code_fn = decision
        .split("pub fn code(&self)")
        .nth(1)
        .and_then(|rest| rest.split("pub fn kind(&self)").next())
        .expect("Refusal::code");
    let mut refusals = BTreeSet::new();
    first_literal_after(code_fn, "=>", &mut refusals);
    assert!(refusals.len() >= 9, "{refusals:?}");
    codes.extend(refusals.iter().map(|r| format!("refusal.{r}")));
    assert!(codes.len() > 60, "the scan finds the codes: {codes:?}");
    assert!(
        fields.contains("svn_paths") && fields.contains("time_zone"),
        "{fields:?}"
    );
    let mut missing = Vec::new();
    for lang in ["en", "zh-CN"] {
        let text = std::fs::read_to_string(root.join(format!("locales/{lang}.toml"))).expect("catalogue");
        let catalogue: toml::Table = toml::from_str(&text).expect("catalogue parses");
        for code in &codes {
            if lookup(&catalogue, code).is_none_or(str::is_empty) {
                missing.push(format!("{lang}: {code}"));
            }
        }
        for field in &fields {
            if lookup(&catalogue, &format!("field.{field}")).is_none() {
                missing.push(format!("{lang}: field.{field}"));
            }
        }
    }
    assert!(missing.is_empty(), "untranslated: {missing:#?}");
}
