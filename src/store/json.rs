//! Typed JSON-in-text columns (`projects.build_command`, `projects.excludes`,
//! `tickets.svn_paths`). A row field of type [`Json<T>`] is read from the
//! text column with `#[diesel(deserialize_as = String)]`, on both backends.
//!
//! A malformed stored value never turns into a default: loading the row
//! still works (pages can show the project and an admin can fix it), but
//! [`Json::get`] answers [`MalformedJson`], so a job that needs the value
//! fails with a clear error instead of, say, running `rsync --delete` with
//! no excludes.

use std::fmt;

use serde::de::DeserializeOwned;

/// A stored JSON value that does not parse as what the column holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored value is malformed JSON ({code}): {reason}")]
pub struct MalformedJson {
    /// Stable code: `store.malformed_json`.
    pub code: &'static str,
    /// What the JSON parser said (never the stored text).
    pub reason: String,
}

/// The stable code of [`MalformedJson`].
pub const MALFORMED_JSON: &str = "store.malformed_json";

/// A JSON column's stored text and what it parses to.
#[derive(Clone)]
pub struct Json<T> {
    raw: String,
    value: Result<T, MalformedJson>,
}

impl<T> Json<T> {
    /// The parsed value, or why the stored text is malformed.
    pub fn get(&self) -> Result<&T, MalformedJson> {
        self.value.as_ref().map_err(Clone::clone)
    }

    /// The parsed value, owned.
    pub fn into_inner(self) -> Result<T, MalformedJson> {
        self.value
    }

    /// The stored text.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

impl<T: DeserializeOwned> Json<T> {
    /// Parses stored text.
    pub fn parse(raw: String) -> Self {
        let value = serde_json::from_str(&raw).map_err(|e| MalformedJson {
            code: MALFORMED_JSON,
            reason: e.to_string(),
        });
        Self { raw, value }
    }
}

impl Json<Vec<String>> {
    /// The list for display: a malformed value shows as one item saying
    /// so (never as an empty list, which would look like "none").
    pub fn shown(&self) -> Vec<String> {
        match &self.value {
            Ok(items) => items.clone(),
            Err(e) => vec![format!("(malformed stored value: {})", e.reason)],
        }
    }
}

impl<T: DeserializeOwned> From<String> for Json<T> {
    fn from(raw: String) -> Self {
        Self::parse(raw)
    }
}

impl<T> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Json").field(&self.raw).finish()
    }
}

impl<T> PartialEq<&str> for Json<T> {
    fn eq(&self, other: &&str) -> bool {
        self.raw == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_text_is_an_error_never_a_default() {
        let good = Json::<Vec<String>>::parse(r#"["*.log"]"#.into());
        assert_eq!(good.get().map(Vec::len), Ok(1));
        let bad = Json::<Vec<String>>::parse(r#"["*.log""#.into());
        let e = bad.get().expect_err("malformed");
        assert_eq!(e.code, MALFORMED_JSON);
        assert!(bad.shown()[0].contains("malformed"));
        assert!(Json::<Vec<String>>::parse(String::new()).get().is_err());
    }
}
