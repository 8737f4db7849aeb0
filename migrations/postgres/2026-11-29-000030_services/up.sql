-- Issue 13: services per host group (JSON list of deploy::ServiceSpec) and
-- who may start, stop and restart them (`leads` or `developers`).
ALTER TABLE projects ADD COLUMN services TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN service_actions TEXT NOT NULL DEFAULT 'leads';
-- The audit record of each service action (start/stop/restart/refresh) and its job.
CREATE TABLE service_actions (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    job_id BIGINT NULL,
    actor_id BIGINT NULL REFERENCES users(id),
    service TEXT NOT NULL,
    action TEXT NOT NULL,
    scope TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX service_actions_project ON service_actions(project_id, id);
-- The last state read of each service on each host (by a refresh or an action job).
CREATE TABLE service_states (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    pid BIGINT NULL,
    uptime TEXT NULL,
    detail TEXT NOT NULL DEFAULT '',
    read_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, host, service)
);
-- What `current` pointed at on each host when last read (what runs where).
CREATE TABLE host_reads (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    version TEXT NULL,
    read_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, host)
);
-- The last drift found on each host (a verify against its recorded release);
-- removed by a clean verify, and no longer shown once the host runs another release.
CREATE TABLE host_drift (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    version TEXT NOT NULL,
    changed INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    added INTEGER NOT NULL,
    paths TEXT NOT NULL DEFAULT '',
    found_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, host)
);
