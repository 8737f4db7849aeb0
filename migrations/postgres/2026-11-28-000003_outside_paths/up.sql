-- Issue 12: files a release would change outside the ticket's SVN paths.
-- A project may require a tester to confirm them before approval.
ALTER TABLE projects ADD COLUMN require_outside_paths_confirmation BOOLEAN NOT NULL DEFAULT FALSE;
-- The files outside the ticket's paths that its staged snapshot changes on
-- production (JSON list of {status, path, brought_by}), written by staging.
ALTER TABLE tickets ADD COLUMN outside_paths TEXT NOT NULL DEFAULT '[]';
-- Who confirmed them when marking the snapshot tested (cleared by a new snapshot).
ALTER TABLE tickets ADD COLUMN outside_paths_confirmed_by BIGINT NULL;
