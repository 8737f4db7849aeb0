-- Tickets, their append-only event log, and approvals.

CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL CHECK (kind IN ('release', 'rollback')),
    state TEXT NOT NULL CHECK (state IN ('submitted', 'staged', 'tested', 'approved', 'releasing', 'released', 'returned', 'rejected', 'cancelled', 'failed', 'rolled_back', 'rollback_requested', 'rollback_approved', 'rolling_back')),
    reason TEXT NOT NULL,
    -- JSON array of validated SVN paths; empty: the whole working copy.
    svn_paths TEXT NOT NULL DEFAULT '[]',
    -- SVN revision the ticket pins (NULL: HEAD).
    svn_revision BIGINT,
    staged_revision BIGINT,
    -- git commit of the staged tree (what is tested is what ships).
    snapshot_commit TEXT,
    snapshot_seq BIGINT,
    stage_generation INTEGER NOT NULL DEFAULT 0,
    tested_by BIGINT REFERENCES users (id),
    failed_from TEXT CHECK (failed_from IN ('submitted', 'staged', 'tested', 'approved', 'releasing', 'released', 'returned', 'rejected', 'cancelled', 'failed', 'rolled_back', 'rollback_requested', 'rollback_approved', 'rolling_back')),
    last_error TEXT,
    -- Release version number, handed out when release starts.
    version BIGINT,
    -- For a rollback: the version to go back to.
    target_version BIGINT,
    submitter_id BIGINT NOT NULL REFERENCES users (id),
    -- Optimistic concurrency: bumped by every transition.
    lock_version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tickets_project ON tickets (project_id, id);
CREATE INDEX tickets_state ON tickets (state, id);
CREATE INDEX tickets_submitter ON tickets (submitter_id, id);
CREATE UNIQUE INDEX tickets_project_version ON tickets (project_id, version) WHERE version IS NOT NULL AND kind = 'release';

CREATE TABLE ticket_events (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    -- NULL: Slipway itself (a job).
    actor_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    from_state TEXT CHECK (from_state IN ('submitted', 'staged', 'tested', 'approved', 'releasing', 'released', 'returned', 'rejected', 'cancelled', 'failed', 'rolled_back', 'rollback_requested', 'rollback_approved', 'rolling_back')),
    to_state TEXT NOT NULL CHECK (to_state IN ('submitted', 'staged', 'tested', 'approved', 'releasing', 'released', 'returned', 'rejected', 'cancelled', 'failed', 'rolled_back', 'rollback_requested', 'rollback_approved', 'rolling_back')),
    note TEXT,
    emergency_override BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_created ON ticket_events (created_at, id);

CREATE TABLE approvals (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    generation INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, user_id, generation)
);

-- The event log is append-only.
CREATE FUNCTION ticket_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ticket_events_no_change BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_append_only();
