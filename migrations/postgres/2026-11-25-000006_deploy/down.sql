DROP TABLE release_hosts;
ALTER TABLE tickets DROP COLUMN abort_revert;
ALTER TABLE tickets DROP COLUMN abort_requested;
ALTER TABLE hosts DROP COLUMN running_version;
ALTER TABLE projects DROP COLUMN deploy;
