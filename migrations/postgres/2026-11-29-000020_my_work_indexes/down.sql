DROP INDEX tickets_submitter_state;
