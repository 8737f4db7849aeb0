-- The job queue: claimed with a lease (locked_until), retried with backoff.

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    -- JSON object with the job's arguments.
    payload TEXT NOT NULL DEFAULT '{}',
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    ticket_id BIGINT REFERENCES tickets (id),
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_after TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    locked_by TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (state, run_after, id);
CREATE INDEX jobs_ticket ON jobs (ticket_id);
