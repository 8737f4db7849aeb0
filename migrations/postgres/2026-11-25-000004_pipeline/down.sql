ALTER TABLE projects DROP COLUMN lock_until;
ALTER TABLE projects DROP COLUMN lock_job_id;
ALTER TABLE tickets DROP COLUMN base_revision;
DROP TABLE svn_revisions;
DROP TABLE job_logs;
