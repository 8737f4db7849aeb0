DROP TABLE used_approval_tokens;
DROP TABLE approval_reminders;
DROP TABLE project_notify_settings;
DROP TABLE project_webhooks;
DROP TABLE project_watchers;
DROP TABLE notification_prefs;
