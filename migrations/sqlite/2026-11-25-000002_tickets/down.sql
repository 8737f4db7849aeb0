DROP TRIGGER ticket_events_no_delete;
DROP TRIGGER ticket_events_no_update;
DROP TABLE approvals;
DROP TABLE ticket_events;
DROP TABLE tickets;
