-- Issue 17: what leadership and compliance read must survive scrutiny.
--   indicator_values.suppression_reason: why a suppressed cell is suppressed (NULL when released):
--     too_few_people | protects_cut | protects_period | protects_shared_count
--     (the words: pipelines/anonymize.py REASONS);
--   audit_log.signer: the id of the release key that signed the export's manifest.
ALTER TABLE indicator_values ADD COLUMN suppression_reason VARCHAR;
ALTER TABLE audit_log ADD COLUMN signer VARCHAR;
