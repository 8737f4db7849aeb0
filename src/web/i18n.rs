//! English and Simplified Chinese: a message catalogue per language
//! (`locales/*.toml`, compiled in), and choosing the language of a request
//! (the remembered switch cookie, else Accept-Language, else English).

use serde_json::Value;

/// A language Slipway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Lang::En),
            "zh-CN" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// The best language for an Accept-Language header.
    pub fn negotiate(header: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(20) {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::ZhCn
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }
}

/// The catalogues, as tera values (`t.key` in templates).
pub struct Catalogues {
    en: Value,
    zh: Value,
}

const EN: &str = include_str!("../../locales/en.toml");
const ZH: &str = include_str!("../../locales/zh-CN.toml");

fn parse(text: &str) -> Result<Value, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    serde_json::to_value(table).map_err(|e| e.to_string())
}

impl Catalogues {
    /// Parses the compiled-in catalogues.
    pub fn load() -> Result<Self, String> {
        Ok(Self {
            en: parse(EN).map_err(|e| format!("en: {e}"))?,
            zh: parse(ZH).map_err(|e| format!("zh-CN: {e}"))?,
        })
    }

    /// The catalogue of `lang`.
    pub fn get(&self, lang: Lang) -> &Value {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh,
        }
    }

    /// One message (`section.key` or `key`), falling back to the key.
    pub fn text(&self, lang: Lang, key: &str) -> String {
        let mut v = self.get(lang);
        for part in key.split('.') {
            match v.get(part) {
                Some(next) => v = next,
                None => return key.to_owned(),
            }
        }
        v.as_str().unwrap_or(key).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(map) = v.as_object() {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_object() {
                    keys(v, &name, out);
                } else {
                    out.push(name);
                }
            }
        }
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let c = Catalogues::load().expect("catalogues parse");
        let (mut en, mut zh) = (Vec::new(), Vec::new());
        keys(&c.en, "", &mut en);
        keys(&c.zh, "", &mut zh);
        en.sort();
        zh.sort();
        assert_eq!(en, zh);
        assert!(en.len() > 50);
    }

    #[test]
    fn every_state_and_action_has_a_name() {
        let c = Catalogues::load().expect("catalogues parse");
        for lang in [Lang::En, Lang::ZhCn] {
            for s in crate::domain::TicketState::ALL {
                let key = format!("state.{}", s.as_str());
                assert_ne!(c.text(lang, &key), key);
            }
            for a in crate::domain::Action::ALL {
                let key = format!("action.{}", a.as_str());
                assert_ne!(c.text(lang, &key), key);
            }
        }
    }

    #[test]
    fn every_release_step_has_a_name() {
        let c = Catalogues::load().expect("catalogues parse");
        for step in crate::deploy::Step::ALL {
            let key = format!("step.{}", step.name());
            assert_ne!(c.text(Lang::En, &key), key);
            let zh = c.text(Lang::ZhCn, &key);
            assert_ne!(zh, key);
            assert!(!zh.is_ascii(), "{key} is translated: {zh}");
        }
    }

    #[test]
    fn negotiates() {
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Lang::ZhCn);
        assert_eq!(Lang::negotiate("en-US,en;q=0.9,zh;q=0.5"), Lang::En);
        assert_eq!(Lang::negotiate("fr, zh;q=0.3"), Lang::ZhCn);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }
}
