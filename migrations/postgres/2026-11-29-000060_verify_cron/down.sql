ALTER TABLE projects DROP COLUMN verify_cron_at;
ALTER TABLE projects DROP COLUMN verify_cron;
