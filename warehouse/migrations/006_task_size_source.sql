-- Where a task's size (human_minutes) came from: 'measured', 'estimated' (given by the sender)
-- or 'default' (a configured default filled it in, e.g. [otlp.task_defaults]); NULL for events
-- sent before the field existed. The indicators' measured_share is read from it. A task's
-- executor may now be 'unknown' (a hook given none): kept, and left out of the shares.
ALTER TABLE tasks ADD COLUMN size_source VARCHAR;
