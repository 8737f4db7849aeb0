ALTER TABLE release_hosts DROP COLUMN steps;
