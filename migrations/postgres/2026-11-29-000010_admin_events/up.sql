-- Changes admins make outside tickets (host groups, hosts, trusted ssh host
-- keys), shown to admins in the audit log.
CREATE TABLE admin_events (
    id BIGSERIAL PRIMARY KEY,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_events_actor ON admin_events (actor_id);
