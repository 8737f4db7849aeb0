ALTER TABLE host_groups DROP COLUMN relay_known_hosts;
ALTER TABLE host_groups DROP COLUMN relay_identity;
ALTER TABLE host_groups DROP COLUMN relay_port;
ALTER TABLE host_groups DROP COLUMN relay;
