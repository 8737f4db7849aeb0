-- Notifications: per-user opt-outs, project watchers, webhooks, the
-- reminder interval, reminders sent, and used one-click approval tokens.

-- A row turns one kind of notification off (or back on) for one user;
-- no row means on. Kinds: see src/notify/mod.rs (Kind).
CREATE TABLE notification_prefs (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- People told about releases, failures and rollbacks of a project without a role in it.
CREATE TABLE project_watchers (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
);

-- Where a project's transitions are posted (JSON, signed with the secret).
CREATE TABLE project_webhooks (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL DEFAULT '',
    preset TEXT NOT NULL DEFAULT 'json' CHECK (preset IN ('json', 'dingtalk', 'wecom', 'slack')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX project_webhooks_project ON project_webhooks (project_id);

-- How long a ticket may wait for approval before its approvers are reminded
-- (no row: 240 minutes).
CREATE TABLE project_notify_settings (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    reminder_minutes INTEGER NOT NULL CHECK (reminder_minutes > 0)
);

-- Reminders already sent: level 1 to the approvers, level 2 also to the admins,
-- per "approval requested" event.
CREATE TABLE approval_reminders (
    event_id BIGINT NOT NULL REFERENCES ticket_events (id),
    level INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, level)
);

-- One-click approval tokens (their unique id) already used: a link works once.
CREATE TABLE used_approval_tokens (
    jti TEXT PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    used_at TIMESTAMP NOT NULL
);
