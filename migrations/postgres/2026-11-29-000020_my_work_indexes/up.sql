-- "My work" reads each of a submitter's states newest first (issue 12).
CREATE INDEX tickets_submitter_state ON tickets (submitter_id, state, id);
