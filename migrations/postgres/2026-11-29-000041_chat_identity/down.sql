-- Feishu webhooks have no preset before this migration: they go.
DELETE FROM project_webhooks WHERE preset = 'feishu';
ALTER TABLE project_webhooks DROP CONSTRAINT project_webhooks_preset_check;
ALTER TABLE project_webhooks ADD CONSTRAINT project_webhooks_preset_check
    CHECK (preset IN ('json', 'dingtalk', 'wecom', 'slack'));
ALTER TABLE project_webhooks DROP COLUMN language;
ALTER TABLE users DROP COLUMN chat_user_id;
ALTER TABLE users DROP COLUMN chat_mobile;
