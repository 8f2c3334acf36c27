-- Git authorship (issue 13): a commit's lines and their class, and whether it reached the
-- default branch. NULL for contributions that predate these fields or are not commits.
-- first_author may now also be 'automation' (CI, dependency and release bots).
ALTER TABLE contributions ADD COLUMN lines_added BIGINT;
ALTER TABLE contributions ADD COLUMN lines_deleted BIGINT;
ALTER TABLE contributions ADD COLUMN line_class VARCHAR;
ALTER TABLE contributions ADD COLUMN on_default_branch BOOLEAN;
