//! What a drift notice says: the mail context and the webhook body of drift
//! found on a host (a hand edit, a deleted or an added file; see
//! [`crate::deploy::drift`]), in English or Simplified Chinese.

use serde_json::{json, Value};

use super::chat::Lang;

/// The facts of one drift found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DriftFacts {
    /// Project name.
    pub project: String,
    /// Host name.
    pub host: String,
    /// The release the host was compared with.
    pub version: String,
    /// Files changed.
    pub changed: i32,
    /// Files missing.
    pub missing: i32,
    /// Files added.
    pub added: i32,
    /// The first paths (`changed PATH`, …).
    pub paths: Vec<String>,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The project's page.
    pub url: String,
}

/// One line of text: title and counts.
pub fn text(lang: Lang, f: &DriftFacts) -> String {
    let head = match lang {
        Lang::ZhCn => format!(
            "[{}] 主机 {} 与 {} 不一致：{} 个文件被改，{} 个缺失，{} 个多出",
            f.project, f.host, f.version, f.changed, f.missing, f.added
        ),
        Lang::En => format!(
            "[{}] drift on {} against {}: {} changed, {} missing, {} added",
            f.project, f.host, f.version, f.changed, f.missing, f.added
        ),
    };
    let paths: Vec<&str> = f.paths.iter().take(10).map(String::as_str).collect();
    format!("{head}\n{}\n{}", paths.join("\n"), f.url)
}

/// The body for `preset`: the `json` document (`type: host.drift`) or a
/// plain-text chat message.
pub fn body(preset: &str, lang: Lang, f: &DriftFacts) -> Value {
    let plain = text(lang, f);
    match preset {
        "dingtalk" | "wecom" => json!({ "msgtype": "text", "text": { "content": plain } }),
        "slack" => json!({ "text": super::chat::escape_markup(&plain) }),
        "feishu" => json!({ "msg_type": "text", "content": { "text": plain } }),
        _ => json!({
            "type": "host.drift",
            "project": f.project,
            "host": f.host,
            "version": f.version,
            "changed": f.changed,
            "missing": f.missing,
            "added": f.added,
            "paths": f.paths,
            "at": f.at,
            "url": f.url,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_the_host_and_counts() {
        let f = DriftFacts {
            project: "shop".into(),
            host: "web1".into(),
            version: "v1".into(),
            changed: 1,
            missing: 0,
            added: 2,
            paths: vec!["changed lib/a.js".into()],
            at: "2026-11-29T00:00:00+00:00".into(),
            url: "http://x/projects/shop".into(),
        };
        assert_eq!(body("json", Lang::En, &f)["type"], "host.drift");
        let zh = body("dingtalk", Lang::ZhCn, &f)["text"]["content"].to_string();
        assert!(zh.contains("web1") && zh.contains("lib/a.js"), "{zh}");
        assert!(body("slack", Lang::En, &f)["text"].to_string().contains("1 changed"));
    }
}
