ALTER TABLE release_schedules DROP COLUMN error_code;
