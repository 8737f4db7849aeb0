-- People, projects, their roles, and the hosts projects ship to.

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    locale TEXT NOT NULL DEFAULT 'en',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    svn_url TEXT NOT NULL,
    -- Name of the credentials entry in Slipway's config (never the secret itself).
    svn_credentials TEXT,
    staging_dir TEXT NOT NULL,
    staging_url TEXT NOT NULL DEFAULT '',
    -- JSON array: the build command's argument vector (empty: no build).
    build_command TEXT NOT NULL DEFAULT '[]',
    -- JSON array of rsync exclude patterns that are never overwritten or deleted on hosts.
    excludes TEXT NOT NULL DEFAULT '[]',
    version_format TEXT NOT NULL DEFAULT 'v{n}',
    approvals_required INTEGER NOT NULL DEFAULT 1 CHECK (approvals_required >= 1),
    allow_self_approval BOOLEAN NOT NULL DEFAULT FALSE,
    tested_by_may_approve BOOLEAN NOT NULL DEFAULT TRUE,
    approval_expiry_minutes INTEGER CHECK (approval_expiry_minutes > 0),
    utc_offset_minutes INTEGER NOT NULL DEFAULT 0,
    -- Last release version number handed out.
    last_version BIGINT,
    -- Counter ordering staged snapshots (later = newer).
    stage_seq BIGINT NOT NULL DEFAULT 0,
    -- What production runs now.
    production_version BIGINT,
    production_snapshot_seq BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('lead', 'developer', 'tester')),
    PRIMARY KEY (project_id, user_id, role)
);
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE host_groups (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE hosts (
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES host_groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- user@host:/path, rsync://host/module, or a local absolute path.
    target TEXT NOT NULL,
    UNIQUE (group_id, name)
);

CREATE TABLE project_host_groups (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES host_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, group_id)
);

CREATE TABLE freeze_windows (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('range', 'weekly')),
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    -- Minutes since Monday 00:00 in project local time.
    weekly_from INTEGER,
    weekly_to INTEGER,
    label TEXT NOT NULL DEFAULT ''
);
CREATE INDEX freeze_windows_project ON freeze_windows (project_id);
