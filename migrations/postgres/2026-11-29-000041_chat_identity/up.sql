-- Issue 14: chat that reaches the approver. A user's chat identity (mobile
-- number and/or chat user id) lets DingTalk, WeCom, Feishu and Slack
-- messages @-mention them; a webhook's language picks the message texts, and
-- `feishu` joins the presets.
ALTER TABLE users ADD COLUMN chat_mobile TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN chat_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE project_webhooks ADD COLUMN language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'zh-CN'));
ALTER TABLE project_webhooks DROP CONSTRAINT project_webhooks_preset_check;
ALTER TABLE project_webhooks ADD CONSTRAINT project_webhooks_preset_check
    CHECK (preset IN ('json', 'dingtalk', 'wecom', 'feishu', 'slack'));
