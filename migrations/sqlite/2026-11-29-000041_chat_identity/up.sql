-- Issue 14: chat that reaches the approver. A user's chat identity (mobile
-- number and/or chat user id) lets DingTalk, WeCom, Feishu and Slack
-- messages @-mention them; a webhook's language picks the message texts, and
-- `feishu` joins the presets (SQLite cannot change a CHECK: the table is
-- copied aside and made again).
ALTER TABLE users ADD COLUMN chat_mobile TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN chat_user_id TEXT NOT NULL DEFAULT '';
CREATE TABLE project_webhooks_old AS SELECT * FROM project_webhooks;
DROP INDEX project_webhooks_project;
DROP TABLE project_webhooks;
CREATE TABLE project_webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    preset TEXT NOT NULL DEFAULT 'json' CHECK (preset IN ('json', 'dingtalk', 'wecom', 'feishu', 'slack')),
    created_at TIMESTAMP NOT NULL,
    language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh-CN'))
);
INSERT INTO project_webhooks (id, project_id, url, secret, preset, created_at)
    SELECT id, project_id, url, secret, preset, created_at FROM project_webhooks_old;
DROP TABLE project_webhooks_old;
CREATE INDEX project_webhooks_project ON project_webhooks (project_id);
