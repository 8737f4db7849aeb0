//! The new-ticket form's error display: every field's problem at once,
//! each with the field's label and in the reader's language.

use std::collections::BTreeMap;

use crate::domain::validate::codes;
use crate::domain::InvalidInput;

use super::error_text::input_text;
use super::i18n::{Catalogues, Lang};

/// The form's revision: empty is HEAD; anything but a whole number is a problem.
pub fn revision(text: &str) -> (Option<i64>, Vec<InvalidInput>) {
    match text.trim() {
        "" => (None, Vec::new()),
        r => match r.parse::<i64>() {
            Ok(n) => (Some(n), Vec::new()),
            Err(_) => (
                None,
                vec![InvalidInput::new(
                    "svn_revision",
                    codes::NOT_A_NUMBER,
                    "must be a whole number",
                )],
            ),
        },
    }
}

/// Field name → translated message with the field's label; the first
/// problem of a field wins.
pub fn errors(cat: &Catalogues, lang: Lang, problems: &[InvalidInput]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in problems {
        out.entry(p.field.to_owned())
            .or_insert_with(|| input_text(cat, lang, p));
    }
    out
}
