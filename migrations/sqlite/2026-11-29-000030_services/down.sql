DROP TABLE service_states;
DROP TABLE service_actions;
ALTER TABLE projects DROP COLUMN service_actions;
ALTER TABLE projects DROP COLUMN services;
