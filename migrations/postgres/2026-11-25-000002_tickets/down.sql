DROP TRIGGER ticket_events_no_change ON ticket_events;
DROP FUNCTION ticket_events_append_only();
DROP TABLE approvals;
DROP TABLE ticket_events;
DROP TABLE tickets;
