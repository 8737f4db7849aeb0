DROP TABLE release_schedules;
ALTER TABLE projects DROP COLUMN maintenance_windows;
