-- What the pipelines record: job output line by line, the SVN history the
-- poller and the stage job see, and the per-project job lock.

CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    ticket_id BIGINT REFERENCES tickets (id),
    stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'info')),
    line TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);
CREATE INDEX job_logs_ticket ON job_logs (ticket_id, id);

CREATE TABLE svn_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    committed_at TIMESTAMP,
    message TEXT NOT NULL DEFAULT '',
    -- JSON array of {"action": "M", "path": "/trunk/a.txt"}.
    paths TEXT NOT NULL DEFAULT '[]',
    UNIQUE (project_id, revision)
);

-- The revision staging was at before this ticket's update: the ticket brings
-- the SVN commits in (base_revision, staged_revision].
ALTER TABLE tickets ADD COLUMN base_revision BIGINT;

-- At most one staging or release job per project runs at a time.
ALTER TABLE projects ADD COLUMN lock_job_id BIGINT;
ALTER TABLE projects ADD COLUMN lock_until TIMESTAMP;
