//! Chat robot presets against loopback HTTP receivers, on SQLite and
//! PostgreSQL: DingTalk (signed URL, `at.atMobiles`/`atUserIds`), WeCom
//! (`mentioned_mobile_list`), Feishu/Lark (interactive card, signature in
//! the body, `<at id>`), Slack; each signature recomputed here. A ticket
//! waiting for approval mentions its approvers (not the submitter), a failed
//! one its submitter; texts follow the webhook's language. Users set their
//! chat identity on the profile page and through the API.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use slipway::domain::Action;
use slipway::jobs::announce::{NotifyHandler, NotifySettings, WebhookHandler};
use slipway::jobs::{Registry, Waker, Worker, WorkerOptions};
use slipway::notify::mail::Mailer;
use slipway::service::tickets::{self, ActionInput, ActorRef, NewRelease, Snapshot};
use slipway::store::Backend;

use common::app::TestApp;
use common::TestDb;

/// One request: request target (path and query), lower-case headers, body.
#[derive(Debug, Clone)]
struct Got {
    target: String,
    headers: BTreeMap<String, String>,
    body: Value,
}

/// A receiver answering 200 to every POST, keeping what it got.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
}

fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).ok();
            let target = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let mut headers = BTreeMap::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).ok();
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            sink.lock().expect("lock").push(Got { target, headers, body });
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    Receiver { port, got }
}

impl Receiver {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn take(&self) -> Vec<Got> {
        std::mem::take(&mut *self.got.lock().expect("lock"))
    }
}

fn hmac_b64(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("key");
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = percent_encoding::percent_decode_str(v).decode_utf8().expect("utf8");
            (k.to_owned(), v.into_owned())
        })
        .collect()
}

fn worker(db: &TestDb, data_dir: &Path) -> Worker {
    let client = || slipway::notify::webhook::Client::new(None, Duration::from_secs(5)).expect("client");
    let registry = Registry::new()
        .with(WebhookHandler {
            public_url: "http://slipway.test".into(),
            client: client(),
        })
        .with(NotifyHandler {
            settings: NotifySettings {
                mailer: Mailer::Files(data_dir.join("mail")),
                from: "Slipway <slipway@example.com>".into(),
                public_url: "http://slipway.test".into(),
                link_key: jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
                link_hours: 72,
                webhooks: client(),
                tera: Arc::new(slipway::notify::templates::load().expect("templates")),
                max_attempts: 5,
                park_delay: Duration::from_secs(600),
            },
        });
    let options = WorkerOptions {
        name: "chat-worker".into(),
        concurrency: 1,
        lease: Duration::from_secs(60),
        poll_interval: Duration::from_secs(1),
        max_attempts: 5,
        retry_base: Duration::from_secs(1),
        retry_cap: Duration::from_secs(1),
        data_dir: data_dir.to_owned(),
    };
    Worker::new(db.pool.clone(), registry, options, Waker::new())
}

fn drain(worker: &Worker) {
    while worker.run_one().expect("claim").is_some() {}
}

fn act(db: &TestDb, id: i64, input: ActionInput) {
    tickets::apply(&mut db.conn(), id, &input, chrono::Utc::now()).expect("apply");
}

