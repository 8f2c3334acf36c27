-- Prompt-cache tokens (issue 12, contract revision 5): reads and writes of a model's prompt
-- cache get columns of their own instead of being dropped or folded into input_tokens.
-- NULL where the sender did not report them.
ALTER TABLE spend ADD COLUMN cache_read_tokens BIGINT;
ALTER TABLE spend ADD COLUMN cache_write_tokens BIGINT;
