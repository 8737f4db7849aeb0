ALTER TABLE tickets DROP COLUMN outside_paths_confirmed_by;
ALTER TABLE tickets DROP COLUMN outside_paths;
ALTER TABLE projects DROP COLUMN require_outside_paths_confirmation;
