-- The public change feed names the entry that changed (project and seq) and
-- is read joined to public_timeline, which holds its text once; the full
-- timeline keeps, in the same `entry` column, only what the supervisors'
-- rendering adds to the public one (a delta the store reads back joined to
-- the public row; rows written whole before stay readable as they are).
-- Each copy of an entry cost about 1.8 KB per event on every fold and
-- rebuild.
--
-- A feed row's entry is now the entry as the public timeline holds it when
-- read: a follower sees the newest rendering, and every later change still
-- has its own row after the first.
ALTER TABLE public_changes DROP COLUMN entry;
-- The fold compares a rendering with the public timeline, not the feed.
DROP INDEX public_changes_project;
