DROP TABLE host_drift;
DROP TABLE host_reads;
DROP TABLE service_states;
DROP TABLE service_actions;
ALTER TABLE projects DROP COLUMN service_actions;
ALTER TABLE projects DROP COLUMN services;
