//! Error messages in the reader's language. Every service and input error
//! has a stable code ([`ServiceError::code`]: `input.*`, `refusal.*`,
//! `error.*`) that is a key in `locales/en.toml` and `locales/zh-CN.toml`;
//! `{name}` placeholders take the values the error carries. A field's
//! label comes from `[field]`. The API keeps answering in English with the
//! code beside the message (`web/error.rs`).

use crate::domain::{InvalidInput, Refusal};
use crate::service::ServiceError;

use super::error::AppError;
use super::i18n::{Catalogues, Lang};

/// Looks up `key`; `None` when the catalogue lacks it.
fn lookup(cat: &Catalogues, lang: Lang, key: &str) -> Option<String> {
    let text = cat.text(lang, key);
    (text != key).then_some(text)
}

/// `template` with each `{name}` replaced by its value.
fn fill(template: String, params: &[(&'static str, String)]) -> String {
    params.iter().fold(template, |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

/// The label of form field `field` (`SVN paths` for `svn_paths`), else the name.
pub fn field_label(cat: &Catalogues, lang: Lang, field: &str) -> String {
    lookup(cat, lang, &format!("field.{field}")).unwrap_or_else(|| field.to_owned())
}

/// What is wrong with an input, without the field's label.
pub fn input_problem(cat: &Catalogues, lang: Lang, e: &InvalidInput) -> String {
    lookup(cat, lang, e.code).map_or_else(|| e.problem.clone(), |t| fill(t, &e.params))
}

/// An input problem with the field's label: `SVN paths: must not contain ..`.
pub fn input_text(cat: &Catalogues, lang: Lang, e: &InvalidInput) -> String {
    let sep = lookup(cat, lang, "error.field_sep").unwrap_or_else(|| ": ".to_owned());
    format!(
        "{}{sep}{}",
        field_label(cat, lang, e.field),
        input_problem(cat, lang, e)
    )
}

/// The message of a stored error code (`refusal.frozen`, …) in `lang`,
/// when the catalogue has it and it needs no values; `None` otherwise
/// (the caller keeps the English text stored beside the code).
pub fn code_text(cat: &Catalogues, lang: Lang, code: &str) -> Option<String> {
    lookup(cat, lang, code).filter(|text| !text.contains('{'))
}

/// A domain refusal in words.
pub fn refusal_text(cat: &Catalogues, lang: Lang, r: &Refusal) -> String {
    let specific = match r {
        Refusal::NotPermitted { action, .. } => lookup(cat, lang, &format!("why.not_permitted.{}", action.as_str())),
        _ => None,
    };
    specific
        .or_else(|| lookup(cat, lang, &format!("refusal.{}", r.code())))
        .unwrap_or_else(|| r.to_string())
}

/// A service error in words.
pub fn service_text(cat: &Catalogues, lang: Lang, e: &ServiceError) -> String {
    match e {
        ServiceError::Invalid(invalid) => input_text(cat, lang, invalid),
        ServiceError::Refused(refusal) => refusal_text(cat, lang, refusal),
        ServiceError::NotFound { what, name } => lookup(cat, lang, &e.code()).map_or_else(
            || e.to_string(),
            |t| fill(t, &[("what", (*what).to_owned()), ("name", name.clone())]),
        ),
        ServiceError::Disabled(name) => {
            lookup(cat, lang, &e.code()).map_or_else(|| e.to_string(), |t| fill(t, &[("name", name.clone())]))
        }
        ServiceError::Conflict(..) | ServiceError::Forbidden(..) | ServiceError::Store(_) => {
            lookup(cat, lang, &e.code()).unwrap_or_else(|| e.to_string())
        }
    }
}

/// What a page shows for `e`: translated when it comes from the service
/// layer; internal errors are logged and shown without detail.
pub fn page_text(cat: &Catalogues, lang: Lang, e: &AppError) -> String {
    match e {
        AppError::Service(service) if e.code().1 != actix_web::http::StatusCode::INTERNAL_SERVER_ERROR => {
            service_text(cat, lang, service)
        }
        AppError::Service(_) | AppError::Internal(_) => {
            // Logs the detail.
            let _ = e.public_message();
            lookup(cat, lang, crate::service::error::codes::INTERNAL).unwrap_or_else(|| e.public_message())
        }
        other => other.public_message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::codes;

    #[test]
    fn chinese_messages_with_labels_and_values() {
        let cat = Catalogues::load().expect("catalogues");
        let e = InvalidInput::new("svn_paths", codes::SVN_PATH_DOTDOT, "`../x`: must not contain `..`")
            .with("path", "../x");
        assert_eq!(
            input_text(&cat, Lang::En, &e),
            "SVN paths: `../x` must not contain `..`."
        );
        let zh = input_text(&cat, Lang::ZhCn, &e);
        assert!(zh.starts_with("SVN 路径：") && zh.contains("../x"), "{zh}");
        let e = InvalidInput::new("reason", codes::TOO_LONG, "must be at most 4000 characters").with("max", 4000);
        assert!(input_text(&cat, Lang::ZhCn, &e).contains("4000"));
    }
}
