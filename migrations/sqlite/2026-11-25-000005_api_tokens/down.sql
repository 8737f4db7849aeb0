DROP INDEX ticket_events_actor;
DROP INDEX tickets_project_state;
DROP TABLE api_tokens;
