-- Personal API tokens (only a SHA-256 of the token is kept) and indexes for
-- the web pages' filtered lists (ticket list by project and state, audit by
-- actor).

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- hex SHA-256 of the token; the token itself is shown once and never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE INDEX tickets_project_state ON tickets (project_id, state, id);
CREATE INDEX ticket_events_actor ON ticket_events (actor_id, id);
