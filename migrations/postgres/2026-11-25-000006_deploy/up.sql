-- Deploy settings per project, per-host results of each release, and abort requests.

-- JSON: mode, strategy, parallelism, batches, keep_releases, ssh options,
-- hooks, health check (see src/deploy/settings.rs). '{}' = defaults.
ALTER TABLE projects ADD COLUMN deploy TEXT NOT NULL DEFAULT '{}';

-- The version each host runs now (NULL: nothing shipped yet).
ALTER TABLE hosts ADD COLUMN running_version BIGINT;

-- A person asked the running release or rollback to stop (and whether to
-- switch already-switched hosts back).
ALTER TABLE tickets ADD COLUMN abort_requested BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN abort_revert BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE release_hosts (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    host_id BIGINT REFERENCES hosts (id) ON DELETE SET NULL,
    host_name TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'uploading', 'switched', 'failed', 'skipped', 'reverted')),
    -- The version the host runs after this ticket's work.
    version BIGINT,
    error TEXT,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, host_name)
);
CREATE INDEX release_hosts_ticket ON release_hosts (ticket_id, id);