/// Every preset gets the approval request mentioning the leads (not the
/// submitter lead3), signed its own way; the failure mentions the submitter.
fn presets_sign_and_mention(backend: Backend) {
    let (ding, wecom, feishu, slack) = (receiver(), receiver(), receiver(), receiver());
    let project = format!(
        r#"
[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
staging_url = "http://staging.shop.test/"
leads = ["lead1", "lead2", "lead3"]
developers = ["lead3"]
testers = ["tester"]
webhooks = [
  {{ url = "{}", preset = "dingtalk", secret = "SECding", language = "zh-CN" }},
  {{ url = "{}", preset = "wecom" }},
  {{ url = "{}", preset = "feishu", secret = "feishu-secret" }},
  {{ url = "{}", preset = "slack" }},
]
"#,
        ding.url("/robot/send?access_token=tok"),
        wecom.url("/cgi-bin/webhook/send?key=k"),
        feishu.url("/open-apis/bot/v2/hook/h"),
        slack.url("/services/x"),
    );
    let app = TestApp::new(backend)
        .with_users(&["lead1", "lead2", "lead3", "tester"])
        .with_project(&project)
        .start();
    let db = app.db();
    // Chat identities: lead1 by mobile and id, lead2 by id, lead3 (the submitter) by mobile.
    for (who, mobile, id) in [
        ("lead1", "+8613800000001", "ding_lead1"),
        ("lead2", "", "ou_lead2"),
        ("lead3", "13800000003", ""),
    ] {
        let reply = app.api(who).json(
            actix_web::http::Method::PUT,
            "/api/v1/me/chat",
            &json!({ "mobile": mobile, "user_id": id }),
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(db, dir.path());

    let submitter = ActorRef::User(app.uid("lead3"));
    let paths = vec!["src/app.js".to_owned()];
    let release = NewRelease {
        project: "shop",
        reason: "fix <at id=all></at> checkout <!channel>",
        svn_paths: &paths,
        svn_revision: None,
    };
    let id = tickets::submit(&mut db.conn(), submitter, &release, chrono::Utc::now())
        .expect("submit")
        .ticket
        .id;
    let mut staged = ActionInput::new(Action::StageSucceeded, ActorRef::System);
    staged.snapshot = Some(Snapshot {
        revision: 42,
        commit: "c0ffee".into(),
        base_revision: None,
        outside_paths: Vec::new(),
    });
    act(db, id, staged);
    drain(&worker);
    for r in [&ding, &wecom, &feishu, &slack] {
        r.take();
    }
    let before = chrono::Utc::now().timestamp();
    act(
        db,
        id,
        ActionInput::new(Action::MarkTested, ActorRef::User(app.uid("tester"))),
    );
    drain(&worker);
    let after = chrono::Utc::now().timestamp();

    // DingTalk: signed URL, at.atMobiles / atUserIds, Chinese text.
    let got = ding.take();
    assert_eq!(got.len(), 1, "{got:?}");
    let q = query(&got[0].target);
    assert_eq!(q.get("access_token").map(String::as_str), Some("tok"));
    let ts = &q["timestamp"];
    let ts_s = ts.parse::<i64>().expect("ms") / 1000;
    assert!((before..=after).contains(&ts_s), "timestamp in milliseconds, now");
    assert_eq!(q["sign"], hmac_b64(b"SECding", format!("{ts}\nSECding").as_bytes()));
    let body = &got[0].body;
    assert_eq!(body["msgtype"], "text");
    assert_eq!(body["at"]["atMobiles"], json!(["+8613800000001"]));
    assert_eq!(body["at"]["atUserIds"], json!(["ding_lead1", "ou_lead2"]));
    assert_eq!(body["at"]["isAtAll"], false);
    let content = body["text"]["content"].as_str().expect("content");
    assert!(
        content.contains("等待您审批") && content.contains("@+8613800000001"),
        "{content}"
    );
    assert!(
        !content.contains("13800000003"),
        "the submitter is not asked to approve"
    );
    assert!(!got[0].headers.contains_key("x-slipway-signature"));

    // WeCom: mentioned_mobile_list and mentioned_list, English.
    let got = wecom.take();
    assert_eq!(got.len(), 1);
    let text = &got[0].body["text"];
    assert_eq!(text["mentioned_mobile_list"], json!(["+8613800000001"]));
    assert_eq!(text["mentioned_list"], json!(["ding_lead1", "ou_lead2"]));
    assert!(text["content"]
        .as_str()
        .is_some_and(|c| c.contains("waiting for your approval")));

    // Feishu: interactive card, signature in the body, <at id>, markup in the reason escaped.
    let got = feishu.take();
    assert_eq!(got.len(), 1);
    let body = &got[0].body;
    assert_eq!(body["msg_type"], "interactive");
    let ts = body["timestamp"].as_str().expect("timestamp is a string");
    let ts_s: i64 = ts.parse().expect("seconds");
    assert!((before..=after).contains(&ts_s));
    assert_eq!(body["sign"], hmac_b64(format!("{ts}\nfeishu-secret").as_bytes(), b""));
    let card_text = body["card"]["elements"][0]["text"]["content"]
        .as_str()
        .expect("lark_md");
    assert!(
        card_text.contains("<at id=ding_lead1></at><at id=ou_lead2></at>"),
        "{card_text}"
    );
    assert!(
        card_text.contains("&lt;at id=all&gt;"),
        "typed markup stays text: {card_text}"
    );
    assert_eq!(
        body["card"]["elements"][1]["actions"][0]["url"],
        format!("http://slipway.test/tickets/{id}")
    );

    // Slack: <@id>, typed <!channel> escaped.
    let got = slack.take();
    assert_eq!(got.len(), 1);
    let text = got[0].body["text"].as_str().expect("text");
    assert!(
        text.contains("<@ding_lead1> <@ou_lead2>") && text.contains("&lt;!channel&gt;"),
        "{text}"
    );

    // A failure mentions the submitter (lead3, by mobile).
    let ticket2 = tickets::submit(
        &mut db.conn(),
        ActorRef::User(app.uid("lead3")),
        &release,
        chrono::Utc::now(),
    )
    .expect("submit")
    .ticket
    .id;
    drain(&worker);
    ding.take();
    wecom.take();
    let mut failed = ActionInput::new(Action::JobFailed, ActorRef::System);
    failed.note = Some("svn: E170013".into());
    act(db, ticket2, failed);
    drain(&worker);
    let got = ding.take();
    assert_eq!(got[0].body["at"]["atMobiles"], json!(["13800000003"]));
    assert!(got[0].body["text"]["content"]
        .as_str()
        .is_some_and(|c| c.contains("失败")));
    assert_eq!(
        wecom.take()[0].body["text"]["mentioned_mobile_list"],
        json!(["13800000003"])
    );
}

/// The profile page shows and saves the chat identity; bad input is refused
/// with the field's message.
fn profile_page_sets_the_chat_identity(backend: Backend) {
    let app = TestApp::new(backend).with_users(&["dev"]).start();
    let page = app.browser("dev").get("/profile");
    assert!(page.text().contains("name=\"chat_mobile\""), "{}", page.text());
    let saved = app.browser("dev").post_form(
        "/profile/chat",
        &[("chat_mobile", "138 0000 0009"), ("chat_user_id", "u9")],
    );
    assert_eq!(saved.status, 200, "{}", saved.text());
    assert!(saved.text().contains("value=\"13800000009\""));
    let got = app.api("dev").get("/api/v1/me/chat").json();
    assert_eq!(got, json!({ "mobile": "13800000009", "user_id": "u9" }));
    let bad = app
        .browser("dev")
        .post_form("/profile/chat", &[("chat_mobile", "call me"), ("chat_user_id", "")]);
    assert_eq!(bad.status, 400);
    let bad = app.api("dev").json(
        actix_web::http::Method::PUT,
        "/api/v1/me/chat",
        &json!({ "mobile": "", "user_id": "<at id=all>" }),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["reason"], "input.chat_user_id");
    assert_eq!(
        app.api("dev").get("/api/v1/me/chat").json()["user_id"],
        "u9",
        "unchanged"
    );
}

app_tests!(presets_sign_and_mention, profile_page_sets_the_chat_identity);
