-- Issue 13: an optional per-project verify (drift) cron and when it last ran.
ALTER TABLE projects ADD COLUMN verify_cron TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN verify_cron_at TIMESTAMP;
