-- Placeholder for schema version 7 (delayed jobs), which the delayed-jobs branch adds under this same name: the
-- migrator needs versions without gaps, so this branch's version 8 needs a 7. When merging, take the other branch's
-- file. Does nothing.
SELECT 1;
