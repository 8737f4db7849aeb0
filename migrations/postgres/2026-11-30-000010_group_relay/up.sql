-- Issue 14: a host group may ship through a relay (an ssh target in its
-- region) that receives the release once and fans it out to the group's
-- hosts; the relay-side ssh settings for reaching those hosts (paths on the relay).
ALTER TABLE host_groups ADD COLUMN relay TEXT;
ALTER TABLE host_groups ADD COLUMN relay_port INTEGER;
ALTER TABLE host_groups ADD COLUMN relay_identity TEXT;
ALTER TABLE host_groups ADD COLUMN relay_known_hosts TEXT;
