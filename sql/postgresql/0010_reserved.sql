-- Scheduler schema version 10: reserved for another branch's migration, merged separately. This placeholder keeps
-- the numbering without gaps on the flow-control branch (0011); drop it when the real 0010 is merged.
SELECT 1;
