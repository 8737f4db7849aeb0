-- How long each step of a host's pipeline took (JSON list of {step, millis}),
-- shown in the ticket's host table.
ALTER TABLE release_hosts ADD COLUMN steps TEXT NOT NULL DEFAULT '[]';
