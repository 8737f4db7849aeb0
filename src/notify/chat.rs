//! Chat robot messages (DingTalk, WeCom, Feishu/Lark interactive card,
//! Slack) in the webhook's language, @-mentioning the people who should act:
//! the approvers of a ticket waiting for approval, the submitter of one that
//! failed ([`mentioned`]). Text a user typed (reason, note) cannot mention
//! anyone by itself: Slack and Feishu markup in it is escaped.

use serde_json::{json, Value};

use super::webhook::EventFacts;

/// The language of message texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// `en` or `zh-CN`.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Lang::En),
            "zh-CN" => Some(Lang::ZhCn),
            _ => None,
        }
    }
}

/// Someone a message @-mentions: their chat identity from their profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mention {
    /// Mobile number (DingTalk `atMobiles`, WeCom `mentioned_mobile_list`).
    pub mobile: String,
    /// Chat user id (DingTalk `atUserIds`, WeCom `mentioned_list`, Feishu `<at id>`, Slack `<@id>`).
    pub user_id: String,
}

/// Whom an event's chat message mentions: `approvers` while it waits for
/// approval, the submitter when it failed, nobody otherwise.
pub fn mentioned(to_state: &str) -> Mentioned {
    match to_state {
        "tested" | "rollback_requested" => Mentioned::Approvers,
        "failed" => Mentioned::Submitter,
        _ => Mentioned::Nobody,
    }
}

/// See [`mentioned`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mentioned {
    /// The leads who may still approve the ticket.
    Approvers,
    /// The ticket's submitter.
    Submitter,
    /// No one.
    Nobody,
}

fn state_name(lang: Lang, state: &str) -> String {
    if lang == Lang::En {
        return state.replace('_', " ");
    }
    match state {
        "submitted" => "已提交",
        "staged" => "已部署预发布",
        "tested" => "已测试",
        "approved" => "已审批",
        "releasing" => "发布中",
        "released" => "已发布",
        "returned" => "已退回",
        "rejected" => "已拒绝",
        "cancelled" => "已取消",
        "failed" => "失败",
        "rolled_back" => "已回滚",
        "rollback_requested" => "已申请回滚",
        "rollback_approved" => "回滚已审批",
        "rolling_back" => "回滚中",
        other => other,
    }
    .to_owned()
}

/// The message's title and body lines (plain text).
pub fn texts(lang: Lang, facts: &EventFacts) -> (String, Vec<String>) {
    let (p, id) = (&facts.project, facts.ticket_id);
    let to = state_name(lang, &facts.to);
    let from = facts
        .from
        .as_deref()
        .map(|s| state_name(lang, s))
        .unwrap_or_else(|| "-".into());
    let actor = facts.actor.as_deref().unwrap_or("Slipway");
    let rollback = facts.ticket_kind == "rollback";
    let mut lines = Vec::new();
    let title = match lang {
        Lang::En => {
            lines.push(format!(
                "{} #{id}: {}",
                if rollback { "Rollback" } else { "Release" },
                facts.reason
            ));
            lines.push(format!("{from} → {to} ({} by {actor})", facts.action));
            if let Some(v) = &facts.version {
                lines.push(format!("Version: {v}"));
            }
            if let Some(n) = facts.note.as_deref().filter(|n| !n.is_empty()) {
                lines.push(format!("Note: {n}"));
            }
            match mentioned(&facts.to) {
                Mentioned::Approvers => format!("[{p}] #{id} is waiting for your approval"),
                Mentioned::Submitter => format!("[{p}] #{id} failed"),
                Mentioned::Nobody => format!("[{p}] #{id} {to}"),
            }
        }
        Lang::ZhCn => {
            lines.push(format!(
                "{}工单 #{id}：{}",
                if rollback { "回滚" } else { "发布" },
                facts.reason
            ));
            lines.push(format!("{from} → {to}（{actor}：{}）", facts.action));
            if let Some(v) = &facts.version {
                lines.push(format!("版本：{v}"));
            }
            if let Some(n) = facts.note.as_deref().filter(|n| !n.is_empty()) {
                lines.push(format!("备注：{n}"));
            }
            match mentioned(&facts.to) {
                Mentioned::Approvers => format!("[{p}] #{id} 等待您审批"),
                Mentioned::Submitter => format!("[{p}] #{id} 失败"),
                Mentioned::Nobody => format!("[{p}] #{id} {to}"),
            }
        }
    };
    (title, lines)
}

fn open_label(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Open the ticket",
        Lang::ZhCn => "查看工单",
    }
}

/// `<`, `>` and `&` as entities, so typed text cannot become Slack or
/// Feishu markup (`<!channel>`, `<at id=all></at>`).
pub(super) fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn non_empty<'a>(values: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = values.filter(|v| !v.is_empty()).cloned().collect();
    out.sort();
    out.dedup();
    out
}

/// The request body of chat `preset` (`dingtalk`, `wecom`, `feishu`,
/// `slack`); `None` for another preset.
pub fn body(preset: &str, lang: Lang, facts: &EventFacts, mentions: &[Mention]) -> Option<Value> {
    let (title, lines) = texts(lang, facts);
    let mobiles = non_empty(mentions.iter().map(|m| &m.mobile));
    let user_ids = non_empty(mentions.iter().map(|m| &m.user_id));
    let plain = format!("{title}\n{}\n{}", lines.join("\n"), facts.url);
    Some(match preset {
        "dingtalk" => {
            // DingTalk highlights a mention only when the text names it too.
            let ats: String = mobiles.iter().chain(&user_ids).map(|a| format!(" @{a}")).collect();
            json!({
                "msgtype": "text",
                "text": { "content": format!("{plain}{ats}") },
                "at": { "atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": false },
            })
        }
        "wecom" => json!({
            "msgtype": "text",
            "text": {
                "content": plain,
                "mentioned_list": user_ids,
                "mentioned_mobile_list": mobiles,
            },
        }),
        "slack" => {
            let ats: String = user_ids.iter().map(|id| format!(" <@{}>", escape_markup(id))).collect();
            json!({ "text": format!("{}{ats}", escape_markup(&plain)) })
        }
        "feishu" => {
            let ats: String = user_ids
                .iter()
                .map(|id| format!("<at id={}></at>", escape_markup(id)))
                .collect();
            let text = escape_markup(&lines.join("\n"));
            let template = match mentioned(&facts.to) {
                Mentioned::Approvers => "orange",
                Mentioned::Submitter => "red",
                Mentioned::Nobody => "blue",
            };
            json!({
                "msg_type": "interactive",
                "card": {
                    "config": { "wide_screen_mode": true },
                    "header": {
                        "title": { "tag": "plain_text", "content": title },
                        "template": template,
                    },
                    "elements": [
                        { "tag": "div", "text": { "tag": "lark_md", "content": format!("{text}\n{ats}").trim_end() } },
                        { "tag": "action", "actions": [{
                            "tag": "button",
                            "text": { "tag": "plain_text", "content": open_label(lang) },
                            "type": "primary",
                            "url": facts.url,
                        }]},
                    ],
                },
            })
        }
        _ => return None,
    })
}
