-- Issue 14: releases scheduled into maintenance windows.
-- A project's weekly maintenance windows: JSON list of {from, to, label},
-- from/to in minutes since Monday 00:00 in the project's time zone.
ALTER TABLE projects ADD COLUMN maintenance_windows TEXT NOT NULL DEFAULT '[]';
-- A ticket's scheduled release (or rollback execution). The cron entry
-- starts each pending row whose time has come by enqueueing a job.
CREATE TABLE release_schedules (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    run_at TIMESTAMP NOT NULL,
    scheduled_by BIGINT NOT NULL REFERENCES users (id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'started', 'done', 'failed', 'cancelled')),
    error TEXT,
    job_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX release_schedules_ticket ON release_schedules (ticket_id);
CREATE INDEX release_schedules_due ON release_schedules (state, run_at);
